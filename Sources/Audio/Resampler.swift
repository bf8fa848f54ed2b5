// Streaming mono resampler on libsoxr, configured as python-soxr's `quality='HQ'`, which is what
// librosa 0.11 uses for `load(sr=…)` (`resample(res_type='soxr_hq')`).
import CSoxr

/// A streaming mono sample-rate converter (libsoxr, HQ recipe, float32 in and out).
///
/// Configured exactly as python-soxr creates its converter: `soxr_io_spec(FLOAT32_I, FLOAT32_I)`,
/// `soxr_quality_spec(SOXR_HQ, 0)`, default runtime spec. Feed blocks with ``process(_:into:)``,
/// then call ``finish(into:)`` once. The total output length is fixed as `librosa.resample` fixes it:
/// `ceil(n * (to / from))` samples for `n` input samples (zeros appended or the tail cut), so
/// streaming output equals ``resample(_:from:to:)`` on the whole signal.
///
/// ```swift
/// let r = try Resampler(from: 48000, to: 22050)
/// var out: [Float] = []
/// for block in blocks { try block.withUnsafeBufferPointer { try r.process($0, into: &out) }; use(out) }
/// try r.finish(into: &out); use(out)
/// ```
public final class Resampler {
    /// Input rate in Hz.
    public let inputRate: Int
    /// Output rate in Hz.
    public let outputRate: Int
    /// `outputRate / inputRate` in double precision, as librosa computes it.
    public let ratio: Double

    /// Input samples handed to soxr per call.
    static let chunk = 16384

    private var soxr: soxr_t?
    private var inputCount: Int = 0
    private var outputCount: Int = 0
    private var finished = false

    /// Creates a converter from `from` Hz to `to` Hz.
    public convenience init(from: Int, to: Int) throws {
        guard from > 0, to > 0 else {
            throw AudioError.invalidOptions(reason: "sample rates must be positive (got \(from) -> \(to))")
        }
        try self.init(rate: Double(from), to: Double(to))
    }

    /// Creates a converter between rates that need not be whole numbers of Hz, as librosa's
    /// pitch shift resamples from `sr / 2^(-n/12)`; `inputRate` and `outputRate` report them
    /// rounded, the conversion and the output length use them exactly.
    public init(rate from: Double, to: Double) throws {
        guard from > 0, to > 0, from.isFinite, to.isFinite else {
            throw AudioError.invalidOptions(reason: "sample rates must be positive (got \(from) -> \(to))")
        }
        inputRate = Int(from.rounded())
        outputRate = Int(to.rounded())
        ratio = to / from
        var err: soxr_error_t? = nil
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        let s = soxr_create(from, to, 1, &err, &io, &quality, nil)
        if let err {
            if let s { soxr_delete(s) }
            throw AudioError.resampling(reason: String(cString: err))
        }
        guard let s else { throw AudioError.resampling(reason: "soxr_create returned no converter") }
        soxr = s
    }

    deinit { if let soxr { soxr_delete(soxr) } }

    /// The output length librosa gives `n` input samples: `int(ceil(n * (to / from)))`
    /// (computed in double precision with the same rounding as numpy).
    public static func outputLength(inputFrames n: Int, from: Int, to: Int) -> Int {
        Int((Double(n) * (Double(to) / Double(from))).rounded(.up))
    }

    /// Resamples a whole signal; the result has exactly ``outputLength(inputFrames:from:to:)``
    /// samples, matching `librosa.resample(x, orig_sr=from, target_sr=to, res_type='soxr_hq')`.
    /// Equal rates return `x` unchanged.
    public static func resample(_ x: [Float], from: Int, to: Int) throws -> [Float] {
        if from == to, from > 0 { return x }
        return try resample(x, with: Resampler(from: from, to: to))
    }

    /// Resamples a whole signal between rates that need not be whole numbers of Hz
    /// (`librosa.resample` with float `orig_sr`); the result has `ceil(n * to / from)` samples.
    public static func resample(_ x: [Float], rate from: Double, to: Double) throws -> [Float] {
        try resample(x, with: Resampler(rate: from, to: to))
    }

