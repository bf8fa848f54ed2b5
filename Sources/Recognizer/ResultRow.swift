import Foundation
import SERCore

/// One result in the shape every output shares: a whole file (``EmotionPrediction``), a
/// timeline segment (``TimelineSegment``) or a classified window (``TimelineWindow``). `ser
/// predict` writes these rows (JSON lines or CSV) and the HTTP service answers with them.
///
/// JSON (keys sorted when written by `ser predict`):
/// ```json
/// {"file": "talk.wav", "start": 0, "end": 3.2, "duration": 3.2, "speech": true,
///  "emotion": "angry", "confidence": 0.81, "probabilities": {"angry": 0.81, "calm": 0.19},
///  "windows": 1, "speechDuration": 2.1, "normalization": "global"}
/// ```
/// - Always present: `start`, `end`, `duration` (`end - start`, seconds), `speech`, `emotion`
///   and `confidence` (`null` without speech), `probabilities` (a flat `{"label": p}` map; `{}`
///   without speech).
/// - When they apply: `file` (the input, as named on the command line or the upload name),
///   `windows` (windows the result combines), `speechDuration` (seconds of speech the
///   probabilities rest on), `normalization` (rows with speech: the features'
///   normalisation, e.g. `global`, `utterance`, or `speaker (session adaptation over 12 recordings)`), `span` (a window only: the part of the
///   timeline it speaks for).
///
/// CSV has the same names as columns (``csvHeader(labels:)``), one column per label in place of
/// `probabilities`, numbers at full precision (the shortest text that reads back to the same
/// `Float`/`Double`).
///
/// JSON objects have no order, so decoded ``probabilities`` are in alphabetical label order.
/// Decoding also reads the shape written before this one (`source` for `file`, probabilities
/// as `[{"emotion": …, "probability": …}]`).
public struct ResultRow: Codable, Sendable, Equatable {
    /// The input (file path as given, upload name); nil for raw samples and inside a timeline.
    public var file: String?
    /// Start in seconds (0 for a whole file).
    public var start: Double
    /// End in seconds (the file's duration for a whole file).
    public var end: Double
    /// `end - start`.
    public var duration: Double { end - start }
    /// Whether speech was found; without speech there is no emotion.
    public var speech: Bool
    /// The most probable class; nil without speech.
    public var emotion: String?
    /// Its probability; nil without speech.
    public var confidence: Float?
    /// Class probabilities (the classifier's label order when made by the recognizer).
    public var probabilities: [EmotionScore]
    /// Windows combined into this result.
    public var windows: Int?
    /// Seconds of speech the probabilities rest on.
    public var speechDuration: Double?
    /// The features' normalisation (see ``EmotionPrediction/normalization``); rows with speech only.
    public var normalization: String?
    /// A window's span: the part of the timeline it speaks for.
    public var span: TimeRange?

    /// A row from its fields.
    public init(file: String? = nil, start: Double, end: Double, speech: Bool, emotion: String?, confidence: Float?,
                probabilities: [EmotionScore], windows: Int? = nil, speechDuration: Double? = nil,
                normalization: String? = nil, span: TimeRange? = nil) {
        self.file = file; self.start = start; self.end = end; self.speech = speech; self.emotion = emotion
        self.confidence = confidence; self.probabilities = probabilities; self.windows = windows
        self.speechDuration = speechDuration; self.normalization = normalization; self.span = span
    }

    /// The row of a whole-file prediction (start 0, end its duration).
    public init(_ p: EmotionPrediction) {
        self.init(file: p.source, start: 0, end: p.duration, speech: p.speech, emotion: p.emotion, confidence: p.confidence,
                  probabilities: p.probabilities, windows: p.windows, speechDuration: p.speechDuration,
                  normalization: p.normalization)
    }

    /// The row of a timeline segment (speech throughout; `speechDuration` is its length).
    public init(_ s: TimelineSegment, file: String? = nil, normalization: String? = nil) {
        self.init(file: file, start: s.start, end: s.end, speech: true, emotion: s.emotion, confidence: s.confidence,
                  probabilities: s.probabilities, windows: s.windows, speechDuration: s.end - s.start,
                  normalization: normalization)
    }

    /// The row of a classified window (one window; `speechDuration` is its span's length).
    public init(_ w: TimelineWindow, file: String? = nil, normalization: String? = nil) {
        self.init(file: file, start: w.start, end: w.end, speech: true, emotion: w.emotion, confidence: w.confidence,
                  probabilities: w.probabilities, windows: 1, speechDuration: w.span.duration,
                  normalization: normalization, span: w.span)
    }

