// Lossy codec round trips (encode to a file through libsndfile, decode it back) at a chosen bit
// rate: what a clip sounds like after a messaging app or a low-rate stream has carried it.
import Foundation

/// A lossy codec libsndfile writes, with the bit rates its compression level gives.
public enum LossyCodec: String, Sendable, Hashable, Codable, CaseIterable {
    /// MPEG-1/2 layer III (LAME through libsndfile), constant bit rate.
    case mp3
    /// Opus in Ogg, constant bit rate; the encoder takes 8, 12, 16, 24 or 48 kHz only.
    case opus

    /// The default bit rate in kbit/s for augmentation: 32 for MP3, 16 for Opus (a voice message).
    public var defaultKbps: Int { self == .mp3 ? 32 : 16 }

    /// Bit rates (kbit/s) this codec accepts here: MP3 8...160 (the MPEG-2 range at 16-24 kHz),
    /// Opus 6...256.
    public var kbpsRange: ClosedRange<Int> { self == .mp3 ? 8...160 : 6...256 }

    /// The file format.
    public var format: AudioFileFormat { self == .mp3 ? .mp3 : .oggOpus }

    /// The rate the clip is encoded at, for a clip at `sampleRate`: the clip's own where the codec
    /// takes it, otherwise the next rate up that it takes (24 kHz for 22050 Hz; at most 48 kHz).
    public func encodingRate(for sampleRate: Int) -> Int {
        let rates = self == .mp3 ? [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000]
                                 : [8000, 12000, 16000, 24000, 48000]
        return rates.first { $0 >= sampleRate } ?? 48000
    }

    /// libsndfile 1.2's compression level (0...1) for `kbps` at `sampleRate`. libsndfile maps the
    /// level linearly onto a bit-rate range: MP3 `160 - level * 152` kbit/s at 16-31 kHz (MPEG-2),
    /// `320 - level * 288` at 32 kHz and up (MPEG-1), `64 - level * 56` below 16 kHz (MPEG-2.5);
    /// Opus `6 + (1 - level) * 250` kbit/s. (Measured here from file sizes: 32.2 kbit/s for MP3 at
    /// level 0.842 and 22050 Hz, 30.8 kbit/s for Opus at level 0.9.) Out-of-range rates are clamped.
    public func compressionLevel(kbps: Int, sampleRate: Int) -> Double {
        let level: Double
        switch self {
        case .mp3:
            let (top, bottom): (Double, Double) = sampleRate >= 32000 ? (320, 32) : sampleRate >= 16000 ? (160, 8) : (64, 8)
            level = (top - Double(kbps)) / (top - bottom)
        case .opus:
            level = 1 - (Double(kbps) - 6) / 250
        }
        return min(1, max(0, level))
    }

    /// Samples LAME (encoder, 576) and mpg123 (decoder, 529) delay the signal by when the decoder
    /// does not trim them (libsndfile 1.2 trims them at 48 kbit/s and up only).
    static let mp3Delay = 1105
}

/// Encodes a clip with a lossy codec at a low bit rate through a temporary file and decodes it.
public enum CodecRoundTrip {
    /// `x` (mono, `sampleRate` Hz) after an encode/decode round trip through `codec` at `kbps`
    /// kbit/s, at `sampleRate` again and exactly `x.count` samples long: resampled (libsoxr) to
    /// ``LossyCodec/encodingRate(for:)`` and back where needed, the codec's delay removed (MP3:
    /// 1105 samples when the decoder leaves them), zeros appended or the tail cut to the length.
    /// Deterministic: the encoders use no randomness. An empty clip is returned as it is.
    ///
    /// - Throws: `AudioError` if the temporary file cannot be written or read, or the installed
    ///   libsndfile cannot write the codec.
    public static func apply(_ x: [Float], sampleRate: Int, codec: LossyCodec, kbps: Int) throws -> [Float] {
        guard !x.isEmpty else { return x }
        guard sampleRate > 0 else { throw AudioError.invalidOptions(reason: "sample rate \(sampleRate) must be positive") }
        let rate = codec.encodingRate(for: sampleRate)
        let input = try Resampler.resample(x, from: sampleRate, to: rate)
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ser-codec-\(UUID().uuidString).\(codec == .mp3 ? "mp3" : "opus")")
        defer { try? FileManager.default.removeItem(at: url) }
        // Integer-encoded codecs clip anyway; clip here so both codecs see the same input.
        let clipped = input.map { min(1, max(-1, $0)) }
        try AudioEncoder.write(clipped, sampleRate: rate, format: codec.format,
                               compressionLevel: codec.compressionLevel(kbps: kbps, sampleRate: rate), to: url)
        var y = try decodeAll(url, channels: 1)
        if codec == .mp3, y.count >= input.count + LossyCodec.mp3Delay { y.removeFirst(LossyCodec.mp3Delay) }
        if y.count > input.count { y.removeLast(y.count - input.count) }
        if y.count < input.count { y += [Float](repeating: 0, count: input.count - y.count) }
        var out = try Resampler.resample(y, from: rate, to: sampleRate)
        if out.count > x.count { out.removeLast(out.count - x.count) }
        if out.count < x.count { out += [Float](repeating: 0, count: x.count - out.count) }
        return out
    }

    /// Every frame libsndfile decodes from `url` (mono). Not ``AudioDecoder``: at low bit rates the
    /// MP3 header's frame count (LAME's Xing tag) exceeds what mpg123 decodes by a few hundred
    /// frames, which the decoder rightly calls truncation in a user's file; here the file is ours.
    static func decodeAll(_ url: URL, channels: Int) throws -> [Float] {
        let file = try SoundFile.open(url: url)
        guard file.info.channels == Int32(channels) else {
            throw AudioError.notAudio(path: url.path, reason: "\(file.info.channels) channels decoded, \(channels) written")
        }
        var out: [Float] = []
        var block = [Float](repeating: 0, count: 8192)                 // [8192] frames per read
        while true {
            let n = block.withUnsafeMutableBufferPointer { file.read(into: $0.baseAddress!, frames: $0.count) }
            if n <= 0 { break }
            out += block[0..<n]
        }
        if let message = file.errorMessage { throw AudioError.io(path: url.path, reason: message) }
        return out
    }
}
