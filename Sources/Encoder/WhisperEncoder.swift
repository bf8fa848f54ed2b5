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
/// so the buffers are reused. Every matrix product is a `BLAS.gemm` (OpenBLAS `cblas_sgemm`); the
/// convolutions are im2col + gemm.
///
/// The encoder uses as many threads as OpenBLAS is set to (`BLAS.setThreads`, `OPENBLAS_NUM_THREADS`),
/// but spreads the work itself: each product's output columns (whole blocks of 16) and each attention
/// head (with its query, key and value columns) go to one thread, which also runs the bias, GELU and
/// residual passes on its block and normalises the rows it needs itself, so the threads meet only
/// four times per block; OpenBLAS runs single-threaded for the duration of the call. On these shapes (175 frames × 512–2048 columns for
/// a 3.5 s clip) that is faster than OpenBLAS's own threading, and every output element is computed by
/// the same arithmetic whatever the thread count (the per-element sums do not depend on the split).
/// Calls that overlap use the thread count OpenBLAS had when the first of them started, so they give
/// the same numbers as one call alone; callers that run several clips in parallel set
/// `BLAS.setThreads(1)` first, as the feature cache does.
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

    /// One pre-LN transformer block's weights (row-major, PyTorch `Linear` layout `[out, in]`), in `weights`.
    struct Block: @unchecked Sendable {   // read-only pointers into the encoder's `WeightStore`
        let attnLnW: UnsafePointer<Float>, attnLnB: UnsafePointer<Float>   // [d]
        let wQKV: UnsafePointer<Float>                                     // [3d, d] query, key, value rows stacked
        let bQKV: UnsafePointer<Float>                                     // [3d]   key part is 0 (no key bias)
        let wOut: UnsafePointer<Float>, bOut: UnsafePointer<Float>         // [d, d], [d]
        let mlpLnW: UnsafePointer<Float>, mlpLnB: UnsafePointer<Float>     // [d]
        let w1: UnsafePointer<Float>, b1: UnsafePointer<Float>             // [4d, d], [4d]
        let w2: UnsafePointer<Float>, b2: UnsafePointer<Float>             // [d, 4d], [d]
    }

    /// Every weight in one 64-byte aligned allocation, owned here and freed with the encoder.
    let store: WeightStore
    var conv1W: UnsafePointer<Float> { store[0] }    // [d, 3, nMels] (tap-major, see init)
    var conv1B: UnsafePointer<Float> { store[1] }    // [d]
    var conv2W: UnsafePointer<Float> { store[2] }    // [d, 3, d]
    var conv2B: UnsafePointer<Float> { store[3] }    // [d]
    var positions: UnsafePointer<Float> { store[4] } // [nCtx, d]
    var lnPostW: UnsafePointer<Float> { store[5] }   // [d]
    var lnPostB: UnsafePointer<Float> { store[6] }   // [d]
    let blocks: [Block]

    /// LayerNorm epsilon (PyTorch's default, which Whisper uses).
    static let eps: Float = 1e-5

    /// An encoder over checked weights. The convolution weights, PyTorch `[out, in, 3]`, are stored
    /// tap-major `[out, 3, in]`, so that im2col copies whole input rows; the query, key and value
    /// projections are stacked into one `[3d, d]` product (see ``WeightStore/slots(_:)``).
    public convenience init(checkpoint: WhisperCheckpoint) {
        let t = checkpoint.tensors
        // Names and shapes were validated by the checkpoint; a tensor whose data does not fill its
        // shape is copied as far as it goes.
        let store = WeightStore(config: checkpoint.config) { name, out, count in
            guard let data = t[name]?.data else { return false }
            data.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: Swift.min(count, $0.count)) }
            if data.count < count { (out + data.count).update(repeating: 0, count: count - data.count) }
            return true
        }
        self.init(store: store, config: checkpoint.config, source: checkpoint.source)
    }

    /// The encoder over a filled store.
    private init(store: WeightStore, config c: WhisperConfig, source: String) {
        self.store = store
        config = c
        self.source = source
        blocks = (0..<c.nLayer).map { l in
            let i = 7 + 12 * l
            return Block(attnLnW: store[i], attnLnB: store[i + 1], wQKV: store[i + 2], bQKV: store[i + 3],
                         wOut: store[i + 4], bOut: store[i + 5], mlpLnW: store[i + 6], mlpLnB: store[i + 7],
                         w1: store[i + 8], b1: store[i + 9], w2: store[i + 10], b2: store[i + 11])
        }
    }

    /// Loads a converted `whisper-*.safetensors`, an OpenAI or Hugging Face safetensors checkpoint, or a
    /// CTranslate2 `model.bin` (see ``WhisperCheckpoint``), with the same checks and errors.
    ///
    /// A safetensors file's tensors are converted straight from the mapped file into the encoder's
    /// store, and each tensor's pages of the mapping are dropped once copied: the weights are in
    /// memory once, not also as a ``WhisperCheckpoint``'s tensors or as the whole file's pages. A
    /// `model.bin` goes through a ``WhisperCheckpoint``.
    public convenience init(contentsOf url: URL) throws {
        switch try WhisperCheckpoint.open(url) {
        case .ctranslate2:
            self.init(checkpoint: try WhisperCheckpoint(contentsOf: url))
        case let .safetensors(reader):
            let fileShapes = reader.entries.mapValues(\.shape)
            let plan = try SafeTensorsPlan(shapes: fileShapes, metadata: reader.metadata, path: url.path)
            let c = plan.config
            try WhisperCheckpoint.validate(shapes: plan.shapes(in: fileShapes), c, path: url.path)
            let store = try WhisperCheckpoint.encoderError(url.path) {
                try WeightStore(config: c) { name, out, count in
                    if let fileName = plan.fileNames[name], let entry = reader.entries[fileName] {
                        try reader.read(fileName, into: out)   // shape checked above: `count` elements
                        // Copied: its pages of the mapping leave this process's memory now, so the
                        // file and the store are not both resident at the peak.
                        MappedFile.release(reader.data, bytes: entry.byteRange)
                        return true
                    }
                    guard name == WhisperCheckpoint.positionsName, plan.synthesizedPositions else { return false }
                    Self.sinusoids(length: c.nCtx, channels: c.nState).data.withUnsafeBufferPointer {
                        out.update(from: $0.baseAddress!, count: Swift.min(count, $0.count))
                    }
                    return true
                }
            }
            self.init(store: store, config: c, source: plan.source)
        }
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
        // The encoder spreads the work over OpenBLAS's thread count itself (see the type's documentation).
        let threads = EncoderThreads.enter()
        defer { EncoderThreads.leave() }
        ws.reserve(melFrames: t, threads: threads)
        let run = Team(threads: threads)
        var states: [Tensor] = []
        states.reserveCapacity(config.nLayer + 1)

        // conv1 (k3, p1): h [t, d] = GELU(col [t, 3 nm] · W1ᵀ + b).
        let col = ws.col.p, h = ws.h.p
        im2col(ws.mel.p, frames: t, channels: nm, stride: 1, outFrames: t, into: col)
        run.columns(d) { from, to in
            BLAS.gemm(transB: true, m: t, n: to - from, k: 3 * nm, a: col, lda: 3 * nm, b: conv1W + from * 3 * nm, ldb: 3 * nm,
                      c: h + from, ldc: d)
            FastMath.biasGELU(h, rows: t, from: from, to: to, ld: d, bias: conv1B)
        }
        // conv2 (k3, s2, p1): x [t2, d] = GELU(col [t2, 3d] · W2ᵀ + b) + positions.
        im2col(h, frames: t, channels: d, stride: 2, outFrames: t2, into: col)
        states.append(newState(rows: t2) { x in
            run.columns(d) { from, to in
                BLAS.gemm(transB: true, m: t2, n: to - from, k: 3 * d, a: col, lda: 3 * d, b: conv2W + from * 3 * d, ldb: 3 * d,
                          c: x + from, ldc: d)
                FastMath.biasGELU(x, rows: t2, from: from, to: to, ld: d, bias: conv2B)
                FastMath.addMatrix(x, x, positions, rows: t2, from: from, to: to, ld: d)
            }
        })

        for (l, block) in blocks.enumerated() {
            let last = l == blocks.count - 1
            let next: Tensor = states[l].data.withUnsafeBufferPointer { xin in
                let x = xin.baseAddress!                       // [t2, d] this block's input (the previous state)
                attention(block, input: x, frames: t2, ws, run)   // ws.x = x + Attn(LN(x))
                if last {
                    mlp(block, frames: t2, into: ws.h.p, ws, run)     // the last block's output, before ln_post
                    return newState(rows: t2) { y in
                        run.rows(t2) { from, to in
                            FastMath.layerNorm(ws.h.p, rowsFrom: from, to: to, columns: d, eps: Self.eps,
                                               weight: lnPostW, bias: lnPostB, into: y)
                        }
                    }
                }
                return newState(rows: t2) { y in mlp(block, frames: t2, into: y, ws, run) }
            }
            states.append(next)
        }
        return states
    }

    /// `ws.x = x + Attn(LN(x))` for one block, `x` `[t, d]`.
    ///
    /// Two parallel steps: each thread normalises all rows (its own copy, so no thread waits for
    /// another), projects the query, key and value columns of its own heads and runs those heads;
    /// then each thread makes a column block of the output projection.
    private func attention(_ b: Block, input x: UnsafePointer<Float>, frames t: Int, _ ws: WhisperWorkspace, _ run: Team) {
        let d = config.nState, heads = config.nHead, hd = d / heads
        let qkv = ws.qkv.p                 // [t, 3d]: query | key | value
        let attn = ws.attn.p               // [t, d]: heads side by side
        let y = ws.x.p                     // [t, d]
        let scale = 1 / Float(hd).squareRoot()
        run.each { w in
            let h0 = heads * w / run.threads, h1 = heads * (w + 1) / run.threads   // this thread's heads
            guard h0 < h1 else { return }
            let ln = ws.ln.p + w * t * d   // [t, d] this thread's copy
            FastMath.layerNorm(x, rowsFrom: 0, to: t, columns: d, eps: Self.eps, weight: b.attnLnW, bias: b.attnLnB, into: ln)
            // Query, key and value columns of heads h0..<h1: three column ranges, or all 3d columns in one
            // product when this thread runs every head (one packing of `ln` instead of three). The bias
            // is written first and the product added to it (beta 1): no zeroing pass, no bias pass.
            let whole = h1 - h0 == heads
            for part in 0..<(whole ? 1 : 3) {
                let from = whole ? 0 : part * d + h0 * hd, to = whole ? 3 * d : part * d + h1 * hd
                FastMath.fillRows(qkv, rows: t, from: from, to: to, ld: 3 * d, with: b.bQKV)
                BLAS.gemm(transB: true, m: t, n: to - from, k: d, a: ln, lda: d, b: b.wQKV + from * d, ldb: d,
                          beta: 1, c: qkv + from, ldc: 3 * d)
            }
            let scores = ws.scores.p + w * t * t   // [t, t] this thread's
            let inverse = ws.rowScale.p + w * t    // [t] this thread's 1 / (row sums of exp(scores - max))
            for h in h0..<h1 {
                let q = qkv + h * hd, k = qkv + d + h * hd, v = qkv + 2 * d + h * hd
                // scores [t, t] = q_h [t, hd] · k_hᵀ / sqrt(hd)
                BLAS.gemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: q, lda: 3 * d, b: k, ldb: 3 * d, c: scores, ldc: t)
                // attn[:, h] [t, hd] = softmax(scores) · v_h = (exp(scores - max) · v_h) / row sums:
                // the division is applied to the t x hd product instead of the t x t weights.
                FastMath.expRows(scores, rows: t, columns: t, inverseSums: inverse)
                BLAS.gemm(m: t, n: hd, k: t, a: scores, lda: t, b: v, ldb: 3 * d, c: attn + h * hd, ldc: d)
                FastMath.scaleRows(attn + h * hd, rows: t, columns: hd, ld: d, by: inverse)
            }
        }
        // y = x + b + attn · Woutᵀ
        run.columns(d) { from, to in
            FastMath.addBias(y, x, rows: t, from: from, to: to, ld: d, bias: b.bOut)
            BLAS.gemm(transB: true, m: t, n: to - from, k: d, a: attn, lda: d, b: b.wOut + from * d, ldb: d,
                      beta: 1, c: y + from, ldc: d)
        }
    }

    /// `out = y + MLP(LN(y))` for one block, `y = ws.x` `[t, d]`: each thread normalises all rows (its
    /// own copy) and makes a column block of the hidden layer; then a column block of the output.
    private func mlp(_ b: Block, frames t: Int, into out: UnsafeMutablePointer<Float>, _ ws: WhisperWorkspace, _ run: Team) {
        let d = config.nState
        let y = ws.x.p                     // [t, d]
        let hidden = ws.mlp.p              // [t, 4d]
        run.columns(4 * d) { from, to in
            let ln = ws.ln.p + (from / Swift.max(run.columnWidth(4 * d), 1)) * t * d   // [t, d] this block's copy
            FastMath.layerNorm(y, rowsFrom: 0, to: t, columns: d, eps: Self.eps, weight: b.mlpLnW, bias: b.mlpLnB, into: ln)
            BLAS.gemm(transB: true, m: t, n: to - from, k: d, a: ln, lda: d, b: b.w1 + from * d, ldb: d, c: hidden + from, ldc: 4 * d)
            FastMath.biasGELU(hidden, rows: t, from: from, to: to, ld: 4 * d, bias: b.b1)
        }
        run.columns(d) { from, to in
            FastMath.addBias(out, y, rows: t, from: from, to: to, ld: d, bias: b.b2)
            BLAS.gemm(transB: true, m: t, n: to - from, k: 4 * d, a: hidden, lda: 4 * d, b: b.w2 + from * 4 * d, ldb: 4 * d,
                      beta: 1, c: out + from, ldc: d)
        }
    }

    // MARK: Kernels

    /// im2col for a kernel-3, padding-1 conv1d over time-major input `[frames, channels]`, tap-major:
    /// `col[o, j * channels + c] = src[o * stride + j - 1, c]` (0 outside), `col` is `[outFrames, 3 * channels]`,
    /// matching the tap-major weights `[out, 3, in]`: three row copies per output frame.
    private func im2col(_ src: UnsafePointer<Float>, frames: Int, channels: Int, stride: Int, outFrames: Int,
                        into col: UnsafeMutablePointer<Float>) {
        for o in 0..<outFrames {
            for j in 0..<3 {
                let s = o * stride + j - 1
                let dst = col + (o * 3 + j) * channels
                if s < 0 || s >= frames { dst.update(repeating: 0, count: channels) }
                else { dst.update(from: src + s * channels, count: channels) }
            }
        }
    }

    /// A new `[rows, d]` state tensor whose elements `fill` writes (every one of them).
    private func newState(rows: Int, _ fill: (UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let n = rows * config.nState
        return Tensor(shape: [rows, config.nState], data: [Float](unsafeUninitializedCapacity: n) { buffer, count in
            fill(buffer.baseAddress!)
            count = n
        })
    }
}

