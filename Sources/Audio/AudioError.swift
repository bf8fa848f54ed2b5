import SERCore

// Errors of the audio input. Every case names the file (or the name given to in-memory bytes).

/// Why audio could not be decoded, resampled or written.
///
/// `path` is the file path, or the `name` given to ``AudioDecoder/load(data:name:options:)``.
public enum AudioError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No file at `path`.
    case fileNotFound(path: String)
    /// The bytes are not a readable audio file (unknown format, damaged header, garbage).
    case notAudio(path: String, reason: String)
    /// The file ends before the audio its header declares: `expectedFrames` per the header,
    /// `availableFrames` actually present or decoded.
    case truncated(path: String, expectedFrames: Int64, availableFrames: Int64)
    /// The file is well formed but holds no audio (0 bytes or 0 frames).
    case empty(path: String)
    /// The container is known but its encoding (codec) cannot be decoded here.
    case unsupportedEncoding(path: String, encoding: String)
    /// A decoded sample is NaN or infinite, at `frame` (0-based, in the source rate) and `channel`.
    case nonFiniteSample(path: String, frame: Int64, channel: Int)
    /// The audio lasts `duration` seconds (from the header, or at least that much when found
    /// while decoding), more than the configured `limit`.
    case tooLong(path: String, duration: Double, limit: Double)
    /// A header field (or a decoded value) lies outside the range this decoder accepts: `field`
    /// names it ("sample rate", "channels", "bits per sample", "sample value", …), `value` is
    /// what the file says and `allowed` the accepted range (see ``AudioLimits``).
    case outOfRange(path: String, field: String, value: String, allowed: String)
    /// The file ends before its stream does, where the format states no frame count to compare
    /// with (an Ogg stream whose last page is cut or is not marked end-of-stream). `reason` says how.
    case truncatedStream(path: String, reason: String)
    /// The stream is damaged inside: a decoder found data that fails its own checks (for FLAC:
    /// lost frame sync, a bad frame header, a frame CRC mismatch). `reason` says what and where.
    case corrupt(path: String, reason: String)
    /// Reading or writing failed at the operating-system or library level.
    case io(path: String, reason: String)
    /// A caller-supplied option is invalid (e.g. a sample rate that is not positive).
    case invalidOptions(reason: String)
    /// libsoxr refused the conversion or failed while processing.
    case resampling(reason: String)

    /// One line naming the file and the reason.
    public var description: String {
        switch self {
        case let .outOfRange(path, field, value, allowed):
            return "\(FileNames.display(path)): \(field) \(value) is out of range (allowed: \(allowed))"
        case let .truncatedStream(path, reason): return "\(FileNames.display(path)): truncated: \(reason)"
        case let .fileNotFound(path): return "\(FileNames.display(path)): no such file"
        case let .notAudio(path, reason): return "\(FileNames.display(path)): not a readable audio file (\(reason))"
        case let .truncated(path, expected, available):
            return "\(FileNames.display(path)): truncated: the header declares \(expected) frames but only \(available) are present"
        case let .empty(path): return "\(FileNames.display(path)): contains no audio (0 frames)"
        case let .unsupportedEncoding(path, encoding): return "\(FileNames.display(path)): unsupported audio encoding: \(encoding)"
        case let .nonFiniteSample(path, frame, channel):
            return "\(FileNames.display(path)): non-finite sample (NaN or infinity) at frame \(frame), channel \(channel)"
        case let .tooLong(path, duration, limit):
            return "\(FileNames.display(path)): audio lasts \(formatSeconds(duration)) s, more than the limit of \(formatSeconds(limit)) s"
        case let .corrupt(path, reason): return "\(FileNames.display(path)): damaged audio data (\(reason))"
        case let .io(path, reason): return "\(FileNames.display(path)): \(reason)"
        case let .invalidOptions(reason): return "invalid audio options: \(reason)"
        case let .resampling(reason): return "resampling failed: \(reason)"
        }
    }
}

private func formatSeconds(_ s: Double) -> String {
    let r = (s * 1000).rounded() / 1000
    return r == r.rounded() && abs(r) < 1e15 ? String(Int(r)) : String(r)
}
