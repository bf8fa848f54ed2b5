import Foundation
import SERCore
import SERFeatures

/// Whisper's audio encoder (Radford et al. 2022, "Robust Speech Recognition via Large-Scale Weak
/// Supervision"), inference only, on a clip's own length.
///
///     x = GELU(conv1(mel))                  conv1d k3 p1,     [T, nMels] -> [T, d]
///     x = GELU(conv2(x)) + pos[:T']         conv1d k3 s2 p1,  [T, d] -> [T', d],  T' = (T - 1) / 2 + 1
///     for each block:                       pre-LayerNorm transformer
///         x = x + Attn(LN(x))               8 heads (base), softmax(q kᵀ / sqrt(d_head)) v; key has no bias
///         x = x + MLP(LN(x))                d -> 4d -> d, erf GELU (vectorised erf, error < 1e-6)
///     x = LN_post(x)
///
/// `mel` is ``WhisperLogMel``'s output (10 ms frames), so a 16 kHz clip of `n` samples gives
/// `T' = (n / 160 - 1) / 2 + 1` encoder frames of 20 ms. Nothing is padded to 30 s: attention runs over
/// the clip's frames only and the positional embedding's first `T'` rows are used. Clips up to 30 s
/// (`nCtx` = 1500 frames) are accepted.
///
/// ## Hidden states
/// ``hiddenStates(samples16k:)`` returns `nLayer + 1` tensors `[T', d]`, the convention of SUPERB and
/// of Hugging Face's `output_hidden_states`:
/// - `[0]`: the embedding output (after both convolutions and the positional embedding);
/// - `[i]`, `1 <= i < nLayer`: the output of block `i` (the residual stream, no normalisation);
/// - `[nLayer]`: the output of the last block **after the final LayerNorm** `ln_post`, i.e. the
///   encoder's output, what `whisper`'s `model.encoder(mel)` and CTranslate2's `Whisper.encode` return.
///
/// ## Threads
/// The weights are immutable after `init`, so one `WhisperEncoder` may be shared by any number of
/// threads. Scratch memory lives in a ``WhisperWorkspace``: the calls without one make a fresh one per
/// call; a thread that encodes many clips keeps its own workspace (`makeWorkspace()`) and passes it,
/// so the buffers are reused. Every matrix product is a `BLAS.gemm` (OpenBLAS `cblas_sgemm`, with the
/// thread count the caller set through `BLAS.setThreads`); the convolutions are im2col + gemm.
///
/// ```swift
/// let encoder = try WhisperEncoder(contentsOf: URL(fileURLWithPath: "whisper-base.safetensors"))
/// let states = try encoder.hiddenStates(samples16k: clip)   // 7 tensors [T', 512] for base
/// let last = states.last!                                    // the encoder output
/// ```
public final class WhisperEncoder: Sendable {
    /// The encoder's shape.
    public let config: WhisperConfig
    /// Where the weights came from.
    public let source: String

    /// One pre-LN transformer block's weights (all row-major, PyTorch `Linear` layout `[out, in]`).
    struct Block: Sendable {
        let attnLnW: [Float], attnLnB: [Float]   // [d]
        let wQKV: [Float]                        // [3d, d] query, key, value rows stacked
        let bQKV: [Float]                        // [3d]   key part is 0 (the key projection has no bias)
        let wOut: [Float], bOut: [Float]         // [d, d], [d]
        let mlpLnW: [Float], mlpLnB: [Float]     // [d]
        let w1: [Float], b1: [Float]             // [4d, d], [4d]
        let w2: [Float], b2: [Float]             // [d, 4d], [d]
    }

    let conv1W: [Float], conv1B: [Float]   // [d, nMels * 3] (PyTorch [d, nMels, 3] flattened), [d]
    let conv2W: [Float], conv2B: [Float]   // [d, d * 3], [d]
    let positions: [Float]                 // [nCtx, d]
    let blocks: [Block]
    let lnPostW: [Float], lnPostB: [Float] // [d]

    /// LayerNorm epsilon (PyTorch's default, which Whisper uses).
    static let eps: Float = 1e-5