/// Splits one step of the forward pass between `threads` threads (the calling one included), or runs it
/// inline for one.
struct Team {
    let threads: Int

    /// Runs `body(worker)` on `threads` threads and returns when all are done.
    func each(_ body: (Int) -> Void) {
        if threads == 1 { body(0); return }
        withoutActuallyEscaping(body) { b in
            let shared = Unchecked(b)   // the blocks the workers touch are disjoint (see the callers)
            DispatchQueue.concurrentPerform(iterations: threads) { shared.value($0) }
        }
    }

    /// The width of ``columns(_:_:)``'s blocks for `n` columns: `n / threads` rounded up to 16.
    func columnWidth(_ n: Int) -> Int { ((n + threads - 1) / threads + 15) / 16 * 16 }

    /// `body(from, to)` on disjoint column blocks covering `0..<n`, whole multiples of 16 except the last
    /// (the width of the BLAS kernels' panels), one per thread: block `w` starts at `w * columnWidth(n)`.
    func columns(_ n: Int, _ body: (_ from: Int, _ to: Int) -> Void) {
        let width = columnWidth(n)
        each { w in
            let from = Swift.min(n, w * width), to = Swift.min(n, from + width)
            if from < to { body(from, to) }
        }
    }

    /// `body(from, to)` on disjoint row blocks covering `0..<n`, one per thread.
    func rows(_ n: Int, _ body: (_ from: Int, _ to: Int) -> Void) {
        each { w in
            let from = n * w / threads, to = n * (w + 1) / threads
            if from < to { body(from, to) }
        }
    }
}

