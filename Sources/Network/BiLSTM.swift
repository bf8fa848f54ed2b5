import SERCore

/// Bidirectional single-layer LSTM over variable-length `(B, T, C)` sequences (the paper's CFE, eq. 3).
///
/// Matches PyTorch `nn.LSTM(C, H, bidirectional=True, batch_first=True)` run on a packed sequence:
/// gate order i, f, g, o; `c_t = f * c_{t-1} + i * g`, `h_t = o * tanh(c_t)`; the forward direction
/// runs `t = 0 ..< len`, the reverse direction starts at each sequence's own last valid step
/// `len - 1` and runs down to 0. Output `(B, T, 2H)` = `[h_forward, h_reverse]`, zero at padding.
///
/// Parameters (PyTorch names, direction suffix `""` or `"_reverse"`):
/// `weight_ih_l0 (4H, C)`, `weight_hh_l0 (4H, H)`, `bias_ih_l0 (4H)`, `bias_hh_l0 (4H)`;
/// all initialised U(-1/sqrt(H), 1/sqrt(H)) as PyTorch does.
///
/// The input projections of all timesteps are one `gemm` per direction; the recurrence is one
/// `(B, H) x (H, 4H)` gemm per step.
public final class BiLSTM {
    /// Input channels C.
    public let inputSize: Int
    /// Hidden units per direction H.
    public let hiddenSize: Int
    /// `weight_ih_l0[_reverse]`, `(4H, C)`, indexed by direction (0 forward, 1 reverse).
    public let weightIH: [Parameter]
    /// `weight_hh_l0[_reverse]`, `(4H, H)`.
    public let weightHH: [Parameter]
    /// `bias_ih_l0[_reverse]`, `(4H)`.
    public let biasIH: [Parameter]
    /// `bias_hh_l0[_reverse]`, `(4H)`.
    public let biasHH: [Parameter]

    /// Output `(B, T, 2H)`.
    public let output = FloatBuffer()
    /// Gradient with respect to the input `(B, T, C)` (after `backward`).
    public let inputGrad = FloatBuffer()

    private var layout = SequenceLayout(time: 1, lengths: [1])
    /// Cache: the input `(B, T, C)` (for the weight gradients).
    private let x = FloatBuffer()
    /// Cache per direction: gate activations i, f, g, o after their nonlinearities `(B, T, 4H)`
    /// (in inference: per-call scratch for the input projections).
    private let gates = [FloatBuffer(), FloatBuffer()]
    /// Cache per direction: `h` and `c` entering step t `(B, T, H)` (zero at padding).
    private let prevH = [FloatBuffer(), FloatBuffer()], prevC = [FloatBuffer(), FloatBuffer()]
    /// Cache per direction: `tanh(c_t)` `(B, T, H)`.
    private let tanhC = [FloatBuffer(), FloatBuffer()]
    /// Scratch: recurrent projection `(B, 4H)`, states `(B, H)`.
    private let rec = FloatBuffer(), hState = FloatBuffer(), cState = FloatBuffer()
    /// Backward scratch: pre-activation gate gradients `(B, T, 4H)`, one step's `(B, 4H)`, state grads `(B, H)`.
    private let dGates = FloatBuffer(), dStep = FloatBuffer(), dH = FloatBuffer(), dC = FloatBuffer()

