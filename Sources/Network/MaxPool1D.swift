/// Max pooling over time, window 2, stride 2, floor mode, on `(B, T, C)` sequences.
///
/// The output layout has `T' = max(1, T / 2)` and lengths `max(1, len / 2)`; each output takes the
/// maximum over the valid inputs of its window (a length-1 sequence keeps its single frame).
/// Outputs at padded positions are zero.
public final class MaxPool1D {
    /// Channels C.
    public let channels: Int
    /// Output `(B, T', C)`.
    public let output = FloatBuffer()
    /// Gradient with respect to the input `(B, T, C)` (after `backward`).
    public let inputGrad = FloatBuffer()
    /// Layout of the output.
    public private(set) var outputLayout = SequenceLayout(time: 1, lengths: [1])

    private var layout = SequenceLayout(time: 1, lengths: [1])
    /// Cache: for each valid output element, the flat input index of its maximum `(B, T', C)`.
    private let argmax = Buffer<Int32>()

    /// A pooling layer over `channels` channels.
    public init(channels: Int) { self.channels = channels }

    /// The layout after pooling.
    public static func pooledLayout(_ l: SequenceLayout) -> SequenceLayout {
        SequenceLayout(time: max(1, l.time / 2), lengths: l.lengths.map { max(1, $0 / 2) })
    }

    /// `x (B, T, C)` -> `output (B, T', C)`.
    public func forward(_ x: UnsafePointer<Float>, layout: SequenceLayout, training: Bool = true) {
        self.layout = layout
        let out = Self.pooledLayout(layout)
        outputLayout = out
        let (B, T, C, T2) = (layout.batch, layout.time, channels, out.time)
        output.resize(B * T2 * C)
        if training { argmax.resize(B * T2 * C, zeroValue: -1) }
        let y = output.pointer, am = argmax.pointer
        for b in 0..<B {
            let len = layout.lengths[b]
            for t in 0..<out.lengths[b] {
                let i0 = (b * T + 2 * t) * C
                let dst = (b * T2 + t) * C
                if 2 * t + 1 < len {
                    for c in 0..<C {
                        let a = x[i0 + c], v = x[i0 + C + c]
                        // First maximum wins on ties, like PyTorch.
                        if v > a { y[dst + c] = v; if training { am[dst + c] = Int32(i0 + C + c) } }
                        else { y[dst + c] = a; if training { am[dst + c] = Int32(i0 + c) } }
                    }
                } else {
                    for c in 0..<C { y[dst + c] = x[i0 + c]; if training { am[dst + c] = Int32(i0 + c) } }
                }
            }
        }
        zeroPadding(output.pointer, out, channels: C)
    }

    /// `dout (B, T', C)` -> `inputGrad (B, T, C)`: each gradient goes to its window's maximum.
    public func backward(_ dout: UnsafePointer<Float>) {
        inputGrad.resizeZeroed(layout.batch * layout.time * channels)
        let dx = inputGrad.pointer, am = argmax.pointer
        for i in 0..<argmax.count where am[i] >= 0 { dx[Int(am[i])] += dout[i] }
    }
}