    /// The row of a file in which a timeline found no speech.
    public static func noSpeech(file: String?, duration: Double, normalization: String? = nil) -> ResultRow {
        ResultRow(file: file, start: 0, end: duration, speech: false, emotion: nil, confidence: nil, probabilities: [],
                  windows: 0, speechDuration: 0, normalization: normalization)
    }

    /// The probability of `label`, nil when the row has none.
    public func probability(of label: String) -> Float? { probabilities.first { $0.emotion == label }?.probability }

    // MARK: - Text

    /// Fixed CSV columns, before one column per label.
    public static let csvColumns = ["file", "start", "end", "duration", "speech", "emotion", "confidence",
                                    "windows", "speechDuration", "normalization"]

    /// The CSV header: ``csvColumns`` then the labels.
    public static func csvHeader(labels: [String]) -> String { CSV.line(csvColumns + labels) }

    /// The row as one CSV line (no line end); empty fields for absent values and for the labels
    /// of a row without speech.
    public func csvLine(labels: [String]) -> String {
        func opt<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "" }
        let fixed = [file ?? "", "\(start)", "\(end)", "\(duration)", speech ? "true" : "false", emotion ?? "",
                     opt(confidence), opt(windows), opt(speechDuration), normalization ?? ""]
        return CSV.line(fixed + labels.map { opt(probability(of: $0)) })
    }

    /// The row as one line of JSON (sorted keys, no line end).
    public func jsonLine() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a value of plain fields cannot fail; "{}" keeps the line count right if it did.
        return (try? e.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    // MARK: - Codable

    enum CodingKeys: String, CodingKey {
        case file, start, end, duration, speech, emotion, confidence, probabilities, windows, speechDuration, normalization, span
        case source     // the older name of `file`
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(file, forKey: .file)
        try c.encode(start, forKey: .start)
        try c.encode(end, forKey: .end)
        try c.encode(duration, forKey: .duration)
        try c.encode(speech, forKey: .speech)
        try c.encode(emotion, forKey: .emotion)
        try c.encode(confidence, forKey: .confidence)
        try ProbabilityMap.encode(probabilities, to: &c, forKey: .probabilities)
        try c.encodeIfPresent(windows, forKey: .windows)
        try c.encodeIfPresent(speechDuration, forKey: .speechDuration)
        try c.encodeIfPresent(normalization, forKey: .normalization)
        try c.encodeIfPresent(span, forKey: .span)
    }

    /// Reads this shape and the older one; a row without `start`/`end` spans `duration` from 0.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        file = try c.decodeIfPresent(String.self, forKey: .file) ?? c.decodeIfPresent(String.self, forKey: .source)
        let d = try c.decodeIfPresent(Double.self, forKey: .duration)
        start = try c.decodeIfPresent(Double.self, forKey: .start) ?? 0
        end = try c.decodeIfPresent(Double.self, forKey: .end) ?? (start + (d ?? 0))
        emotion = try c.decodeIfPresent(String.self, forKey: .emotion)
        confidence = try c.decodeIfPresent(Float.self, forKey: .confidence)
        speech = try c.decodeIfPresent(Bool.self, forKey: .speech) ?? (emotion != nil)
        probabilities = try ProbabilityMap.decode(from: c, forKey: .probabilities)
        windows = try c.decodeIfPresent(Int.self, forKey: .windows)
        speechDuration = try c.decodeIfPresent(Double.self, forKey: .speechDuration)
        normalization = try c.decodeIfPresent(String.self, forKey: .normalization)
        span = try c.decodeIfPresent(TimeRange.self, forKey: .span)
    }
}

/// Class probabilities in JSON: a flat `{"label": p}` object.
enum ProbabilityMap {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func encode<K: CodingKey>(_ scores: [EmotionScore], to c: inout KeyedEncodingContainer<K>, forKey key: K) throws {
        var m = c.nestedContainer(keyedBy: Key.self, forKey: key)
        for s in scores { try m.encode(s.probability, forKey: Key(stringValue: s.emotion)) }
    }

    /// The map in alphabetical label order; also the older array of `{emotion, probability}`.
    /// An absent or null value reads as no probabilities.
    static func decode<K: CodingKey>(from c: KeyedDecodingContainer<K>, forKey key: K) throws -> [EmotionScore] {
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return [] }
        if let old = try? c.decode([EmotionScore].self, forKey: key) { return old }
        let m = try c.nestedContainer(keyedBy: Key.self, forKey: key)
        return try m.allKeys.map(\.stringValue).sorted { Shard.canonicalOrder($0, $1) }.map {
            EmotionScore(emotion: $0, probability: try m.decode(Float.self, forKey: Key(stringValue: $0)))
        }
    }
}
