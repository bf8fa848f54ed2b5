import SERCore

/// 1-D convolution over time with "same" padding (the paper's eq. 2, kernel 3), batched over
/// variable-length sequences.
///
/// Positions outside `0..<lengths[b]` read as zero, so padding never leaks into valid outputs, and
/// outputs at padded positions are exactly zero. The product is one `BLAS.gemm` over the valid
/// rows of an im2col matrix.
///
/// Parameters (PyTorch `nn.Conv1d` layout): `weight (C_out, C_in, K)`, `bias (C_out)`.
/// Initialisation as PyTorch: both U(-1/sqrt(C_in*K), 1/sqrt(C_in*K)).
public final class Conv1D {
    /// Kernel `(C_out, C_in, K)`.
    public let weight: Parameter
    /// Bias `(C_out)`.
    public let bias: Parameter
    /// Input channels C_in.
    public let inChannels: Int
    /// Output channels C_out.
    public let outChannels: Int
    /// Kernel size K (odd).
    public let kernel: Int
    /// When false, `backward` skips the input gradient (for a first layer fed with data).
    public var computesInputGrad: Bool

    /// Output `(B, T, C_out)`, zero at padded positions.
    public let output = FloatBuffer()
    /// Gradient of the loss with respect to the input, `(B, T, C_in)` (after `backward`).
    public let inputGrad = FloatBuffer()

    // Forward state.
    private var layout = SequenceLayout(time: 1, lengths: [1])
    /// First packed row of each sequence `(B)`: the valid rows of sequence b are
    /// `rowStart[b] ..< rowStart[b] + lengths[b]` of ``packed``.
    private(set) var rowStart: [Int] = []
    /// im2col of the valid rows `(N, K * C_in)`, N = sum(lengths), column `k * C_in + c` holding
    /// `x[b, t + k - K/2, c]` (zero outside the valid range). Cached for backward.
    private let cols = FloatBuffer()
    /// Weight permuted to `(C_out, K, C_in)` to match the im2col column order.
    private let wPerm = FloatBuffer()
    /// `weight.version` that ``wPerm`` was made from by an inference forward; nil after a training
    /// forward, which always permutes (the optimiser changes the weights every step, and gradient
    /// checks write the weights directly).
    private var wPermVersion: UInt64?
    /// Packed output (without bias) / output-gradient rows `(N, C_out)`; read and written by a fused
    /// layer on top (``ConvReLUPool``) between ``forwardPacked(_:layout:training:)`` and ``backwardPacked()``.
    let packed = FloatBuffer()
    /// Gradients of the im2col matrix `(N, K * C_in)` and of the permuted weight `(C_out, K, C_in)`.
    private let dCols = FloatBuffer(), dWPerm = FloatBuffer()

