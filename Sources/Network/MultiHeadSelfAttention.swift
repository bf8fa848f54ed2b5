import SERCore

/// Multi-head scaled dot-product self-attention with a key padding mask, its outputs summed over
/// the valid positions: the paper's GFE (eqs. 4-6), `x_G[b] = sum_{i < len} MHA(x)[b, i]`.
///
/// Matches PyTorch `nn.MultiheadAttention(E, heads, batch_first=True)` called as
/// `mha(x, x, x, key_padding_mask=pad)`, followed by a sum over the valid query positions.
/// Parameters: `in_proj_weight (3E, E)` (rows: query, key, value), `in_proj_bias (3E)`,
/// `out_proj.weight (E, E)`, `out_proj.bias (E)`; initialised as PyTorch (xavier-uniform input
/// projection, U(+-1/sqrt(E)) output projection, zero biases).
///
/// Because the sum over queries is linear it is taken before the output projection, and
/// `sum_i P[i, :] V` replaces `sum_i (P V)[i, :]`: the same function, without forming the
/// per-position outputs. Output `(B, E)`.
public final class MultiHeadSelfAttention {
    /// Embedding size E (divisible by `heads`).
    public let embedDim: Int
    /// Number of heads h; each head has `E / h` dimensions.
    public let heads: Int
    /// `in_proj_weight (3E, E)`.
    public let inProjWeight: Parameter
    /// `in_proj_bias (3E)`.
    public let inProjBias: Parameter
    /// `out_proj.weight (E, E)`.
    public let outProjWeight: Parameter
    /// `out_proj.bias (E)`.
    public let outProjBias: Parameter

    /// Output `(B, E)`: attention outputs summed over valid positions.
    public let output = FloatBuffer()
    /// Gradient with respect to the input `(B, T, E)` (after `backward`).
    public let inputGrad = FloatBuffer()

    private var layout = SequenceLayout(time: 1, lengths: [1])
    /// Cache: the input `(B, T, E)`.
    private let x = FloatBuffer()
    /// Cache: projected queries, keys, values `(B, T, 3E)`.
    private let qkv = FloatBuffer()
    /// Cache: attention probabilities `(B, h, T, T)` (rows and columns `< len` used).
    private let probs = FloatBuffer()
    /// Cache: column sums of the probabilities `sum_i P[i, j]`, `(B, h, T)`.
    private let colSums = FloatBuffer()
    /// Cache: per-head attention outputs summed over valid queries, before `out_proj` `(B, E)`.
    private let summed = FloatBuffer()
    /// Backward scratch: `d(summed) (B, E)`, `d(qkv) (B, T, 3E)`, `dS (T, T)`, `d colSums (T)`.
    private let dSummed = FloatBuffer(), dQKV = FloatBuffer(), dScores = FloatBuffer(), dCol = FloatBuffer()

    /// A layer with PyTorch's default initialisation drawn from `rng`; `name` prefixes the parameter names.
    public init(name: String, embedDim: Int, heads: Int, rng: inout SeededRandom) {
        precondition(heads > 0 && embedDim % heads == 0, "MultiHeadSelfAttention: \(embedDim) not divisible by \(heads) heads")
        self.embedDim = embedDim
        self.heads = heads
        inProjWeight = Parameter(name: "\(name).in_proj_weight", shape: [3 * embedDim, embedDim])
        inProjBias = Parameter(name: "\(name).in_proj_bias", shape: [3 * embedDim])
        outProjWeight = Parameter(name: "\(name).out_proj.weight", shape: [embedDim, embedDim])
        outProjBias = Parameter(name: "\(name).out_proj.bias", shape: [embedDim])
        inProjWeight.initUniform(bound: (6 / Float(4 * embedDim)).squareRoot(), rng: &rng)
        outProjWeight.initUniform(bound: 1 / Float(embedDim).squareRoot(), rng: &rng)
    }

    /// Parameters in `state_dict` order.
    public var parameters: [Parameter] { [inProjWeight, inProjBias, outProjWeight, outProjBias] }

