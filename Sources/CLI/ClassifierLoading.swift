// TEMPORARY stub: replaced by the STA-CNN + features adapter (owned by the CLI lead).
import SERRecognizer

/// Why no classifier could be loaded.
enum ClassifierLoadingError: Error, CustomStringConvertible {
    /// The model adapter is not part of this build yet.
    case noModelYet(path: String?)

    var description: String {
        switch self {
        case let .noModelYet(path):
            return "\(path ?? "<default model>"): no model yet: this build cannot load an STA-CNN classifier (the adapter has not landed)"
        }
    }
}

/// The classifier for `ser predict` / `ser serve` from a model file (`nil`: the default model).
func loadClassifier(modelPath: String?) throws -> any ClipClassifier {
    throw ClassifierLoadingError.noModelYet(path: modelPath)
}