    /// An encoder over checked weights.
    public init(checkpoint: WhisperCheckpoint) {
        let t = checkpoint.tensors
        func w(_ name: String) -> [Float] { t[name]?.data ?? [] }   // names and shapes were validated by the checkpoint
        config = checkpoint.config
        source = checkpoint.source
        conv1W = w("encoder.conv1.weight"); conv1B = w("encoder.conv1.bias")
        conv2W = w("encoder.conv2.weight"); conv2B = w("encoder.conv2.bias")
        positions = w("encoder.positional_embedding")
        lnPostW = w("encoder.ln_post.weight"); lnPostB = w("encoder.ln_post.bias")
        let d = checkpoint.config.nState
        blocks = (0..<checkpoint.config.nLayer).map { l in
            let p = "encoder.blocks.\(l)."
            let keyBias = t[p + "attn.key.bias"]?.data ?? [Float](repeating: 0, count: d)
            return Block(attnLnW: w(p + "attn_ln.weight"), attnLnB: w(p + "attn_ln.bias"),
                         wQKV: w(p + "attn.query.weight") + w(p + "attn.key.weight") + w(p + "attn.value.weight"),
                         bQKV: w(p + "attn.query.bias") + keyBias + w(p + "attn.value.bias"),
                         wOut: w(p + "attn.out.weight"), bOut: w(p + "attn.out.bias"),
                         mlpLnW: w(p + "mlp_ln.weight"), mlpLnB: w(p + "mlp_ln.bias"),
                         w1: w(p + "mlp.0.weight"), b1: w(p + "mlp.0.bias"),
                         w2: w(p + "mlp.2.weight"), b2: w(p + "mlp.2.bias"))
        }
    }

    /// Loads a converted `whisper-*.safetensors`, an OpenAI or Hugging Face safetensors checkpoint, or a
    /// CTranslate2 `model.bin` (see ``WhisperCheckpoint``).
    public convenience init(contentsOf url: URL) throws {
        self.init(checkpoint: try WhisperCheckpoint(contentsOf: url))
    }

    /// The installed model `name` (`base`, `tiny.en`) from the cache (``EncoderInstaller/weightsPath(_:cache:)``).
    /// Never downloads: throws ``EncoderError/notInstalled(model:path:)`` naming the set-up command instead.
    public static func installed(_ name: String, cache: URL = EncoderInstaller.defaultCache()) throws -> WhisperEncoder {
        _ = try EncoderInstaller.model(named: name)
        let path = EncoderInstaller.weightsPath(name, cache: cache)
        guard FileManager.default.fileExists(atPath: path.path) else {
            throw EncoderError.notInstalled(model: name, path: path.path)
        }
        return try WhisperEncoder(contentsOf: path)
    }

    /// Longest clip accepted, in 16 kHz samples: the longest that gives at most `nCtx` encoder frames
    /// (`2 nCtx` mel frames), 30 s plus 159 samples for the released models.
    public var maximumSamples: Int { config.nCtx * 2 * WhisperLogMel.hopLength + WhisperLogMel.hopLength - 1 }

    /// Encoder frames for a clip of `samples` samples at 16 kHz: `(samples / 160 - 1) / 2 + 1`.
    public static func frames(samples: Int) -> Int {
        let t = WhisperLogMel.frames(samples: samples)
        return t > 0 ? (t - 1) / 2 + 1 : 0
    }

    /// Scratch memory for one thread's calls.
    public func makeWorkspace() -> WhisperWorkspace { WhisperWorkspace(config: config) }

    // MARK: Entry points

    /// Every layer's hidden states (`nLayer + 1` tensors `[T', d]`, see the type's documentation) of a
    /// 16 kHz mono clip. Makes a workspace for this call.
    public func hiddenStates(samples16k: [Float]) throws -> [Tensor] {
        try hiddenStates(samples16k: samples16k, workspace: makeWorkspace())
    }

    /// `hiddenStates(samples16k:)` with the caller's workspace (one per thread; its buffers are reused).
    public func hiddenStates(samples16k: [Float], workspace ws: WhisperWorkspace) throws -> [Tensor] {
        guard samples16k.count >= WhisperLogMel.minimumSamples else {
            throw EncoderError.clipTooShort(samples: samples16k.count, minimum: WhisperLogMel.minimumSamples)
        }
        guard samples16k.count <= maximumSamples else {
            throw EncoderError.clipTooLong(samples: samples16k.count, maximum: maximumSamples)
        }
        let t = WhisperLogMel.frames(samples: samples16k.count)
        ws.reserve(melFrames: t)
        samples16k.withUnsafeBufferPointer { ws.frontEnd.compute($0, into: ws.mel.p) }
        return forward(melFrames: t, ws)
    }

