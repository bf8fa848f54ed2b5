import Foundation
import SERAudio
import SERCore
import SERFeatures

/// A clip's fused feature matrix `[C, T]` for any ``FeatureConfig``: the hand-made blocks of the
/// paper's eq. 1 (through ``FeatureExtractor``) and the `encoder` block (hidden states of a
/// pretrained Whisper encoder), stacked in `config.blocks` order.
///
/// This is the one place where a decoded clip becomes features: the feature cache of training and
/// evaluation, `ser features`, `ser predict` and the service all call it.
///
/// Frames:
/// - with any hand-made block, `T = 1 + n / hop` (librosa's frames at `config.sampleRate`); the
///   encoder block gives each frame the encoder frame (20 ms) nearest to the frame's centre time;
/// - with the encoder block alone, `T` is the encoder's own frame count (50 per second).
///
/// The encoder runs on 16 kHz audio: clips at another `config.sampleRate` are resampled first
/// (soxr HQ). Clips longer than the encoder's 30 s context are encoded in consecutive 30 s pieces;
/// clips shorter than one encoder frame are padded with silence to one frame.
///
/// Not thread-safe (it owns scratch buffers): use one per thread. The encoder's weights are shared
/// by all featurizers of a process through ``EncoderStore``.
public final class ClipFeaturizer {
    /// The settings.
    public let config: FeatureConfig
    private let handmade: FeatureExtractor?
    private let encoder: WhisperEncoder?
    private let workspace: WhisperWorkspace?
    private var handmadeOut = Tensor(shape: [0, 0])
    /// First row of each hand-made block in the extractor's matrix (which stacks them in the same
    /// relative order).
    private let handmadeRows: [FeatureBlock: Int]

    /// A featurizer for `config` (validated first). Loads the encoder's weights on first use in
    /// this process.
    ///
    /// - Throws: ``FeatureConfigError`` for settings out of range, ``EncoderError`` when the
    ///   encoder's weights are not installed or do not match `config.encoder`.
    public init(config: FeatureConfig, store: EncoderStore = .shared) throws {
        try config.validate()
        self.config = config
        let hm = config.handmadeOnly
        handmade = config.hasHandmadeBlocks ? FeatureExtractor(config: hm) : nil
        var rows: [FeatureBlock: Int] = [:], row = 0
        for b in hm.blocks { rows[b] = row; row += hm.channels(of: b) }
        handmadeRows = rows
        if config.blocks.contains(.encoder), let e = config.encoder {
            let enc = try store.encoder(e.model)
            guard enc.config.nState == e.width, enc.config.nLayer + 1 == e.states else {
                throw EncoderError.mismatch(model: e.model, reason: "the installed weights have \(enc.config.nLayer + 1) "
                    + "hidden states of width \(enc.config.nState); the feature settings expect \(e.states) of width \(e.width)")
            }
            encoder = enc
            workspace = enc.makeWorkspace()
        } else {
            encoder = nil
            workspace = nil
        }
    }

    /// Frames of the matrix for a clip of `n` samples at `config.sampleRate`.
    public func frameCount(samples n: Int) -> Int {
        if handmade != nil { return config.frameCount(samples: n) }
        let n16 = config.sampleRate == WhisperLogMel.sampleRate
            ? n : Resampler.outputLength(inputFrames: n, from: config.sampleRate, to: WhisperLogMel.sampleRate)
        return Self.encoderFrames(samples16k: n16, maximum: encoder?.maximumSamples ?? Int.max)
    }

    /// The fused `[config.channels, T]` matrix of a mono clip at `config.sampleRate`.
    ///
    /// Every value is finite: a clip whose features are not (samples so large that a power
    /// overflows, which decoded files cannot reach: ``SERAudio/AudioLimits/maxSampleMagnitude``)
    /// is refused with ``EncoderError/nonFiniteFeatures(channel:frame:)``.
    /// - Throws: ``EncoderError`` or ``AudioError`` when the encoder block cannot be computed.
    public func extract(_ signal: [Float]) throws -> Tensor {
        let signal = config.loudness.map { Loudness.normalized(signal, sampleRate: config.sampleRate, target: $0) } ?? signal
        let x = try fusedFeatures(signal)
        let t = x.shape.count == 2 ? x.shape[1] : 0
        if t > 0, let bad = AudioDecoder.firstNonFinite(x.data) {
            throw EncoderError.nonFiniteFeatures(channel: bad / t, frame: bad % t)
        }
        return x
    }