    /// `x (B, T, E)` -> `output (B, E)`.
    public func forward(_ input: UnsafePointer<Float>, layout: SequenceLayout, training: Bool = true) {
        self.layout = layout
        let (B, T, E, nh) = (layout.batch, layout.time, embedDim, heads)
        let dh = E / nh, E3 = 3 * E
        let scale = 1 / Float(dh).squareRoot()
        if training { x.resize(B * T * E); x.pointer.update(from: input, count: B * T * E) }
        // qkv (B*T, 3E) = x (B*T, E) @ W_in^T (E, 3E) + b_in
        qkv.resize(B * T * E3)
        BLAS.gemm(transB: true, m: B * T, n: E3, k: E, a: input, lda: E,
                  b: inProjWeight.value, ldb: E, c: qkv.pointer, ldc: E3)
        let bin = inProjBias.value
        for r in 0..<(B * T) {
            let q = qkv.pointer + r * E3
            for j in 0..<E3 { q[j] += bin[j] }
        }
        // Inference keeps one (T, T) block of probabilities; training keeps them all.
        probs.resize(training ? B * nh * T * T : T * T)
        colSums.resize(training ? B * nh * T : T)
        summed.resize(B * E)
        for b in 0..<B {
            let L = layout.lengths[b]
            let base = qkv.pointer + b * T * E3
            for h in 0..<nh {
                let blk = training ? (b * nh + h) : 0
                let P = probs.pointer + blk * T * T, s = colSums.pointer + blk * T
                // S (L, L) = scale * Q (L, dh) @ K^T (dh, L); keys j >= L are masked out.
                BLAS.gemm(transB: true, m: L, n: L, k: dh, alpha: scale, a: base + h * dh, lda: E3,
                          b: base + E + h * dh, ldb: E3, c: P, ldc: T)
                s.update(repeating: 0, count: L)
                for i in 0..<L {
                    let row = P + i * T
                    var m = row[0]
                    for j in 1..<max(L, 1) where row[j] > m { m = row[j] }
                    var z: Float = 0
                    for j in 0..<L { row[j] = expF(row[j] - m); z += row[j] }
                    let inv = 1 / z
                    for j in 0..<L { row[j] *= inv; s[j] += row[j] }
                }
                // summed[b, head] = sum_j s_j V[j]  (= sum_i (P V)[i])
                let out = summed.pointer + b * E + h * dh
                out.update(repeating: 0, count: dh)
                for j in 0..<L {
                    let v = base + j * E3 + 2 * E + h * dh
                    let sj = s[j]
                    for k in 0..<dh { out[k] += sj * v[k] }
                }
            }
        }
        // output (B, E) = summed (B, E) @ W_out^T + len * b_out
        output.resize(B * E)
        if B == 1 {   // one clip: y (E) = W_out (E, E) @ summed (E), no packing of W_out
            BLAS.gemv(rows: E, columns: E, a: outProjWeight.value, lda: E, x: summed.pointer, y: output.pointer)
        } else {
            BLAS.gemm(transB: true, m: B, n: E, k: E, a: summed.pointer, lda: E,
                      b: outProjWeight.value, ldb: E, c: output.pointer, ldc: E)
        }
        let y = output.pointer, bout = outProjBias.value
        for b in 0..<B {
            let L = Float(layout.lengths[b])
            for j in 0..<E { y[b * E + j] += L * bout[j] }
        }
    }

    /// `dout (B, E)` -> accumulates all parameter gradients; writes `inputGrad (B, T, E)`.
    public func backward(_ dout: UnsafePointer<Float>) {
        let (B, T, E, nh) = (layout.batch, layout.time, embedDim, heads)
        let dh = E / nh, E3 = 3 * E
        let scale = 1 / Float(dh).squareRoot()
        // dW_out (E, E) += dout^T (E, B) @ summed (B, E); db_out += len * dout
        BLAS.gemm(transA: true, m: E, n: E, k: B, a: dout, lda: E, b: summed.pointer, ldb: E,
                  beta: 1, c: outProjWeight.grad, ldc: E)
        for b in 0..<B {
            let L = Float(layout.lengths[b])
            for j in 0..<E { outProjBias.grad[j] += L * dout[b * E + j] }
        }
        // dSummed (B, E) = dout (B, E) @ W_out (E, E)
        dSummed.resize(B * E)
        BLAS.gemm(m: B, n: E, k: E, a: dout, lda: E, b: outProjWeight.value, ldb: E, c: dSummed.pointer, ldc: E)
        dQKV.resizeZeroed(B * T * E3)
        dScores.resize(T * T)
        dCol.resize(T)
        let dc = dCol.pointer
        for b in 0..<B {
            let L = layout.lengths[b]
            let base = qkv.pointer + b * T * E3, dbase = dQKV.pointer + b * T * E3
            for h in 0..<nh {
                let blk = b * nh + h
                let P = probs.pointer + blk * T * T, s = colSums.pointer + blk * T
                let g = dSummed.pointer + b * E + h * dh
                // dV[j] = s_j * g;  ds_j = V[j] . g
                for j in 0..<L {
                    let v = base + j * E3 + 2 * E + h * dh, dv = dbase + j * E3 + 2 * E + h * dh
                    var acc: Float = 0
                    for k in 0..<dh { dv[k] = s[j] * g[k]; acc += v[k] * g[k] }
                    dc[j] = acc
                }
                // dP[i, j] = ds_j for every i; softmax backward: dS = P * (dP - sum_k P dP) * scale
                for i in 0..<L {
                    let p = P + i * T, dS = dScores.pointer + i * T
                    var dot: Float = 0
                    for j in 0..<L { dot += p[j] * dc[j] }
                    for j in 0..<L { dS[j] = p[j] * (dc[j] - dot) * scale }
                }
                // dQ (L, dh) = dS (L, L) @ K (L, dh);  dK (L, dh) = dS^T (L, L) @ Q (L, dh)
                BLAS.gemm(m: L, n: dh, k: L, a: dScores.pointer, lda: T, b: base + E + h * dh, ldb: E3,
                          c: dbase + h * dh, ldc: E3)
                BLAS.gemm(transA: true, m: L, n: dh, k: L, a: dScores.pointer, lda: T, b: base + h * dh, ldb: E3,
                          c: dbase + E + h * dh, ldc: E3)
            }
        }
        // dW_in (3E, E) += dQKV^T (3E, B*T) @ x (B*T, E); db_in += column sums
        BLAS.gemm(transA: true, m: E3, n: E, k: B * T, a: dQKV.pointer, lda: E3, b: x.pointer, ldb: E,
                  beta: 1, c: inProjWeight.grad, ldc: E)
        let bg = inProjBias.grad
        for r in 0..<(B * T) {
            let d = dQKV.pointer + r * E3
            for j in 0..<E3 { bg[j] += d[j] }
        }
        // dx (B*T, E) = dQKV (B*T, 3E) @ W_in (3E, E)
        inputGrad.resize(B * T * E)
        BLAS.gemm(m: B * T, n: E, k: E3, a: dQKV.pointer, lda: E3, b: inProjWeight.value, ldb: E,
                  c: inputGrad.pointer, ldc: E)
    }
}