    /// A layer with PyTorch's default initialisation drawn from `rng`; `name` prefixes the parameter names.
    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int = 3,
                computesInputGrad: Bool = true, rng: inout SeededRandom) {
        precondition(kernel % 2 == 1, "Conv1D: kernel \(kernel) must be odd for same padding")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.computesInputGrad = computesInputGrad
        weight = Parameter(name: "\(name).weight", shape: [outChannels, inChannels, kernel])
        bias = Parameter(name: "\(name).bias", shape: [outChannels])
        let bound = 1 / Float(inChannels * kernel).squareRoot()
        weight.initUniform(bound: bound, rng: &rng)
        bias.initUniform(bound: bound, rng: &rng)
    }

    /// Parameters in `state_dict` order.
    public var parameters: [Parameter] { [weight, bias] }

    /// `x (B, T, C_in)` -> `output (B, T, C_out)`.
    public func forward(_ x: UnsafePointer<Float>, layout: SequenceLayout, training: Bool = true) {
        forwardPacked(x, layout: layout, training: training)
        let (B, T, O) = (layout.batch, layout.time, outChannels)
        // Scatter into (B, T, C_out) with bias; zeros at padding.
        output.resize(B * T * O)
        let y = output.pointer, pk = packed.pointer, bv = bias.value
        for b in 0..<B {
            let len = layout.lengths[b]
            for t in 0..<len {
                let dst = y + (b * T + t) * O, src = pk + (rowStart[b] + t) * O
                for o in 0..<O { dst[o] = src[o] + bv[o] }
            }
        }
        zeroPadding(output.pointer, layout, channels: O)
    }

    /// `dout (B, T, C_out)` -> accumulates `weight.grad`, `bias.grad`; writes `inputGrad (B, T, C_in)`.
    /// Gradients at padded positions of `dout` are ignored (those outputs are constant zero).
    public func backward(_ dout: UnsafePointer<Float>) {
        let (B, T, O) = (layout.batch, layout.time, outChannels)
        // Pack dout's valid rows: dPacked (N, C_out); bias grad = column sums.
        packed.resize(layout.validRows * O)
        let pk = packed.pointer, bg = bias.grad
        for b in 0..<B {
            for t in 0..<layout.lengths[b] {
                let src = dout + (b * T + t) * O, dst = pk + (rowStart[b] + t) * O
                for o in 0..<O { dst[o] = src[o]; bg[o] += src[o] }
            }
        }
        backwardPacked()
    }

    /// The convolution without bias over the valid rows: `x (B, T, C_in)` -> ``packed`` `(N, C_out)`,
    /// sequence b's row t at `rowStart[b] + t`. Keeps the im2col matrix for ``backwardPacked()``.
    func forwardPacked(_ x: UnsafePointer<Float>, layout: SequenceLayout, training: Bool) {
        self.layout = layout
        let (B, T, C, K, O) = (layout.batch, layout.time, inChannels, kernel, outChannels)
        let half = K / 2, width = K * C
        rowStart = [Int](repeating: 0, count: B)
        var n = 0
        for b in 0..<B { rowStart[b] = n; n += layout.lengths[b] }
        permuteWeight(training: training)
        // im2col over valid rows.
        cols.resize(n * width)
        let cp = cols.pointer
        for b in 0..<B {
            let len = layout.lengths[b]
            for t in 0..<len {
                let row = cp + (rowStart[b] + t) * width
                for k in 0..<K {
                    let src = t + k - half
                    if src >= 0 && src < len {
                        (row + k * C).update(from: x + (b * T + src) * C, count: C)
                    } else {
                        (row + k * C).update(repeating: 0, count: C)
                    }
                }
            }
        }
        // packed (N, C_out) = cols (N, K*C_in) @ wPerm^T (K*C_in, C_out)
        packed.resize(n * O)
        BLAS.gemm(transB: true, m: n, n: O, k: width, a: cols.pointer, lda: width,
                  b: wPerm.pointer, ldb: width, c: packed.pointer, ldc: O)
    }

    /// Weight (C_out, C_in, K) -> ``wPerm`` (C_out, K, C_in). Inference skips it while
    /// `weight.version` is unchanged since the last inference permutation: reading and writing the
    /// 2 MB of weights took about 15 % of a one-clip prediction.
    private func permuteWeight(training: Bool) {
        let (C, K, O) = (inChannels, kernel, outChannels)
        let count = O * K * C, w = weight.value
        if !training, let v = wPermVersion, v == weight.version, wPerm.count == count { return }
        wPerm.resize(count)
        let wp = wPerm.pointer
        if K == 3 {
            // The paper's kernel: one pass reading each weight row contiguously (the compiler
            // vectorises this stride-3 de-interleave; the general loop below it does not).
            for o in 0..<O {
                let src = w + o * 3 * C, d0 = wp + o * 3 * C, d1 = d0 + C, d2 = d1 + C
                for c in 0..<C { d0[c] = src[3 * c]; d1[c] = src[3 * c + 1]; d2[c] = src[3 * c + 2] }
            }
        } else {
            for o in 0..<O {
                let src = w + o * K * C, dst = wp + o * K * C
                for k in 0..<K { let d = dst + k * C; for c in 0..<C { d[c] = src[c * K + k] } }
            }
        }
        wPermVersion = training ? nil : weight.version
    }

    /// From the output gradient in ``packed`` `(N, C_out)` (valid rows, as ``forwardPacked(_:layout:training:)``
    /// laid them out): accumulates `weight.grad` and writes `inputGrad (B, T, C_in)` (when
    /// ``computesInputGrad``). The bias gradient (column sums) is the caller's.
    func backwardPacked() {
        let (B, T, C, K, O) = (layout.batch, layout.time, inChannels, kernel, outChannels)
        let half = K / 2, width = K * C
        let n = layout.validRows
        // dWPerm (C_out, K*C_in) = dPacked^T (C_out, N) @ cols (N, K*C_in)
        dWPerm.resize(O * width)
        BLAS.gemm(transA: true, m: O, n: width, k: n, a: packed.pointer, lda: O,
                  b: cols.pointer, ldb: width, c: dWPerm.pointer, ldc: width)
        let wg = weight.grad, dwp = dWPerm.pointer
        for o in 0..<O {
            let dst = wg + o * width, src = dwp + o * width
            for k in 0..<K { let g = src + k * C; for c in 0..<C { dst[c * K + k] += g[c] } }
        }
        guard computesInputGrad else { return }
        // dCols (N, K*C_in) = dPacked (N, C_out) @ wPerm (C_out, K*C_in)
        dCols.resize(n * width)
        BLAS.gemm(m: n, n: width, k: O, a: packed.pointer, lda: O,
                  b: wPerm.pointer, ldb: width, c: dCols.pointer, ldc: width)
        // col2im as a gather: dx[b, u] = sum over k of dCols[row of t = u + half - k, k], summed in
        // increasing t (the order of a scatter over t) and written once, without zeroing dx first.
        inputGrad.resize(B * T * C)
        let dx = inputGrad.pointer, dc = dCols.pointer
        for b in 0..<B {
            let len = layout.lengths[b]
            for u in 0..<len {
                let dst = dx + (b * T + u) * C
                var first = true
                for k in stride(from: K - 1, through: 0, by: -1) {
                    let t = u + half - k
                    guard t >= 0 && t < len else { continue }
                    let g = dc + (rowStart[b] + t) * width + k * C
                    if first { dst.update(from: g, count: C); first = false } else { for c in 0..<C { dst[c] += g[c] } }
                }
                if first { dst.update(repeating: 0, count: C) }
            }
        }
        zeroPadding(dx, layout, channels: C)
    }
}