    /// Every layer's hidden states from log-mel features `[T, nMels]` (time-major, as ``WhisperLogMel``
    /// computes them), for comparisons with other front ends.
    public func hiddenStates(logMel: Tensor, workspace: WhisperWorkspace? = nil) throws -> [Tensor] {
        guard logMel.shape.count == 2, logMel.shape[1] == config.nMels, logMel.shape[0] > 0 else {
            throw EncoderError.badFeatures(expectedMels: config.nMels, found: logMel.shape)
        }
        let t = logMel.shape[0]
        guard (t - 1) / 2 + 1 <= config.nCtx else {
            throw EncoderError.clipTooLong(samples: t * WhisperLogMel.hopLength, maximum: maximumSamples)
        }
        let ws = workspace ?? makeWorkspace()
        ws.reserve(melFrames: t)
        logMel.data.withUnsafeBufferPointer { ws.mel.p.update(from: $0.baseAddress!, count: t * config.nMels) }
        return forward(melFrames: t, ws)
    }

    /// The encoder output only (`hiddenStates(...).last`, after `ln_post`), `[T', d]`.
    public func encode(samples16k: [Float], workspace: WhisperWorkspace? = nil) throws -> Tensor {
        try hiddenStates(samples16k: samples16k, workspace: workspace ?? makeWorkspace()).last!
    }

    // MARK: Forward pass

    /// Runs the network on `ws.mel` (`[t, nMels]`), returning the hidden states.
    private func forward(melFrames t: Int, _ ws: WhisperWorkspace) -> [Tensor] {
        precondition(ws.config == config, "WhisperWorkspace made by an encoder of another shape (\(ws.config)); use makeWorkspace()")
        let d = config.nState, nm = config.nMels
        let t2 = (t - 1) / 2 + 1
        let x = ws.x.p                     // [t2, d] residual stream
        var states: [Tensor] = []
        states.reserveCapacity(config.nLayer + 1)

        // conv1 (k3, p1): col [t, nm * 3] · W1ᵀ [nm * 3, d] -> h [t, d], + b, GELU.
        im2col(ws.mel.p, frames: t, channels: nm, stride: 1, outFrames: t, into: ws.col.p)
        fillRows(ws.h.p, bias: conv1B, rows: t)
        conv1W.withUnsafeBufferPointer { w in
            BLAS.gemm(transB: true, m: t, n: d, k: nm * 3, a: ws.col.p, lda: nm * 3, b: w.baseAddress!, ldb: nm * 3,
                      beta: 1, c: ws.h.p, ldc: d)
        }
        FastMath.gelu(ws.h.p, count: t * d)

        // conv2 (k3, s2, p1): col [t2, d * 3] · W2ᵀ -> x [t2, d], + b, GELU, + positions.
        im2col(ws.h.p, frames: t, channels: d, stride: 2, outFrames: t2, into: ws.col.p)
        fillRows(x, bias: conv2B, rows: t2)
        conv2W.withUnsafeBufferPointer { w in
            BLAS.gemm(transB: true, m: t2, n: d, k: d * 3, a: ws.col.p, lda: d * 3, b: w.baseAddress!, ldb: d * 3,
                      beta: 1, c: x, ldc: d)
        }
        FastMath.gelu(x, count: t2 * d)
        positions.withUnsafeBufferPointer { p in for i in 0..<(t2 * d) { x[i] += p[i] } }
        states.append(snapshot(x, rows: t2, columns: d))

        for (l, block) in blocks.enumerated() {
            attention(block, frames: t2, ws)
            mlp(block, frames: t2, ws)
            if l == blocks.count - 1 {
                layerNorm(x, rows: t2, columns: d, weight: lnPostW, bias: lnPostB, into: ws.ln.p)
                states.append(snapshot(ws.ln.p, rows: t2, columns: d))
            } else {
                states.append(snapshot(x, rows: t2, columns: d))
            }
        }
        return states
    }