    private static func resample(_ x: [Float], with r: Resampler) throws -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(r.librosaLength(x.count) + 1024)
        try x.withUnsafeBufferPointer { try r.process($0, into: &out) }
        var tail: [Float] = []
        try r.finish(into: &tail)
        out.append(contentsOf: tail)
        return out
    }

    /// Feeds `input`; replaces the contents of `output` with the samples produced so far
    /// (possibly none while the filter fills). `output`'s capacity is reused across calls.
    public func process(_ input: UnsafeBufferPointer<Float>, into output: inout [Float]) throws {
        precondition(!finished, "Resampler.process called after finish")
        output.removeAll(keepingCapacity: true)
        guard input.count > 0 else { return }
        inputCount += input.count
        try run(input: input, into: &output)
        // Never emit past librosa's length for the input seen so far (soxr's delay keeps it below).
        let limit = librosaLength(inputCount)
        if outputCount + output.count > limit { output.removeLast(outputCount + output.count - limit) }
        outputCount += output.count
    }

    /// Convenience: resamples one block into a new array.
    public func process(_ input: [Float]) throws -> [Float] {
        var out: [Float] = []
        try input.withUnsafeBufferPointer { try process($0, into: &out) }
        return out
    }

    /// Flushes the filter; replaces `output` with the remaining samples, cut or zero-padded so
    /// that the total output is `ceil(inputFrames * ratio)`. Call once, after the last block.
    public func finish(into output: inout [Float]) throws {
        precondition(!finished, "Resampler.finish called twice")
        finished = true
        output.removeAll(keepingCapacity: true)
        if inputCount > 0 { try run(input: nil, into: &output) }
        let target = librosaLength(inputCount)
        let want = max(0, target - outputCount)
        if output.count > want { output.removeLast(output.count - want) }
        if output.count < want { output.append(contentsOf: repeatElement(0, count: want - output.count)) }
        outputCount += output.count
    }

    /// Convenience: flushes into a new array.
    public func finish() throws -> [Float] {
        var out: [Float] = []
        try finish(into: &out)
        return out
    }

    /// librosa's output length for `n` input samples at this converter's exact ratio:
    /// `ceil(n * ratio)`, as ``outputLength(inputFrames:from:to:)`` for whole-number rates.
    private func librosaLength(_ n: Int) -> Int { Int((Double(n) * ratio).rounded(.up)) }

    /// Input samples fed so far.
    public var inputFrames: Int { inputCount }
    /// Output samples returned so far.
    public var outputFrames: Int { outputCount }

    /// Calls soxr_process until all of `input` is consumed (or, for a flush, until soxr has
    /// nothing left), growing `output` as needed.
    private func run(input: UnsafeBufferPointer<Float>?, into output: inout [Float]) throws {
        guard let soxr else { return }
        var consumed = 0
        let total = input?.count ?? 0
        while true {
            // At most `chunk` input samples per soxr_process call: soxr copies its input into an
            // internal FIFO, which stays small (in cache, no reallocation) this way; the output
            // does not depend on how the input is split.
            let remaining = min(total - consumed, Resampler.chunk)
            let room = max(Int(Double(remaining) * ratio) + Int(soxr_delay(soxr)) + 64, 256)
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: room))
            var idone = 0
            var odone = 0
            let err: soxr_error_t? = output.withUnsafeMutableBufferPointer { out in
                let dst = out.baseAddress! + start
                if let base = input?.baseAddress {
                    return soxr_process(soxr, base + consumed, remaining, &idone, dst, room, &odone)
                }
                return soxr_process(soxr, nil, 0, nil, dst, room, &odone)
            }
            output.removeLast(room - odone)
            if let err { throw AudioError.resampling(reason: String(cString: err)) }
            consumed += idone
            if consumed >= total && odone < room { break }
            if input != nil && idone == 0 && odone == 0 { break }
        }
    }
}
