import SERAudio

/// Why a recording could not be recognised. Every case names the source (a file path, the name
/// given to bytes, or `<samples>`) and the reason.
public enum RecognizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The audio could not be decoded or resampled (see the wrapped ``SERAudio/AudioError``).
    case audio(AudioError)
    /// The recording holds no samples.
    case empty(source: String)
    /// The samples were given with a sample rate that is not positive.
    case invalidSampleRate(source: String, sampleRate: Int)
    /// A sample is NaN or infinite, at `index`.
    case nonFiniteSample(source: String, index: Int)
    /// The recording lasts `duration` seconds, more than the recognizer's limit.
    case tooLong(source: String, duration: Double, limit: Double)
    /// The classifier threw while classifying.
    case classifier(source: String, reason: String)
    /// The classifier returned something that is not a probability vector over its labels.
    case invalidOutput(source: String, reason: String)
    /// Recognizer or segmentation options that cannot be used.
    case invalidOptions(reason: String)
    /// Session adaptation was asked of a model that cannot use it.
    case sessionUnsupported(String)

    /// One line naming the source and the reason.
    public var description: String {
        switch self {
        case let .audio(e): return e.description
        case let .empty(source): return "\(source): contains no audio"
        case let .invalidSampleRate(source, rate): return "\(source): invalid sample rate \(rate) Hz"
        case let .nonFiniteSample(source, index): return "\(source): non-finite sample (NaN or infinity) at index \(index)"
        case let .tooLong(source, duration, limit):
            return "\(source): audio lasts \(Self.seconds(duration)) s, more than the limit of \(Self.seconds(limit)) s"
        case let .classifier(source, reason): return "\(source): the classifier failed: \(reason)"
        case let .invalidOutput(source, reason): return "\(source): the classifier returned an invalid output: \(reason)"
        case let .invalidOptions(reason): return "invalid recognizer options: \(reason)"
        case let .sessionUnsupported(reason): return "session adaptation is not possible: \(reason)"
        }
    }

    private static func seconds(_ s: Double) -> String { String(format: "%.3g", s) }
}
