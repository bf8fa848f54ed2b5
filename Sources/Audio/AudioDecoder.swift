// Decoding pipeline: decoder blocks (Swift WAV / libFLAC / libsndfile) -> finiteness check -> mono mean
// -> streaming soxr HQ.
import Foundation

/// Decodes audio files (WAV incl. WAVE_FORMAT_EXTENSIBLE, FLAC, OGG/Vorbis, OGG/Opus, MP3 and the
/// other formats of the installed libsndfile) to mono Float samples at a chosen rate, matching
/// `librosa.load(path, sr=sampleRate, mono=True)` (librosa 0.11: soundfile, mean of channels,
/// soxr HQ, length fixed to `ceil(n * sr / native)`).
///
/// Plain PCM/float WAV and native FLAC files are read by direct decoders (Swift, libFLAC) whose
/// samples equal libsndfile's bit for bit; every other file by libsndfile (``AudioBackend``).
/// Files are read in blocks of ``AudioOptions/blockFrames`` frames; each block is checked for
/// NaN/Inf, mixed to mono and resampled by one streaming ``Resampler``, so ``stream(contentsOf:options:_:)``
/// never holds more than a block of the file. ``load(contentsOf:options:)`` collects the stream.
///
/// Each call owns its libsndfile handle and soxr converter, so calls may run concurrently on
/// different files (libsndfile's global error slot, read only when opening fails, is the one
/// shared state: under a race a failure could be described with another file's reason).
///
/// ```swift
/// let clip = try AudioDecoder.load(contentsOf: URL(fileURLWithPath: "a.flac"))   // 22050 Hz mono
/// let info = try AudioDecoder.stream(contentsOf: url, options: .init(sampleRate: 16000)) { block in
///     consume(block)   // UnsafeBufferPointer<Float>, valid only during the call
/// }
/// ```
public enum AudioDecoder {
    /// The header of a file, without decoding it.
    public static func info(contentsOf url: URL) throws -> AudioInfo {
        try SoundFile.open(url: url).audioInfo
    }

    /// The header of an audio file held in memory; `name` is used in errors.
    public static func info(data: Data, name: String = "<memory>") throws -> AudioInfo {
        try SoundFile.open(data: data, name: name).audioInfo
    }

    /// Decodes a whole file to a mono clip (see ``AudioBackend`` for the decoder, then soxr HQ to
    /// `options.sampleRate`).
    public static func load(contentsOf url: URL, options: AudioOptions = .init()) throws -> AudioClip {
        return try collect(try PCMSourceOpener.openChecked(url: url, backend: options.backend), options: options)
    }

    /// Decodes an audio file held in memory (an HTTP upload, stdin); `name` is used in errors.
    public static func load(data: Data, name: String = "<memory>", options: AudioOptions = .init()) throws -> AudioClip {
        return try collect(try PCMSourceOpener.openChecked(data: data, name: name, backend: options.backend), options: options)
    }

