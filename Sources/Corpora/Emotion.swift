/// The canonical emotion names shared by every corpus, in the project's canonical order.
///
/// Each loader maps its corpus's own codes onto these names, so results from different corpora use
/// one vocabulary. The mapping (corpus code -> canonical name):
///
/// | canonical  | RAVDESS | EMO-DB | SAVEE | IEMOCAP   | TESS    | CREMA-D |
/// |------------|---------|--------|-------|-----------|---------|---------|
/// | neutral    | 01      | N      | n     | neu       | neutral | NEU     |
/// | calm       | 02      | –      | –     | –         | –       | –       |
/// | happy      | 03      | F      | h     | hap + exc | happy   | HAP     |
/// | sad        | 04      | T      | sa    | sad       | sad     | SAD     |
/// | angry      | 05      | W      | a     | ang       | angry   | ANG     |
/// | fearful    | 06      | A      | f     | –         | fear    | FEA     |
/// | disgust    | 07      | E      | d     | –         | disgust | DIS     |
/// | surprised  | 08      | –      | su    | –         | ps      | –       |
/// | bored      | –       | L      | –     | –         | –       | –       |
///
/// A CSV manifest may use any of the names or common aliases accepted by ``Emotion/init(alias:)``.
public enum Emotion: String, CaseIterable, Codable, Sendable, Comparable {
    /// Neutral.
    case neutral
    /// Calm (RAVDESS only).
    case calm
    /// Happy, happiness, joy; IEMOCAP "excited" is merged here.
    case happy
    /// Sad, sadness.
    case sad
    /// Angry, anger.
    case angry
    /// Fearful, fear, afraid.
    case fearful
    /// Disgust, disgusted.
    case disgust
    /// Surprised, surprise, (pleasant) surprise.
    case surprised
    /// Bored, boredom (EMO-DB only).
    case bored

    /// Position in the canonical order.
    public var order: Int { Emotion.allCases.firstIndex(of: self) ?? 0 }

    /// Canonical order: `neutral < calm < happy < … < bored`.
    public static func < (a: Emotion, b: Emotion) -> Bool { a.order < b.order }

    /// Reads a canonical name or a common alias (case-insensitive): e.g. "anger", "Happiness",
    /// "fear", "boredom", "ps", "pleasant_surprise", "neu", "ang". Nil when not recognised.
    public init?(alias: String) {
        let key = alias.trimmingCharacters(in: .whitespaces).lowercased()
            .replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
        if let e = Emotion(rawValue: key) { self = e; return }
        switch key {
        case "neu", "neutrality": self = .neutral
        case "happiness", "hap", "joy", "glad": self = .happy
        case "sadness": self = .sad
        case "anger", "ang", "mad": self = .angry
        case "fear", "fea", "afraid", "scared", "anxiety": self = .fearful
        case "disgusted", "dis": self = .disgust
        case "surprise", "sur", "ps", "pleasant_surprise", "pleasant_surprised": self = .surprised
        case "boredom": self = .bored
        default: return nil
        }
    }

    /// Sorts names so canonical emotions come first in canonical order, others after, alphabetically.
    public static func canonicalOrder(_ names: some Sequence<String>) -> [String] {
        Array(Set(names)).sorted { a, b in
            switch (Emotion(rawValue: a), Emotion(rawValue: b)) {
            case let (x?, y?): return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a < b
            }
        }
    }
}