/// The thread count of the encoder calls in flight: OpenBLAS's count when the first call started.
///
/// While any call runs, OpenBLAS is single-threaded (the encoder's own threads make the products in
/// parallel); the last call to finish sets OpenBLAS's count back. Calls that overlap all use the same
/// count, so they split their work the same way and give the same numbers as one call alone.
enum EncoderThreads {
    private static let state = Locked((active: 0, threads: 1))

    /// Registers a call; returns the number of threads it uses (1 to 16).
    static func enter() -> Int {
        state.withLock { s in
            if s.active == 0 {
                s.threads = Swift.min(Swift.max(BLAS.threads, 1), 16)
                if s.threads > 1 { BLAS.setThreads(1) }
            }
            s.active += 1
            return s.threads
        }
    }

    /// Ends a call registered by ``enter()``.
    static func leave() {
        state.withLock { s in
            s.active -= 1
            if s.active == 0 && s.threads > 1 { BLAS.setThreads(s.threads) }
        }
    }
}

/// A value handed to worker threads that touch disjoint memory through it.
private struct Unchecked<T>: @unchecked Sendable { let value: T; init(_ v: T) { value = v } }

/// The encoder's weights: every tensor copied into one 64-byte aligned, immutable allocation.
///
/// The layout (``slots(_:)``) is the one description of where each named tensor goes; both loaders
/// (a ``WhisperCheckpoint`` in memory, a safetensors file read in place) fill the store through it,
/// writing each element once: the allocation is not zeroed first (only the padding between slots is).
final class WeightStore: @unchecked Sendable {   // written once in init, read-only after
    private let base: UnsafeMutablePointer<Float>
    private let offsets: [Int]
    /// Floats in the store, padding included.
    let count: Int

