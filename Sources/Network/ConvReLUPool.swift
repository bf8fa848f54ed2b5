/// One LFE block, `Conv1D -> ReLU -> MaxPool1D` (window 2, stride 2), in two passes over memory
/// instead of eight.
///
/// The function and every rounding are those of the three layers in a row (tested for exact
/// equality): the bias is added, the ReLU taken and the window's maximum chosen (first one on
/// ties) straight from the convolution's packed product rows, and backward writes the packed
/// output gradient directly, without the `(B, T, C_out)` convolution output, the ReLU output, the
/// pooling's argmax indices and the three full-size input-gradient buffers between them.
///
/// Parameters: those of ``conv``.
public final class ConvReLUPool {
    /// The convolution (its parameters, names and initialisation).
    public let conv: Conv1D
    /// Output `(B, T', C_out)`, `T' = max(1, T / 2)`, zero at padded positions.
    public let output = FloatBuffer()
    /// Gradient with respect to the input `(B, T, C_in)` (after `backward`; ``conv``'s buffer).
    public var inputGrad: FloatBuffer { conv.inputGrad }
    /// Layout of the output (``MaxPool1D/pooledLayout(_:)`` of the input's).
    public private(set) var outputLayout = SequenceLayout(time: 1, lengths: [1])

    private var layout = SequenceLayout(time: 1, lengths: [1])
    /// Cache: where each valid output element's gradient goes `(B, T', C_out)`: 0 nowhere (the
    /// maximum is not positive, so the ReLU blocks it), 1 the window's first frame, 2 its second.
    private let route = Buffer<UInt8>()

    /// A block around `conv`.
    public init(conv: Conv1D) { self.conv = conv }

    /// `x (B, T, C_in)` -> `output (B, T', C_out)`.
    public func forward(_ x: UnsafePointer<Float>, layout: SequenceLayout, training: Bool = true) {
        self.layout = layout
        conv.forwardPacked(x, layout: layout, training: training)
        let out = MaxPool1D.pooledLayout(layout)
        outputLayout = out
        let (B, T2, O) = (layout.batch, out.time, conv.outChannels)
        output.resize(B * T2 * O)
        if training { route.resize(B * T2 * O) }
        let y = output.pointer, rt = route.pointer, bv = conv.bias.value, pk = conv.packed.pointer
        for b in 0..<B {
            let len = layout.lengths[b]
            for t in 0..<out.lengths[b] {
                let dst = (b * T2 + t) * O
                let p0 = pk + (conv.rowStart[b] + 2 * t) * O
                if 2 * t + 1 < len {
                    let p1 = p0 + O
                    for o in 0..<O {
                        // ReLU as max(x, 0) (`0 >= x ? 0 : x`), then the first maximum of the window.
                        let x0 = p0[o] + bv[o], x1 = p1[o] + bv[o]
                        let a = 0 >= x0 ? 0 : x0, v = 0 >= x1 ? 0 : x1
                        let second = v > a
                        let m = second ? v : a
                        y[dst + o] = m
                        if training { rt[dst + o] = m > 0 ? (second ? 2 : 1) : 0 }
                    }
                } else {
                    // A length-1 sequence keeps its single frame.
                    for o in 0..<O {
                        let x0 = p0[o] + bv[o]
                        let m = 0 >= x0 ? 0 : x0
                        y[dst + o] = m
                        if training { rt[dst + o] = m > 0 ? 1 : 0 }
                    }
                }
            }
        }
        zeroPadding(output.pointer, out, channels: O)
    }

    /// `dout (B, T', C_out)` -> accumulates the convolution's gradients; writes `inputGrad (B, T, C_in)`.
    /// Gradients at padded positions of `dout` are ignored.
    public func backward(_ dout: UnsafePointer<Float>) {
        let (B, T2, O) = (layout.batch, outputLayout.time, conv.outChannels)
        // dPacked (N, C_out): each output gradient to its route's frame, zero elsewhere; the bias
        // gradient sums the rows in order (as Conv1D.backward does).
        conv.packed.resize(layout.validRows * O)
        let pk = conv.packed.pointer, rt = route.pointer, bg = conv.bias.grad
        for b in 0..<B {
            let len = layout.lengths[b], olen = outputLayout.lengths[b]
            for t in 0..<olen {
                let src = (b * T2 + t) * O
                let d0 = pk + (conv.rowStart[b] + 2 * t) * O
                if 2 * t + 1 < len {
                    let d1 = d0 + O
                    for o in 0..<O {
                        let g = dout[src + o], r = rt[src + o]
                        let g0: Float = r == 1 ? g : 0, g1: Float = r == 2 ? g : 0
                        d0[o] = g0; d1[o] = g1
                        bg[o] += g0; bg[o] += g1
                    }
                } else {
                    for o in 0..<O {
                        let g0: Float = rt[src + o] == 1 ? dout[src + o] : 0
                        d0[o] = g0; bg[o] += g0
                    }
                }
            }
            // An odd length's last frame is in no window.
            if len > 1 && len % 2 == 1 {
                (pk + (conv.rowStart[b] + len - 1) * O).update(repeating: 0, count: O)
            }
        }
        conv.backwardPacked()
    }
}
