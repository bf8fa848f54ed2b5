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

/// The emotion recognised in one recording (or one stretch of it), or the finding that it holds
/// no speech.
///
/// JSON: `{"source": "a.wav", "speech": true, "emotion": "angry", "confidence": 0.81,
/// "duration": 3.2, "speechDuration": 2.1, "windows": 1, "probabilities": [{"emotion": "angry",
/// "probability": 0.81}, …]}` with the probabilities in the classifier's label order. A recording
/// without speech has `"speech": false`, `"emotion": null`, `"confidence": null`,
/// `"speechDuration": 0`, `"windows": 0` and no probabilities.
public struct EmotionPrediction: Codable, Sendable, Equatable {
    /// Where the audio came from (file path or upload name); `nil` for raw samples.
    public var source: String?
    /// Whether the voice activity detector found speech. Without speech there is no emotion.
    public var speech: Bool
    /// The most probable class; nil without speech.
    public var emotion: String?
    /// Its probability; nil without speech.
    public var confidence: Float?
    /// Every class probability, in the classifier's label order; empty without speech.
    public var probabilities: [EmotionScore]
    /// Duration of the audio in seconds.
    public var duration: Double
    /// Seconds of audio the probabilities rest on: the speech left after trimming leading and
    /// trailing non-speech (one window), or the speech the windows speak for (several windows).
    public var speechDuration: Double
    /// Windows classified and combined: 0 without speech, 1 for a recording whose speech fits one
    /// window, more for a longer one (see ``EmotionRecognizer``).
    public var windows: Int
    /// The normalisation the features went through before the network (the model's:
    /// `global` = the training set's standardiser only, `utterance` = each clip by its own
    /// statistics first); nil in results written before it was reported.
    public var normalization: String? = nil

    /// A prediction from a probability vector (`labels` and `probabilities` of equal, non-zero length).
    /// `speechDuration` defaults to `duration`.
    public init(source: String?, labels: [String], probabilities: [Float], duration: Double,
                speechDuration: Double? = nil, windows: Int = 1) {
        precondition(labels.count == probabilities.count && !labels.isEmpty, "one probability per label")
        let best = EmotionPrediction.argmax(probabilities)
        self.source = source
        self.speech = true
        self.emotion = labels[best]
        self.confidence = probabilities[best]
        self.probabilities = zip(labels, probabilities).map { EmotionScore(emotion: $0, probability: $1) }
        self.duration = duration
        self.speechDuration = speechDuration ?? duration
        self.windows = windows
    }

    /// The result for a recording of `duration` seconds in which no speech was found.
    public static func noSpeech(source: String?, duration: Double) -> EmotionPrediction {
        EmotionPrediction(source: source, speech: false, emotion: nil, confidence: nil, probabilities: [],
                          duration: duration, speechDuration: 0, windows: 0)
    }

    private init(source: String?, speech: Bool, emotion: String?, confidence: Float?, probabilities: [EmotionScore],
                 duration: Double, speechDuration: Double, windows: Int) {
        self.source = source; self.speech = speech; self.emotion = emotion; self.confidence = confidence
        self.probabilities = probabilities; self.duration = duration; self.speechDuration = speechDuration
        self.windows = windows
    }

    /// The probabilities alone, in label order (empty without speech).
    public var probabilityVector: [Float] { probabilities.map(\.probability) }

    /// Index of the largest value (the first one on ties).
    static func argmax(_ p: [Float]) -> Int {
        var best = 0
        for i in p.indices where p[i] > p[best] { best = i }
        return best
    }

    private enum CodingKeys: String, CodingKey {
        case source, speech, emotion, confidence, probabilities, duration, speechDuration, windows, normalization
    }

    /// Writes every key, `null` for an absent emotion and confidence (and source).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        try c.encode(speech, forKey: .speech)
        try c.encode(emotion, forKey: .emotion)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(probabilities, forKey: .probabilities)
        try c.encode(duration, forKey: .duration)
        try c.encode(speechDuration, forKey: .speechDuration)
        try c.encode(windows, forKey: .windows)
        try c.encodeIfPresent(normalization, forKey: .normalization)
    }

    /// Reads JSON written by ``encode(to:)``; JSON from before the speech fields existed reads as
    /// speech over the whole duration, one window.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decodeIfPresent(String.self, forKey: .source)
        emotion = try c.decodeIfPresent(String.self, forKey: .emotion)
        confidence = try c.decodeIfPresent(Float.self, forKey: .confidence)
        probabilities = try c.decodeIfPresent([EmotionScore].self, forKey: .probabilities) ?? []
        duration = try c.decode(Double.self, forKey: .duration)
        speech = try c.decodeIfPresent(Bool.self, forKey: .speech) ?? (emotion != nil)
        speechDuration = try c.decodeIfPresent(Double.self, forKey: .speechDuration) ?? (speech ? duration : 0)
        windows = try c.decodeIfPresent(Int.self, forKey: .windows) ?? (speech ? 1 : 0)
        normalization = try c.decodeIfPresent(String.self, forKey: .normalization)
    }
}