    /// A layer with PyTorch's default initialisation drawn from `rng`; `name` prefixes the parameter names.
    public init(name: String, inputSize: Int, hiddenSize: Int, rng: inout SeededRandom) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let H = hiddenSize
        var wih: [Parameter] = [], whh: [Parameter] = [], bih: [Parameter] = [], bhh: [Parameter] = []
        for suffix in ["", "_reverse"] {
            wih.append(Parameter(name: "\(name).weight_ih_l0\(suffix)", shape: [4 * H, inputSize]))
            whh.append(Parameter(name: "\(name).weight_hh_l0\(suffix)", shape: [4 * H, H]))
            bih.append(Parameter(name: "\(name).bias_ih_l0\(suffix)", shape: [4 * H]))
            bhh.append(Parameter(name: "\(name).bias_hh_l0\(suffix)", shape: [4 * H]))
        }
        weightIH = wih; weightHH = whh; biasIH = bih; biasHH = bhh
        let bound = 1 / Float(H).squareRoot()
        for p in parameters { p.initUniform(bound: bound, rng: &rng) }
    }

    /// Parameters in `state_dict` order.
    public var parameters: [Parameter] {
        [0, 1].flatMap { [weightIH[$0], weightHH[$0], biasIH[$0], biasHH[$0]] }
    }

    /// Time index processed at step `s` by direction `d` for a sequence of length `len`.
    @inline(__always) private func timeIndex(_ s: Int, _ d: Int, _ len: Int) -> Int { d == 0 ? s : len - 1 - s }

    /// `x (B, T, C)` -> `output (B, T, 2H)`.
    public func forward(_ input: UnsafePointer<Float>, layout: SequenceLayout, training: Bool = true) {
        self.layout = layout
        let (B, T, C, H) = (layout.batch, layout.time, inputSize, hiddenSize)
        let G = 4 * H
        if training { x.resize(B * T * C); x.pointer.update(from: input, count: B * T * C) }
        output.resizeZeroed(B * T * 2 * H)
        rec.resize(B * G); hState.resize(B * H); cState.resize(B * H)
        for d in 0..<2 {
            let g = gates[d]
            g.resize(B * T * G)
            // gates (B*T, 4H) = x (B*T, C) @ W_ih^T (C, 4H); biases added per valid row below.
            BLAS.gemm(transB: true, m: B * T, n: G, k: C, a: input, lda: C,
                      b: weightIH[d].value, ldb: C, c: g.pointer, ldc: G)
            if training {
                prevH[d].resizeZeroed(B * T * H); prevC[d].resizeZeroed(B * T * H); tanhC[d].resizeZeroed(B * T * H)
            }
            hState.resizeZeroed(B * H); cState.resizeZeroed(B * H)
            let bi = biasIH[d].value, bh = biasHH[d].value
            let tcache = tanhC[d].pointer
            for s in 0..<layout.maxLength {
                // rec (B, 4H) = hState (B, H) @ W_hh^T (H, 4H); one sequence (inference on a
                // clip): rec (4H) = W_hh (4H, H) @ h (H), without gemm's packing of W_hh every step.
                if B == 1 {
                    BLAS.gemv(rows: G, columns: H, a: weightHH[d].value, lda: H, x: hState.pointer, y: rec.pointer)
                } else {
                    BLAS.gemm(transB: true, m: B, n: G, k: H, a: hState.pointer, lda: H,
                              b: weightHH[d].value, ldb: H, c: rec.pointer, ldc: G)
                }
                for b in 0..<B where s < layout.lengths[b] {
                    let t = timeIndex(s, d, layout.lengths[b])
                    let row = (b * T + t)
                    let a = g.pointer + row * G, r = rec.pointer + b * G
                    let h = hState.pointer + b * H, c = cState.pointer + b * H
                    if training {
                        (prevH[d].pointer + row * H).update(from: h, count: H)
                        (prevC[d].pointer + row * H).update(from: c, count: H)
                    }
                    let out = output.pointer + row * 2 * H + d * H
                    let tc = training ? tcache + row * H : nil
                    // Units j0 ..< j0 + 8 at once; a last partial group goes through lanes padded with 0.
                    for j0 in stride(from: 0, to: H, by: 8) {
                        let w = min(8, H - j0)
                        func ld(_ p: UnsafePointer<Float>, _ k: Int) -> SIMD8<Float> {
                            if w == 8 { return VectorMath.load(p, k) }
                            var v = SIMD8<Float>(repeating: 0)
                            for l in 0..<w { v[l] = p[k + l] }
                            return v
                        }
                        func st(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ k: Int) {
                            if w == 8 { VectorMath.store(v, p, k); return }
                            for l in 0..<w { p[k + l] = v[l] }
                        }
                        func pre(_ k: Int) -> SIMD8<Float> { ld(a, k) + ld(r, k) + ld(bi, k) + ld(bh, k) }
                        let i = VectorMath.sigmoid(pre(j0))
                        let f = VectorMath.sigmoid(pre(H + j0))
                        let gg = VectorMath.tanh(pre(2 * H + j0))
                        let o = VectorMath.sigmoid(pre(3 * H + j0))
                        let cn = f * ld(c, j0) + i * gg
                        let tcn = VectorMath.tanh(cn)
                        let hn = o * tcn
                        st(i, a, j0); st(f, a, H + j0); st(gg, a, 2 * H + j0); st(o, a, 3 * H + j0)
                        st(cn, c, j0); st(hn, h, j0); st(hn, out, j0)
                        if let tc { st(tcn, tc, j0) }
                    }
                }
            }
        }
    }

    /// `dout (B, T, 2H)` -> accumulates all parameter gradients; writes `inputGrad (B, T, C)`.
    public func backward(_ dout: UnsafePointer<Float>) {
        let (B, T, C, H) = (layout.batch, layout.time, inputSize, hiddenSize)
        let G = 4 * H
        inputGrad.resize(B * T * C)
        for d in 0..<2 {
            let g = gates[d].pointer, pc = prevC[d].pointer, tch = tanhC[d].pointer
            dGates.resizeZeroed(B * T * G)
            dH.resizeZeroed(B * H); dC.resizeZeroed(B * H); dStep.resize(B * G)
            for s in stride(from: layout.maxLength - 1, through: 0, by: -1) {
                dStep.pointer.update(repeating: 0, count: B * G)
                for b in 0..<B where s < layout.lengths[b] {
                    let t = timeIndex(s, d, layout.lengths[b])
                    let row = b * T + t
                    let a = g + row * G, ds = dStep.pointer + b * G
                    let dh = dH.pointer + b * H, dc = dC.pointer + b * H
                    let dy = dout + row * 2 * H + d * H
                    for j in 0..<H {
                        let i = a[j], f = a[H + j], gg = a[2 * H + j], o = a[3 * H + j]
                        let tc = tch[row * H + j]
                        let dhj = dy[j] + dh[j]
                        let dcj = dc[j] + dhj * o * (1 - tc * tc)
                        ds[j] = dcj * gg * i * (1 - i)
                        ds[H + j] = dcj * pc[row * H + j] * f * (1 - f)
                        ds[2 * H + j] = dcj * i * (1 - gg * gg)
                        ds[3 * H + j] = dhj * tc * o * (1 - o)
                        dc[j] = dcj * f
                    }
                    (dGates.pointer + row * G).update(from: ds, count: G)
                }
                // dH (B, H) = dStep (B, 4H) @ W_hh (4H, H); inactive rows of dStep are zero.
                BLAS.gemm(m: B, n: H, k: G, a: dStep.pointer, lda: G,
                          b: weightHH[d].value, ldb: H, c: dH.pointer, ldc: H)
            }
            // dW_hh (4H, H) += dGates^T (4H, B*T) @ prevH (B*T, H)
            BLAS.gemm(transA: true, m: G, n: H, k: B * T, a: dGates.pointer, lda: G,
                      b: prevH[d].pointer, ldb: H, beta: 1, c: weightHH[d].grad, ldc: H)
            // dW_ih (4H, C) += dGates^T (4H, B*T) @ x (B*T, C)
            BLAS.gemm(transA: true, m: G, n: C, k: B * T, a: dGates.pointer, lda: G,
                      b: x.pointer, ldb: C, beta: 1, c: weightIH[d].grad, ldc: C)
            // d(bias_ih) = d(bias_hh) = column sums of dGates.
            let colSum = dStep.pointer
            colSum.update(repeating: 0, count: G)
            for r in 0..<(B * T) {
                let dg = dGates.pointer + r * G
                for j in 0..<G { colSum[j] += dg[j] }
            }
            let gi = biasIH[d].grad, gh = biasHH[d].grad
            for j in 0..<G { gi[j] += colSum[j]; gh[j] += colSum[j] }
            // dx (B*T, C) (+)= dGates (B*T, 4H) @ W_ih (4H, C)
            BLAS.gemm(m: B * T, n: C, k: G, a: dGates.pointer, lda: G,
                      b: weightIH[d].value, ldb: C, beta: d == 0 ? 0 : 1, c: inputGrad.pointer, ldc: C)
        }
    }
}
