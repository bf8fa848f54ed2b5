/// The probability of one class.
public struct EmotionScore: Codable, Sendable, Equatable {
    /// Class name (one of the classifier's labels).
    public var emotion: String
    /// Its probability in [0, 1].
    public var probability: Float

    /// Creates a score.
    public init(emotion: String, probability: Float) {
        self.emotion = emotion
        self.probability = probability
    }
}

/// The emotion recognised in one recording (or one stretch of it).
///
/// JSON: `{"source": "a.wav", "emotion": "angry", "confidence": 0.81, "duration": 3.2,
/// "probabilities": [{"emotion": "angry", "probability": 0.81}, …]}` with the probabilities in the
/// classifier's label order.
public struct EmotionPrediction: Codable, Sendable, Equatable {
    /// Where the audio came from (file path or upload name); `nil` for raw samples.
    public var source: String?
    /// The most probable class.
    public var emotion: String
    /// Its probability.
    public var confidence: Float
    /// Every class probability, in the classifier's label order.
    public var probabilities: [EmotionScore]
    /// Duration of the audio in seconds.
    public var duration: Double

    /// A prediction from a probability vector (`labels` and `probabilities` of equal, non-zero length).
    public init(source: String?, labels: [String], probabilities: [Float], duration: Double) {
        precondition(labels.count == probabilities.count && !labels.isEmpty, "one probability per label")
        let best = EmotionPrediction.argmax(probabilities)
        self.source = source
        self.emotion = labels[best]
        self.confidence = probabilities[best]
        self.probabilities = zip(labels, probabilities).map { EmotionScore(emotion: $0, probability: $1) }
        self.duration = duration
    }

    /// The probabilities alone, in label order.
    public var probabilityVector: [Float] { probabilities.map(\.probability) }

    /// Index of the largest value (the first one on ties).
    static func argmax(_ p: [Float]) -> Int {
        var best = 0
        for i in p.indices where p[i] > p[best] { best = i }
        return best
    }
}
