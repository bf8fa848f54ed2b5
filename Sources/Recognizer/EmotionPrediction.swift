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
/// JSON: the shared row shape (``ResultRow``): `{"file": "a.wav", "start": 0, "end": 3.2,
/// "duration": 3.2, "speech": true, "emotion": "angry", "confidence": 0.81, "probabilities":
/// {"angry": 0.81, …}, "windows": 1, "speechDuration": 2.1, "normalization": "global"}`. A
/// recording without speech has `"speech": false`, `"emotion": null`, `"confidence": null`,
/// `"probabilities": {}`, `"speechDuration": 0` and `"windows": 0`. ``source`` is written as
/// `file` (absent for raw samples). Decoded probabilities are in alphabetical label order (a JSON
/// object has no order); the older shape (`source`, an array of `{emotion, probability}`) still
/// decodes.
public struct EmotionPrediction: Codable, Sendable, Equatable {
    /// Where the audio came from (file path or upload name); `nil` for raw samples. JSON: `file`.
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

    /// Writes the shared row shape (``ResultRow``).
    public func encode(to encoder: any Encoder) throws {
        try ResultRow(self).encode(to: encoder)
    }

    /// Reads the row shape (or the older one); JSON from before the speech fields existed reads
    /// as speech over the whole duration, one window.
    public init(from decoder: any Decoder) throws {
        let r = try ResultRow(from: decoder)
        self.init(source: r.file, speech: r.speech, emotion: r.emotion, confidence: r.confidence, probabilities: r.probabilities,
                  duration: r.duration, speechDuration: r.speechDuration ?? (r.speech ? r.duration : 0),
                  windows: r.windows ?? (r.speech ? 1 : 0))
        normalization = r.normalization
    }
}
