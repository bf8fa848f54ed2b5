import Foundation

/// One utterance of a corpus: where its audio is, its emotion, its speaker and anything else the
/// file name or the corpus's metadata says about it.
public struct CorpusEntry: Sendable, Equatable, Codable, Hashable {
    /// Stable identifier: the audio file's path relative to the corpus root, without extension
    /// (e.g. `Actor_01/03-01-01-01-01-01-01`). Split files refer to entries by this id, so a split
    /// made on `.wav` files applies unchanged to a `.flac` copy of the corpus.
    public var id: String
    /// The audio file.
    public var url: URL
    /// Canonical emotion name (see ``Emotion``), or a custom label from a CSV manifest.
    public var label: String
    /// Speaker identifier, unique within the corpus (e.g. `Actor_01`, `03`, `DC`, `Ses01F`).
    public var speaker: String
    /// Further facts from the name or metadata (e.g. `gender`, `intensity`, `statement`, `session`).
    public var tags: [String: String]

    /// Creates an entry.
    public init(id: String, url: URL, label: String, speaker: String, tags: [String: String] = [:]) {
        self.id = id; self.url = url; self.label = label; self.speaker = speaker; self.tags = tags
    }

    /// The file's path (convenience for `url.path`).
    public var path: String { url.path }
}

/// Something wrong with one file or line of a corpus. Problems are collected, never silently dropped.
public struct CorpusProblem: Sendable, Equatable, Codable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Equatable, Codable, CustomStringConvertible {
        /// The file name does not follow the corpus's naming scheme.
        case unparsableName(String)
        /// The name parses but its emotion code is not one the corpus defines.
        case unknownLabel(String)
        /// A second file (or line) for an utterance already loaded; the first one (by sorted path) is kept.
        case duplicate(of: String)
        /// The file cannot be read, is empty, or does not start like an audio file.
        case unreadable(String)
        /// An audio file in a format the loader does not accept (e.g. `.mp3`).
        case unsupportedFormat(String)
        /// A label file names audio that is not there.
        case missingAudio(String)
        /// Kept, but byte-identical to another entry (e.g. two RAVDESS takes in the release).
        case identicalContent(to: String)
        /// Kept, with a remark (e.g. AIFF data under a `.wav` name, a non-standard prefix).
        case note(String)

        /// Whether the file was left out of ``Corpus/entries`` because of this problem.
        public var excludesFile: Bool {
            switch self {
            case .identicalContent, .note: return false
            default: return true
            }
        }

        /// Human-readable reason.
        public var description: String {
            switch self {
            case .unparsableName(let s): return "name does not follow the corpus scheme (\(s))"
            case .unknownLabel(let s): return "unknown emotion label '\(s)'"
            case .duplicate(let other): return "duplicate of \(other) (kept that one)"
            case .unreadable(let s): return "unreadable: \(s)"
            case .unsupportedFormat(let s): return "unsupported audio format '\(s)'"
            case .missingAudio(let s): return "audio file missing: \(s)"
            case .identicalContent(let other): return "byte-identical to \(other) (kept both)"
            case .note(let s): return s
            }
        }
    }

    /// The file (or label file with line number, `file:line`) the problem is about.
    public var file: String
    /// The reason.
    public var reason: Reason

    /// Creates a problem record.
    public init(file: String, reason: Reason) { self.file = file; self.reason = reason }

    /// `file: reason`.
    public var description: String { "\(file): \(reason)" }
}

/// A loaded corpus: its entries (sorted by id), its labels in canonical order, and what went wrong.
public struct Corpus: Sendable, Equatable, Codable {
    /// Corpus name, e.g. `RAVDESS`.
    public var name: String
    /// The corpus root folder.
    public var root: URL
    /// The corpus's label set in canonical order (fixed by the corpus definition, so a model's
    /// output index means the same class whatever files were found).
    public var labels: [String]
    /// The utterances, sorted by ``CorpusEntry/id``.
    public var entries: [CorpusEntry]
    /// Problems found while loading.
    public var problems: [CorpusProblem]
    /// Utterances deliberately left out by the corpus definition, counted by reason
    /// (e.g. `"IEMOCAP label fru": 1849`, `"RAVDESS song": 1012`).
    public var excluded: [String: Int]

    /// Creates a corpus value.
    public init(name: String, root: URL, labels: [String], entries: [CorpusEntry],
                problems: [CorpusProblem] = [], excluded: [String: Int] = [:]) {
        self.name = name; self.root = root; self.labels = labels; self.entries = entries
        self.problems = problems; self.excluded = excluded
    }

    /// Number of entries per label, in ``labels`` order (labels with no entries give 0).
    public var classCounts: [(label: String, count: Int)] {
        var c: [String: Int] = [:]
        for e in entries { c[e.label, default: 0] += 1 }
        return labels.map { ($0, c[$0] ?? 0) }
    }

    /// Number of entries per speaker, speakers sorted.
    public var speakerCounts: [(speaker: String, count: Int)] {
        var c: [String: Int] = [:]
        for e in entries { c[e.speaker, default: 0] += 1 }
        return c.keys.sorted().map { ($0, c[$0] ?? 0) }
    }

    /// Distinct speakers, sorted.
    public var speakers: [String] { Array(Set(entries.map(\.speaker))).sorted() }

    /// Index of `label` in ``labels``.
    public func labelIndex(_ label: String) -> Int? { labels.firstIndex(of: label) }

    /// A one-screen summary: counts per class and speaker and the problems.
    public var summary: String {
        var s = "\(name): \(entries.count) utterances, \(speakers.count) speakers\n"
        s += classCounts.map { "  \($0.label): \($0.count)" }.joined(separator: "\n") + "\n"
        for (k, v) in excluded.sorted(by: { $0.key < $1.key }) { s += "  excluded by definition: \(k) x\(v)\n" }
        for p in problems { s += "  problem: \(p)\n" }
        return s
    }
}

/// Errors that stop a loader altogether (problems with single files are ``CorpusProblem``s instead).
public enum CorpusError: Error, Equatable, CustomStringConvertible {
    /// The corpus folder (or manifest file) does not exist.
    case missingDirectory(String)
    /// The folder exists but holds nothing the loader recognises.
    case layoutNotRecognized(String, String)
    /// A metadata file (CSV manifest, label file) cannot be read or parsed.
    case unreadableMetadata(String, String)
    /// Corpora that cannot be pooled (different label lists, a name given twice).
    case incompatible(String)

    /// Names the path and the reason.
    public var description: String {
        switch self {
        case .missingDirectory(let p): return "\(p): corpus folder does not exist"
        case .layoutNotRecognized(let p, let why): return "\(p): corpus layout not recognised (\(why))"
        case .unreadableMetadata(let p, let why): return "\(p): cannot read metadata (\(why))"
        case .incompatible(let why): return "cannot pool the corpora: \(why)"
        }
    }
}
