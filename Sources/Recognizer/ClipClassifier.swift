// The seam between the recognizer and a model: anything that maps a mono clip to class probabilities.

/// Something that turns a mono clip at ``sampleRate`` into class probabilities
/// (the STA-CNN + features adapter implements it; tests use small deterministic fakes).
///
/// Implementations must be safe to call from several threads at once: ``EmotionRecognizer``
/// and the HTTP service call ``probabilities(samples:)`` concurrently.
public protocol ClipClassifier: Sendable {
    /// Class names, in the order of the probabilities.
    var labels: [String] { get }
    /// Sample rate (Hz) the samples passed to ``probabilities(samples:)`` have.
    var sampleRate: Int { get }
    /// One probability per label (non-negative, summing to 1) for a mono clip at ``sampleRate``.
    func probabilities(samples: [Float]) throws -> [Float]
    /// The normalisation applied to the features before the network, reported with every
    /// prediction (`global`, `utterance`, ...).
    var normalization: String { get }
}

extension ClipClassifier {
    /// Classifiers that say nothing: `global`.
    public var normalization: String { "global" }
}