    /// `x += Attn(LN(x))` for one block.
    private func attention(_ b: Block, frames t: Int, _ ws: WhisperWorkspace) {
        let d = config.nState, heads = config.nHead, hd = d / heads
        let x = ws.x.p, ln = ws.ln.p       // [t, d]
        let qkv = ws.qkv.p                 // [t, 3d]: query | key | value
        let scores = ws.scores.p           // [t, t]
        let attn = ws.attn.p               // [t, d]: heads side by side
        layerNorm(x, rows: t, columns: d, weight: b.attnLnW, bias: b.attnLnB, into: ln)
        fillRows(qkv, bias: b.bQKV, rows: t)
        b.wQKV.withUnsafeBufferPointer { w in
            BLAS.gemm(transB: true, m: t, n: 3 * d, k: d, a: ln, lda: d, b: w.baseAddress!, ldb: d, beta: 1, c: qkv, ldc: 3 * d)
        }
        let scale = 1 / Float(hd).squareRoot()
        for h in 0..<heads {
            let q = qkv + h * hd, k = qkv + d + h * hd, v = qkv + 2 * d + h * hd
            // scores [t, t] = q_h [t, hd] · k_hᵀ / sqrt(hd)
            BLAS.gemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: q, lda: 3 * d, b: k, ldb: 3 * d, c: scores, ldc: t)
            FastMath.softmaxRows(scores, rows: t, columns: t)
            // attn[:, h] [t, hd] = scores · v_h
            BLAS.gemm(m: t, n: hd, k: t, a: scores, lda: t, b: v, ldb: 3 * d, c: attn + h * hd, ldc: d)
        }
        // x += attn · Woutᵀ + b
        addRows(x, bias: b.bOut, rows: t)
        b.wOut.withUnsafeBufferPointer { w in
            BLAS.gemm(transB: true, m: t, n: d, k: d, a: attn, lda: d, b: w.baseAddress!, ldb: d, beta: 1, c: x, ldc: d)
        }
    }

    /// `x += MLP(LN(x))` for one block.
    private func mlp(_ b: Block, frames t: Int, _ ws: WhisperWorkspace) {
        let d = config.nState
        let x = ws.x.p, ln = ws.ln.p       // [t, d]
        let hidden = ws.mlp.p              // [t, 4d]
        layerNorm(x, rows: t, columns: d, weight: b.mlpLnW, bias: b.mlpLnB, into: ln)
        fillRows(hidden, bias: b.b1, rows: t)
        b.w1.withUnsafeBufferPointer { w in
            BLAS.gemm(transB: true, m: t, n: 4 * d, k: d, a: ln, lda: d, b: w.baseAddress!, ldb: d, beta: 1, c: hidden, ldc: 4 * d)
        }
        FastMath.gelu(hidden, count: t * 4 * d)
        addRows(x, bias: b.b2, rows: t)
        b.w2.withUnsafeBufferPointer { w in
            BLAS.gemm(transB: true, m: t, n: d, k: 4 * d, a: hidden, lda: 4 * d, b: w.baseAddress!, ldb: 4 * d, beta: 1, c: x, ldc: d)
        }
    }

    // MARK: Kernels

    /// im2col for a kernel-3, padding-1 conv1d over time-major input `[frames, channels]`:
    /// `col[o, c * 3 + j] = src[o * stride + j - 1, c]` (0 outside), `col` is `[outFrames, channels * 3]`,
    /// matching PyTorch's weight layout `[out, in, k]`.
    private func im2col(_ src: UnsafePointer<Float>, frames: Int, channels: Int, stride: Int, outFrames: Int,
                        into col: UnsafeMutablePointer<Float>) {
        let width = channels * 3
        for o in 0..<outFrames {
            let row = col + o * width
            for j in 0..<3 {
                let s = o * stride + j - 1
                if s < 0 || s >= frames {
                    for c in 0..<channels { row[c * 3 + j] = 0 }
                } else {
                    let input = src + s * channels
                    for c in 0..<channels { row[c * 3 + j] = input[c] }
                }
            }
        }
    }

    /// Every row of `dst` (`[rows, bias.count]`) set to `bias`.
    private func fillRows(_ dst: UnsafeMutablePointer<Float>, bias: [Float], rows: Int) {
        bias.withUnsafeBufferPointer { b in
            for r in 0..<rows { (dst + r * b.count).update(from: b.baseAddress!, count: b.count) }
        }
    }

    /// `bias` added to every row of `dst` (`[rows, bias.count]`).
    private func addRows(_ dst: UnsafeMutablePointer<Float>, bias: [Float], rows: Int) {
        bias.withUnsafeBufferPointer { b in
            let n = b.count
            for r in 0..<rows {
                let row = dst + r * n
                for j in 0..<n { row[j] += b[j] }
            }
        }
    }

    /// A copy of `[rows, columns]` floats as a tensor.
    private func snapshot(_ p: UnsafePointer<Float>, rows: Int, columns: Int) -> Tensor {
        Tensor(shape: [rows, columns], data: Array(UnsafeBufferPointer(start: p, count: rows * columns)))
    }
}

