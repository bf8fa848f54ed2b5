import Foundation

/// Audio containers told apart by their first bytes (no decoding): used where a file's kind matters
/// before or without decoding it, e.g. a corpus scan (content vs extension) and the service (damaged
/// audio, 400, vs an unknown format, 415).
public enum AudioContainer: String, Sendable, CaseIterable {
    /// RIFF/WAVE (also RIFX, RF64 and Sony Wave64's `riff`).
    case wav
    /// Native FLAC.
    case flac
    /// Ogg (Vorbis, Opus, FLAC).
    case ogg
    /// MPEG audio: an ID3v2 tag or a frame sync.
    case mp3
    /// AIFF / AIFF-C.
    case aiff

    /// How many leading bytes ``sniff(_:)`` looks at.
    public static let signatureLength = 12

    /// The container whose signature `header` (a file's first bytes; 12 suffice) starts with, if any.
    public static func sniff(_ header: Data) -> AudioContainer? {
        let b = [UInt8](header.prefix(signatureLength))
        func starts(_ s: String, at o: Int = 0) -> Bool {
            let u = Array(s.utf8)
            return b.count >= o + u.count && Array(b[o..<(o + u.count)]) == u
        }
        if starts("RIFF") || starts("RIFX") || starts("RF64") || starts("riff") { return .wav }
        if starts("fLaC") { return .flac }
        if starts("OggS") { return .ogg }
        if starts("FORM") && (starts("AIFF", at: 8) || starts("AIFC", at: 8)) { return .aiff }
        if starts("ID3") || (b.count >= 2 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0) { return .mp3 }
        return nil
    }
}