    /// One part of a slot, made from a named tensor (OpenAI name).
    enum Piece: Equatable {
        /// `count` elements copied as they are.
        case copy(String, count: Int)
        /// A convolution weight `[outputs, inputs, 3]` rearranged tap-major, `[outputs, 3, inputs]`.
        case tapMajor(String, outputs: Int, inputs: Int)
        /// `count` elements copied when the tensor is there, zeros when it is not (the key bias,
        /// which Whisper does not have).
        case copyOrZeros(String, count: Int)

        /// Elements this piece takes.
        var count: Int {
            switch self {
            case let .copy(_, n), let .copyOrZeros(_, n): return n
            case let .tapMajor(_, o, i): return o * 3 * i
            }
        }
    }

    /// The store's slots in order, each its pieces one after the other: 0 conv1 weight (tap-major),
    /// 1 conv1 bias, 2 conv2 weight (tap-major), 3 conv2 bias, 4 positional embedding, 5–6 ln_post,
    /// then per block 12 slots from `7 + 12 l`: attn_ln weight, bias, query|key|value weights `[3d, d]`,
    /// their biases `[3d]`, out weight, bias, mlp_ln weight, bias, mlp.0 weight, bias, mlp.2 weight, bias.
    static func slots(_ c: WhisperConfig) -> [[Piece]] {
        let d = c.nState
        var s: [[Piece]] = [[.tapMajor("encoder.conv1.weight", outputs: d, inputs: c.nMels)], [.copy("encoder.conv1.bias", count: d)],
                            [.tapMajor("encoder.conv2.weight", outputs: d, inputs: d)], [.copy("encoder.conv2.bias", count: d)],
                            [.copy(WhisperCheckpoint.positionsName, count: c.nCtx * d)],
                            [.copy("encoder.ln_post.weight", count: d)], [.copy("encoder.ln_post.bias", count: d)]]
        for l in 0..<c.nLayer {
            let p = "encoder.blocks.\(l)."
            s += [[.copy(p + "attn_ln.weight", count: d)], [.copy(p + "attn_ln.bias", count: d)],
                  [.copy(p + "attn.query.weight", count: d * d), .copy(p + "attn.key.weight", count: d * d),
                   .copy(p + "attn.value.weight", count: d * d)],
                  [.copy(p + "attn.query.bias", count: d), .copyOrZeros(p + "attn.key.bias", count: d),
                   .copy(p + "attn.value.bias", count: d)],
                  [.copy(p + "attn.out.weight", count: d * d)], [.copy(p + "attn.out.bias", count: d)],
                  [.copy(p + "mlp_ln.weight", count: d)], [.copy(p + "mlp_ln.bias", count: d)],
                  [.copy(p + "mlp.0.weight", count: 4 * d * d)], [.copy(p + "mlp.0.bias", count: 4 * d)],
                  [.copy(p + "mlp.2.weight", count: d * 4 * d)], [.copy(p + "mlp.2.bias", count: d)]]
        }
        return s
    }

