/// Mean over the valid positions of each sequence: `(B, T, C)` -> `(B, C)`.
///
/// Used in place of the attention block when GFE is ablated.
public final class SequenceMean {
    /// Channels C.
    public let channels: Int
    /// Output `(B, C)`.
    public let output = FloatBuffer()
    /// Gradient with respect to the input `(B, T, C)` (after `backward`).
    public let inputGrad = FloatBuffer()
    private var layout = SequenceLayout(time: 1, lengths: [1])

    /// A pooling over `channels` channels.
    public init(channels: Int) { self.channels = channels }

    /// `x (B, T, C)` -> `output (B, C)`.
    public func forward(_ x: UnsafePointer<Float>, layout: SequenceLayout) {
        self.layout = layout
        let (B, T, C) = (layout.batch, layout.time, channels)
        output.resizeZeroed(B * C)
        for b in 0..<B {
            let L = layout.lengths[b], inv = 1 / Float(L)
            let o = output.pointer + b * C
            for t in 0..<L { let r = x + (b * T + t) * C; for c in 0..<C { o[c] += r[c] } }
            for c in 0..<C { o[c] *= inv }
        }
    }

    /// `dout (B, C)` -> `inputGrad (B, T, C)`: `dout / len` at valid positions, zero at padding.
    public func backward(_ dout: UnsafePointer<Float>) {
        let (B, T, C) = (layout.batch, layout.time, channels)
        inputGrad.resizeZeroed(B * T * C)
        for b in 0..<B {
            let L = layout.lengths[b], inv = 1 / Float(L)
            for t in 0..<L { let r = inputGrad.pointer + (b * T + t) * C; for c in 0..<C { r[c] = dout[b * C + c] * inv } }
        }
    }
}