// MARK: Numerics shared with the tests

/// LayerNorm over the last dimension: `(x - mean) / sqrt(var + 1e-5) * weight + bias` per row.
func layerNorm(_ x: UnsafePointer<Float>, rows: Int, columns n: Int, weight: [Float], bias: [Float],
               into y: UnsafeMutablePointer<Float>) {
    weight.withUnsafeBufferPointer { w in
        bias.withUnsafeBufferPointer { b in
            for r in 0..<rows {
                let xr = x + r * n, yr = y + r * n
                var sum: Float = 0
                for j in 0..<n { sum += xr[j] }
                let mean = sum / Float(n)
                var sq: Float = 0
                for j in 0..<n { let c = xr[j] - mean; sq += c * c }
                let inv = 1 / (sq / Float(n) + WhisperEncoder.eps).squareRoot()
                for j in 0..<n { yr[j] = (xr[j] - mean) * inv * w[j] + b[j] }
            }
        }
    }
}

extension WhisperEncoder {
    /// Whisper's sinusoidal positional embedding `[length, channels]` (OpenAI `whisper.model.sinusoids`):
    /// `inc = ln(10000) / (channels / 2 - 1)`, `pos[t, i] = sin(t * exp(-inc * i))` for the first half of
    /// the channels and `cos(...)` for the second.
    public static func sinusoids(length: Int, channels: Int) -> Tensor {
        let half = channels / 2
        let inc = log(10000.0) / Double(Swift.max(half - 1, 1))
        var out = Tensor(shape: [length, channels])
        for t in 0..<length {
            for i in 0..<half {
                // float32 as PyTorch computes it: exp in float32, the product in float32.
                let inv = Float(exp(-inc * Double(i)))
                let a = Float(t) * inv
                out.data[t * channels + i] = sin(a)
                out.data[t * channels + half + i] = cos(a)
            }
        }
        return out
    }
}

/// Scratch buffers for one thread's encoder calls, grown to the longest clip seen and reused.
///
/// Not thread-safe: one per thread (``WhisperEncoder/makeWorkspace()``).
public final class WhisperWorkspace {
    let config: WhisperConfig
    /// The log-mel front end (owns FFT buffers).
    let frontEnd: WhisperLogMel
    let mel = Scratch()      // [T, nMels]
    let col = Scratch()      // [T, 3 * max(nMels, d)] im2col
    let h = Scratch()        // [T, d] conv1 output
    let x = Scratch()        // [T', d] residual stream
    let ln = Scratch()       // [T', d] LayerNorm output
    let qkv = Scratch()      // [T', 3d]
    let scores = Scratch()   // [T', T'] one head's attention
    let attn = Scratch()     // [T', d] concatenated heads
    let mlp = Scratch()      // [T', 4d]

    init(config: WhisperConfig) {
        self.config = config
        frontEnd = WhisperLogMel(nMels: config.nMels)
    }

    /// Room for a clip of `t` mel frames.
    func reserve(melFrames t: Int) {
        let d = config.nState, t2 = (t - 1) / 2 + 1
        mel.reserve(t * config.nMels)
        col.reserve(t * 3 * Swift.max(config.nMels, d))
        h.reserve(t * d)
        x.reserve(t2 * d)
        ln.reserve(t2 * d)
        qkv.reserve(t2 * 3 * d)
        scores.reserve(t2 * t2)
        attn.reserve(t2 * d)
        mlp.reserve(t2 * 4 * d)
    }

}