    /// ``extract(_:)`` before its finiteness check.
    private func fusedFeatures(_ signal: [Float]) throws -> Tensor {
        let channels = config.channels
        guard let encoder, let e = config.encoder else {
            // Hand-made blocks only: the extractor's matrix is the answer.
            return handmade?.extract(signal) ?? Tensor(shape: [channels, 0])
        }
        let states = try hiddenStates(signal, encoder: encoder)   // [T', d] after layer selection
        let t2 = states.shape[0], d = e.channels
        var t = t2
        if let handmade {
            handmade.extract(signal, into: &handmadeOut)
            t = handmadeOut.shape[1]
        }
        var out = Tensor(shape: [channels, t], data: [Float](repeating: 0, count: channels * t))
        // Encoder frame for each output frame: nearest by centre time (hand-made frame i is centred
        // at i * hop / sr seconds, encoder frame j at j * 20 ms).
        let framesPerSecond = Double(WhisperLogMel.sampleRate) / Double(2 * WhisperLogMel.hopLength)
        let secondsPerFrame = Double(config.hopLength) / Double(config.sampleRate)
        out.data.withUnsafeMutableBufferPointer { o in
            var row = 0
            for block in config.blocks {
                let dst = o.baseAddress! + row * t
                let rows = config.channels(of: block)
                if block == .encoder {
                    // Transposed in tiles of 16 frames: 16 source rows are read across, each output row
                    // is written 16 values at a time (not one value per cache line).
                    let source = (0..<t).map { i in                            // (t) first value of frame i's row
                        d * (handmade == nil ? i : min(t2 - 1, Int((Double(i) * secondsPerFrame * framesPerSecond).rounded())))
                    }
                    states.data.withUnsafeBufferPointer { s in
                        var i0 = 0
                        while i0 < t {
                            let i1 = min(t, i0 + 16)
                            for c in 0..<d {
                                let row = dst + c * t
                                for i in i0..<i1 { row[i] = s[source[i] + c] }
                            }
                            i0 = i1
                        }
                    }
                } else {
                    let hmRow = handmadeRows[block] ?? 0
                    handmadeOut.data.withUnsafeBufferPointer { h in
                        dst.update(from: h.baseAddress! + hmRow * t, count: rows * t)
                    }
                }
                row += rows
            }
        }
        return out
    }

    /// The selected hidden state(s) of the whole clip, `[T', d]`, encoding 30 s pieces in turn.
    private func hiddenStates(_ signal: [Float], encoder: WhisperEncoder) throws -> Tensor {
        guard let e = config.encoder, let workspace else { return Tensor(shape: [0, 0]) }
        var x16 = config.sampleRate == WhisperLogMel.sampleRate
            ? signal : try Resampler.resample(signal, from: config.sampleRate, to: WhisperLogMel.sampleRate)
        if x16.count < WhisperLogMel.minimumSamples {
            x16 += [Float](repeating: 0, count: WhisperLogMel.minimumSamples - x16.count)
        }
        // Pieces of a whole number of encoder frames (320 samples each), at most 30 s.
        let piece = (encoder.maximumSamples / 320) * 320
        if x16.count <= piece {                            // one piece (most clips): no copies
            return Self.select(try encoder.hiddenStates(samples16k: x16, workspace: workspace), e.layer)
        }
        var frames: [Float] = []
        var total = 0
        var start = 0
        while start < x16.count {
            let end = min(x16.count, start + piece)
            guard end - start >= WhisperLogMel.minimumSamples else { break }   // a sliver (< 13 ms) after the last full piece
            let chunk = Array(x16[start..<end])
            let states = try encoder.hiddenStates(samples16k: chunk, workspace: workspace)
            let selected = Self.select(states, e.layer)
            frames += selected.data
            total += selected.shape[0]
            start = end
        }
        return Tensor(shape: [total, e.channels], data: frames)
    }

    /// `x` rounded to the nearest Float16, clamped to ±65504 (the largest finite half); NaN and
    /// infinity stay as they are (refused by ``extract(_:)``'s finiteness check).
    @inline(__always) static func half(_ x: Float) -> Float {
        guard x.isFinite else { return x }
        return Float(Float16(Swift.min(Swift.max(x, -65504), 65504)))
    }