    /// Fills the store for `config` from `read(name, out, count)`, which writes the `count` elements
    /// of tensor `name` to `out` and returns true, or returns false when there is no such tensor
    /// (zeros are written then; the loaders validate names first, so only the key biases are absent).
    init(config: WhisperConfig, read: (String, UnsafeMutablePointer<Float>, Int) throws -> Bool) rethrows {
        let slots = Self.slots(config)
        var offsets: [Int] = [], total = 0
        for slot in slots {
            offsets.append(total)
            total += (slot.reduce(0) { $0 + $1.count } + 15) / 16 * 16
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(total, 1) * 4, alignment: 64)
        let base = raw.bindMemory(to: Float.self, capacity: Swift.max(total, 1))
        do {
            var scratch: [Float] = []   // a convolution weight as stored, [out, in, 3], for the tap-major copy
            for (slot, start) in zip(slots, offsets) {
                var at = base + start
                for piece in slot {
                    switch piece {
                    case let .copy(name, n), let .copyOrZeros(name, n):
                        if try !read(name, at, n) { at.update(repeating: 0, count: n) }
                    case let .tapMajor(name, outputs, inputs):
                        let n = piece.count
                        if scratch.count < n { scratch = [Float](repeating: 0, count: n) }
                        let found = try scratch.withUnsafeMutableBufferPointer { src in
                            let src = src.baseAddress!
                            guard try read(name, src, n) else { return false }
                            for o in 0..<outputs { for i in 0..<inputs { for j in 0..<3 {
                                at[(o * 3 + j) * inputs + i] = src[(o * inputs + i) * 3 + j]
                            } } }
                            return true
                        }
                        if !found { at.update(repeating: 0, count: n) }
                    }
                    at += piece.count
                }
                let end = base + start + (slot.reduce(0) { $0 + $1.count } + 15) / 16 * 16
                at.update(repeating: 0, count: end - at)   // the padding up to the next 64-byte boundary
            }
        } catch {
            base.deallocate()
            throw error
        }
        self.base = base
        self.offsets = offsets
        count = total
    }