    /// Decodes a file block by block, calling `body` with consecutive mono samples at the output
    /// rate (the buffer is only valid during the call). Returns the header with `frames` set to
    /// the frames actually decoded. Errors found late (truncation, NaN) are thrown after the
    /// blocks before them were delivered.
    @discardableResult
    public static func stream(contentsOf url: URL, options: AudioOptions = .init(),
                              _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws -> AudioInfo {
        return try run(try PCMSourceOpener.openChecked(url: url, backend: options.backend), options: options, body)
    }

    /// ``stream(contentsOf:options:_:)`` for bytes in memory; `name` is used in errors.
    @discardableResult
    public static func stream(data: Data, name: String = "<memory>", options: AudioOptions = .init(),
                              _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws -> AudioInfo {
        return try run(try PCMSourceOpener.openChecked(data: data, name: name, backend: options.backend), options: options, body)
    }

    /// Decodes every channel at the file's own rate, interleaved [frames * channels], before the
    /// mono mix and resampling, with the same checks and errors as ``load(contentsOf:options:)``.
    /// For comparing decoders (`benchmarks/decode/bit_identity.sh`).
    public static func loadInterleaved(contentsOf url: URL, backend: AudioBackend = .automatic) throws
        -> (info: AudioInfo, samples: [Float]) {
        let options = AudioOptions(sampleRate: nil, backend: backend)
        let opened = try PCMSourceOpener.openChecked(url: url, backend: backend)
        var samples: [Float] = []
        if let frames = opened.source.headerFrames {
            samples.reserveCapacity(Int(min(frames, maxReservedFrames)) * max(1, min(opened.source.channels, AudioLimits.channels.upperBound)))
        }
        let info = try run(opened, options: options, interleaved: true) { samples.append(contentsOf: $0) }
        return (info, samples)
    }

    /// Which decoder ``AudioBackend/automatic`` picks for a file: "Swift WAV reader", "libFLAC",
    /// or "libsndfile" (every other file, and WAV/FLAC files the direct readers decline).
    public static func decoderName(contentsOf url: URL) throws -> String {
        switch try PCMSourceOpener.open(url: url, backend: .automatic).0 {
        case is WAVReader: return "Swift WAV reader"
        case is FLACReader: return "libFLAC"
        default: return "libsndfile"
        }
    }

    // MARK: - Pipeline

    /// Most frames reserved up front from a header's length (2^22, about 4 minutes at 16 kHz):
    /// longer clips grow the buffer as they decode, so a header that overstates the length
    /// cannot reserve memory the file does not fill.
    static let maxReservedFrames: Int64 = 1 << 22

    private static func collect(_ opened: OpenedSource, options: AudioOptions) throws -> AudioClip {
        var samples: [Float] = []
        let file = opened.source
        let rate = file.sampleRate
        if let frames = file.headerFrames.map({ min($0, maxReservedFrames) }), AudioLimits.sampleRates.contains(rate),
           let target = options.sampleRate ?? Optional(rate), AudioLimits.sampleRates.contains(target) {
            samples.reserveCapacity(target == rate ? Int(frames)
                                    : Resampler.outputLength(inputFrames: Int(frames), from: rate, to: target))
        }
        let info = try run(opened, options: options) { samples.append(contentsOf: $0) }
        return AudioClip(samples: samples, sampleRate: options.sampleRate ?? info.sampleRate,
                         sourceSampleRate: info.sampleRate, sourceChannels: info.channels)
    }

    private static func validate(_ options: AudioOptions) throws {
        guard options.blockFrames > 0 else {
            throw AudioError.invalidOptions(reason: "blockFrames must be positive (got \(options.blockFrames))")
        }
        if let sr = options.sampleRate, !AudioLimits.sampleRates.contains(sr) {
            throw AudioError.invalidOptions(
                reason: "sampleRate \(sr) Hz is out of range (allowed: \(AudioLimits.text(AudioLimits.sampleRates, unit: "Hz")))")
        }
        if let limit = options.maxDuration, !(limit >= 0) {
            throw AudioError.invalidOptions(reason: "maxDuration must be a non-negative number (got \(limit))")
        }
    }

    /// Header checks before anything is allocated: rate, channels and (WAV) bits per sample in
    /// ``AudioLimits``, declared-vs-present data (WAV, and the containers ``DeclaredLength``
    /// reads), an Ogg stream's end, zero frames, duration limit.
    private static func checkHeader(_ opened: OpenedSource, options: AudioOptions) throws {
        let file = opened.source, wav = opened.wav
        let path = file.path
        let rate = file.sampleRate, channels = file.channels
        guard AudioLimits.sampleRates.contains(rate) else {
            throw AudioError.outOfRange(path: path, field: "sample rate", value: "\(rate) Hz",
                                        allowed: AudioLimits.text(AudioLimits.sampleRates, unit: "Hz"))
        }
        guard AudioLimits.channels.contains(channels) else {
            throw AudioError.outOfRange(path: path, field: "channel count", value: "\(channels)",
                                        allowed: AudioLimits.text(AudioLimits.channels))
        }
        if file.isWAV, let cut = wav?.truncation {
            throw AudioError.truncated(path: path, expectedFrames: cut.declared, availableFrames: cut.present)
        }
        if let d = opened.declared, let present = d.presentFrames, present < d.frames {
            throw AudioError.truncated(path: path, expectedFrames: d.frames, availableFrames: present)
        }
        if let why = opened.oggProblem { throw AudioError.truncatedStream(path: path, reason: why) }
        if let frames = file.headerFrames, opened.bytes > 0, frames / AudioLimits.maxFramesPerByte > opened.bytes {
            throw AudioError.outOfRange(path: path, field: "declared frame count", value: "\(frames)",
                                        allowed: "at most \(AudioLimits.maxFramesPerByte) per byte of the file (\(opened.bytes) bytes)")
        }
        if file.headerFrames == 0 { throw AudioError.empty(path: path) }
        if let limit = options.maxDuration, let frames = file.headerFrames {
            let d = Double(frames) / Double(file.sampleRate)
            if d > limit { throw AudioError.tooLong(path: path, duration: d, limit: limit) }
        }
    }

    /// The pipeline; `interleaved` hands `body` the decoded frames of every channel instead of
    /// the mono mix (only with `options.sampleRate == nil`).
    private static func run(_ opened: OpenedSource, options: AudioOptions, interleaved keepChannels: Bool = false,
                            _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws -> AudioInfo {
        try validate(options)
        let file = opened.source
        let path = file.path
        let channels = file.channels
        let rate = file.sampleRate
        guard channels > 0, rate > 0 else {
            throw AudioError.notAudio(path: path, reason: "header declares \(channels) channels at \(rate) Hz")
        }
        try checkHeader(opened, options: options)

        let resampler: Resampler? = keepChannels ? nil : try options.sampleRate.flatMap { $0 == rate ? nil : try Resampler(from: rate, to: $0) }
        let block = options.blockFrames
        let interleaved = UnsafeMutableBufferPointer<Float>.allocate(capacity: block * channels)
        defer { interleaved.deallocate() }
        let mono = channels == 1 ? interleaved : UnsafeMutableBufferPointer<Float>.allocate(capacity: block)
        defer { if channels != 1 { mono.deallocate() } }
        var out: [Float] = []
        var decoded: Int64 = 0

        while true {
            let n = try file.read(into: interleaved.baseAddress!, frames: block)
            if n <= 0 { break }
            if let bad = firstOutOfRange(UnsafeBufferPointer(rebasing: interleaved[0..<(n * channels)])) {
                let v = interleaved[bad]
                if !v.isFinite {
                    throw AudioError.nonFiniteSample(path: path, frame: decoded + Int64(bad / channels), channel: bad % channels)
                }
                throw AudioError.outOfRange(path: path, field: "sample value", value: "\(v) at frame \(decoded + Int64(bad / channels)), channel \(bad % channels)",
                                            allowed: "magnitude ≤ \(Int(AudioLimits.maxSampleMagnitude))")
            }
            decoded += Int64(n)
            if let limit = options.maxDuration, Double(decoded) / Double(rate) > limit {
                throw AudioError.tooLong(path: path, duration: Double(decoded) / Double(rate), limit: limit)
            }
            if keepChannels {
                try body(UnsafeBufferPointer(rebasing: interleaved[0..<(n * channels)]))
                continue
            }
            if channels > 1 { mixToMono(interleaved, channels: channels, frames: n, into: mono) }
            let monoBlock = UnsafeBufferPointer(rebasing: mono[0..<n])
            if let resampler {
                try resampler.process(monoBlock, into: &out)
                if !out.isEmpty { try out.withUnsafeBufferPointer(body) }
            } else {
                try body(monoBlock)
            }
        }
        let header = file.headerFrames
        if let message = file.errorMessage {
            if let h = header, decoded < h {
                throw AudioError.truncated(path: path, expectedFrames: h, availableFrames: decoded)
            }
            throw AudioError.io(path: path, reason: "decoding failed after \(decoded) frames: \(message)")
        }
        if let h = header, decoded < h {
            throw AudioError.truncated(path: path, expectedFrames: h, availableFrames: decoded)
        }
        // libsndfile shortens its own count to the frames present; the container's count stays.
        if let d = opened.declared, decoded < d.frames {
            throw AudioError.truncated(path: path, expectedFrames: d.frames, availableFrames: decoded)
        }
        if decoded == 0 { throw AudioError.empty(path: path) }
        if let resampler {
            try resampler.finish(into: &out)
            if !out.isEmpty { try out.withUnsafeBufferPointer(body) }
        }
        var info = file.audioInfo
        info.frames = decoded
        return info
    }

    /// Index of the first NaN or infinite value.
    static func firstNonFinite(_ x: UnsafeBufferPointer<Float>) -> Int? {
        firstAbove(x, limitBits: Float.infinity.bitPattern)
    }

    /// Index of the first NaN or infinite value of `x` (one vectorised pass when there is none).
    public static func firstNonFinite(_ x: [Float]) -> Int? {
        x.withUnsafeBufferPointer { firstNonFinite($0) }
    }

    /// Index of the first value that is NaN, infinite or larger in magnitude than
    /// ``AudioLimits/maxSampleMagnitude``.
    static func firstOutOfRange(_ x: UnsafeBufferPointer<Float>) -> Int? {
        firstAbove(x, limitBits: AudioLimits.maxSampleMagnitude.bitPattern &+ 1)
    }

    /// Index of the first value whose |bit pattern| is at least `limitBits`. For non-negative
    /// floats the bit patterns order as the values do, and NaN and infinity lie above every
    /// finite value, so one integer maximum tests magnitude and finiteness together.
    private static func firstAbove(_ x: UnsafeBufferPointer<Float>, limitBits: UInt32) -> Int? {
        // An integer maximum has no ordering constraint, so the loop vectorises (a float sum
        // would be one long dependency chain, about 4 cycles per sample).
        var m: UInt32 = 0
        for v in x { m = Swift.max(m, v.bitPattern & 0x7fff_ffff) }
        if m < limitBits { return nil }
        return x.firstIndex { $0.bitPattern & 0x7fff_ffff >= limitBits }
    }

    /// Bits per sample of PCM and float WAV against ``AudioLimits`` and the block align, checked
    /// when the file is opened (before libsndfile reads it); other
    /// codecs (ADPCM, GSM, µ-law…) are left to libsndfile, which knows their layouts.
    static func checkBits(_ wav: WAVHeader, path: String) throws {
        guard let tag = wav.effectiveFormatTag, wav.channels > 0 else { return }
        let bits = wav.bitsPerSample
        switch tag {
        case 1:
            guard AudioLimits.pcmBits.contains(bits) else {
                throw AudioError.outOfRange(path: path, field: "bits per sample", value: "\(bits)",
                                            allowed: AudioLimits.text(AudioLimits.pcmBits) + " for PCM")
            }
        case 3:
            guard AudioLimits.floatBits.contains(bits) else {
                throw AudioError.outOfRange(path: path, field: "bits per sample", value: "\(bits)", allowed: "32 or 64 for IEEE float")
            }
        default: return
        }
        let expected = wav.channels * ((bits + 7) / 8)
        guard wav.blockAlign == expected else {
            throw AudioError.outOfRange(path: path, field: "block align", value: "\(wav.blockAlign) bytes",
                                        allowed: "\(expected) (\(wav.channels) channels × \((bits + 7) / 8) bytes for \(bits) bits)")
        }
        if wav.formatTag == 0xFFFE, wav.validBits > bits {
            throw AudioError.outOfRange(path: path, field: "valid bits per sample", value: "\(wav.validBits)", allowed: "at most \(bits) (the container size)")
        }
    }

    /// Mean of the channels, as `librosa.to_mono` (float32 sum in channel order, then divide).
    static func mixToMono(_ x: UnsafeMutableBufferPointer<Float>, channels: Int, frames: Int,
                          into mono: UnsafeMutableBufferPointer<Float>) {
        let c = Float(channels)
        if channels == 2 {
            for i in 0..<frames { mono[i] = (x[2 * i] + x[2 * i + 1]) / 2 }
            return
        }
        for i in 0..<frames {
            var s: Float = 0
            let base = i * channels
            for ch in 0..<channels { s += x[base + ch] }
            mono[i] = s / c
        }
    }
}

