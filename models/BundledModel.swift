import Foundation
import SERRecognizer

/// Why a bundled model could not be found.
public enum BundledModelError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The model file is in none of the places searched.
    case notFound(name: String, searched: [String])

    /// One line naming the model and where it was looked for.
    public var description: String {
        switch self {
        case let .notFound(name, searched):
            return "bundled model '\(name)' not found (looked in \(searched.joined(separator: ", "))); pass a model file instead"
        }
    }
}

/// The models that ship with SER (`models/`, described in `models/README.md`), reachable from any
/// package that depends on the `SpeechEmotion` product.
///
/// They are copied as resources of this target next to the executable that uses them
/// (`<Package>_SERBundledModels.resources`); a binary moved elsewhere finds them through
/// `SER_MODELS_DIR`, or in the source checkout it was built from.
///
/// ```swift
/// let classifier = try BundledModel.handmade.classifier()       // no encoder needed
/// let recognizer = EmotionRecognizer(classifier: classifier)
/// ```
public enum BundledModel: String, CaseIterable, Sendable {
    /// The default: Whisper-base encoder (install it once with `ser encoder install base`) and the
    /// STA-CNN head, trained on RAVDESS, CREMA-D, EMO-DB and SAVEE with seven shared labels.
    case `default`
    /// The STA-CNN on the paper's hand-made features (no encoder; trained on RAVDESS).
    case handmade
    /// The default recipe with speaker normalisation, for session adaptation (several clips of one voice).
    case session

    /// The places searched for `NAME.safetensors`, in order.
    public var candidates: [URL] {
        let file = "\(rawValue).safetensors"
        var dirs: [URL] = []
        if let env = ProcessInfo.processInfo.environment["SER_MODELS_DIR"], !env.isEmpty {
            dirs.append(URL(fileURLWithPath: env))
        }
        // Resource bundles that SwiftPM places next to the executable (or the test bundle).
        for base in [Bundle.main.executableURL?.deletingLastPathComponent(), Bundle.main.bundleURL].compactMap({ $0 }) {
            let listing = (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []
            for entry in listing.sorted() where entry.hasSuffix("_SERBundledModels.resources") {
                dirs.append(base.appendingPathComponent(entry))
            }
        }
        // The source checkout this file was compiled from (a dependency by path, or a clone).
        dirs.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent())
        return dirs.map { $0.appendingPathComponent(file) }
    }

    /// The model file.
    /// - Throws: ``BundledModelError/notFound(name:searched:)``.
    public func url() throws -> URL {
        let list = candidates
        guard let found = list.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw BundledModelError.notFound(name: rawValue, searched: list.map(\.path))
        }
        return found
    }

    /// The model, loaded (the `default` and `session` models also load the Whisper encoder from
    /// the encoder cache, and throw when it is not installed).
    public func classifier() throws -> STACNNClassifier {
        try STACNNClassifier(contentsOf: url())
    }
}