    /// Encoder frames for `n` samples at 16 kHz, encoded in 30 s pieces as ``extract(_:)`` does.
    static func encoderFrames(samples16k n: Int, maximum: Int) -> Int {
        let piece = (maximum / 320) * 320
        var total = 0, start = 0
        let n = max(n, WhisperLogMel.minimumSamples)
        while start < n {
            let end = min(n, start + piece)
            guard end - start >= WhisperLogMel.minimumSamples else { break }
            total += WhisperEncoder.frames(samples: end - start)
            start = end
        }
        return total
    }

    /// One `[T', d]` tensor from the encoder's `layers + 1` hidden states (`[T', L * d]` for
    /// `weighted`: frame `j` holds state 0's `d` values, then state 1's, ..., each rounded to the
    /// nearest Float16 and clamped to its finite range).
    static func select(_ states: [Tensor], _ layer: EncoderLayerSelection) -> Tensor {
        switch layer {
        case .weighted:
            guard let first = states.first, first.shape.count == 2 else { return Tensor(shape: [0, 0]) }
            let (t, d, L) = (first.shape[0], first.shape[1], states.count)
            var out = [Float](repeating: 0, count: t * L * d)          // (T', L, d)
            out.withUnsafeMutableBufferPointer { o in
                for (l, s) in states.enumerated() {
                    s.data.withUnsafeBufferPointer { src in
                        for j in 0..<t {
                            let dst = o.baseAddress! + (j * L + l) * d, row = src.baseAddress! + j * d
                            for c in 0..<d { dst[c] = Self.half(row[c]) }
                        }
                    }
                }
            }
            return Tensor(shape: [t, L * d], data: out)
        case .last: return states[states.count - 1]
        case .index(let i): return states[min(i, states.count - 1)]
        case .mean:
            // ((s0 + s1) + ...) / L element by element, in one new buffer.
            guard let first = states.first, !first.data.isEmpty else { return states.first ?? Tensor(shape: [0, 0]) }
            let n = first.data.count
            let w = 1 / Float(states.count)
            let mean = [Float](unsafeUninitializedCapacity: n) { sum, count in
                first.data.withUnsafeBufferPointer { sum.baseAddress!.initialize(from: $0.baseAddress!, count: n) }
                for s in states.dropFirst() {
                    s.data.withUnsafeBufferPointer { x in for k in 0..<Swift.min(n, x.count) { sum[k] += x[k] } }
                }
                for k in 0..<n { sum[k] *= w }
                count = n
            }
            return Tensor(shape: first.shape, data: mean)
        }
    }
}

/// The loaded encoders of a process, by model name or path: each file is read once and shared by
/// every ``ClipFeaturizer`` (the weights are immutable).
public final class EncoderStore: @unchecked Sendable {
    /// The process's store, reading installed models from ``EncoderInstaller/defaultCache(environment:)``.
    public static let shared = EncoderStore()

    private let lock = NSLock()
    private var loaded: [String: WhisperEncoder] = [:]
    private let cache: URL

    /// A store reading catalogue names from `cache`.
    public init(cache: URL = EncoderInstaller.defaultCache()) { self.cache = cache }

    /// Where `model` ("base", "tiny.en" or a path to a weights file) is read from.
    public func weightsURL(_ model: String) -> URL {
        if model.contains("/") || model.hasSuffix(".safetensors") || model.hasSuffix(".bin") {
            return URL(fileURLWithPath: model)
        }
        return EncoderInstaller.weightsPath(model, cache: cache)
    }

    /// The encoder `model`, loaded on first use.
    ///
    /// - Throws: ``EncoderError/notInstalled(model:path:)`` when a catalogue model has not been
    ///   installed (`ser encoder install NAME`); the loader's errors for a damaged file.
    public func encoder(_ model: String) throws -> WhisperEncoder {
        lock.lock(); defer { lock.unlock() }
        if let e = loaded[model] { return e }
        let url = weightsURL(model)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw EncoderError.notInstalled(model: model, path: url.path)
        }
        let e = try WhisperEncoder(contentsOf: url)
        loaded[model] = e
        return e
    }

    /// The shape of `model`'s encoder (loads it): for filling in ``EncoderBlockConfig``.
    public func blockConfig(_ model: String, layer: EncoderLayerSelection) throws -> EncoderBlockConfig {
        let c = try encoder(model).config
        return EncoderBlockConfig(model: model, width: c.nState, states: c.nLayer + 1, layer: layer)
    }
}