    deinit { base.deallocate() }

    /// The whole store, padding included (for tests that compare two loads bit for bit).
    var contents: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: base, count: count) }

    /// The `i`-th tensor.
    subscript(_ i: Int) -> UnsafePointer<Float> { UnsafePointer(base + offsets[i]) }
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
    let h = Scratch()        // [T, d] conv1 output; later [T', d] the last block's output before ln_post
    let x = Scratch()        // [T', d] residual stream after a block's attention
    let ln = Scratch()       // [threads, T', d] LayerNorm output, one copy per thread
    let qkv = Scratch()      // [T', 3d]
    let scores = Scratch()   // [threads, T', T'] one head's attention per thread
    let rowScale = Scratch() // [threads, T'] one head's inverse softmax sums per thread
    let attn = Scratch()     // [T', d] concatenated heads
    let mlp = Scratch()      // [T', 4d]

    init(config: WhisperConfig) {
        self.config = config
        frontEnd = WhisperLogMel(nMels: config.nMels)
    }

    /// Room for a clip of `t` mel frames, encoded on `threads` threads.
    func reserve(melFrames t: Int, threads: Int = 1) {
        let d = config.nState, t2 = (t - 1) / 2 + 1
        mel.reserve(t * config.nMels)
        col.reserve(t * 3 * Swift.max(config.nMels, d))
        h.reserve(t * d)
        x.reserve(t2 * d)
        ln.reserve(threads * t2 * d)
        qkv.reserve(t2 * 3 * d)
        scores.reserve(threads * t2 * t2)
        rowScale.reserve(threads * t2)
        attn.reserve(t2 * d)
        mlp.reserve(t2 * 4 * d)
    }

}
