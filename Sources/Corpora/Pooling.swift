import Foundation

/// The label space of an experiment or model across corpora (`--labels`).
///
/// | corpus label | `corpus` | `shared7` | `shared6` |
/// |---|---|---|---|
/// | neutral, happy, sad, angry, fearful, disgust | itself | itself | itself |
/// | surprised (RAVDESS, SAVEE, TESS) | itself | surprised | dropped |
/// | calm (RAVDESS) | itself | neutral | neutral |
/// | bored (EMO-DB) | itself | dropped | dropped |
///
/// The rule: RAVDESS's *calm* is a second low-arousal neutral delivery of the same sentences
/// (the RAVDESS paper describes it as such), so it joins *neutral*; EMO-DB's *boredom* has no
/// counterpart in the other corpora and is dropped. `shared6` keeps the six classes every one of
/// RAVDESS, EMO-DB, SAVEE and CREMA-D has, so a left-out corpus is tested on classes the model
/// saw in every training corpus.
public enum LabelSet: String, Codable, Sendable, CaseIterable {
    /// Each corpus's own labels (one corpus only).
    case corpus
    /// neutral, happy, sad, angry, fearful, disgust, surprised.
    case shared7
    /// neutral, happy, sad, angry, fearful, disgust.
    case shared6

    /// The classes in canonical order, or nil for `corpus`.
    public var labels: [String]? {
        switch self {
        case .corpus: return nil
        case .shared7: return Emotion.names([.neutral, .happy, .sad, .angry, .fearful, .disgust, .surprised])
        case .shared6: return Emotion.names([.neutral, .happy, .sad, .angry, .fearful, .disgust])
        }
    }

    /// The class a corpus label becomes, or nil when the label is dropped.
    public func map(_ label: String) -> String? {
        guard let labels else { return label }
        let mapped = label == Emotion.calm.rawValue ? Emotion.neutral.rawValue : label
        return labels.contains(mapped) ? mapped : nil
    }
}

extension Corpus {
    /// The corpus with its labels mapped onto `set`: dropped entries are counted in
    /// ``excluded`` (e.g. `"EMO-DB label bored (shared7)": 81`), merged ones keep their original
    /// label in the tag `original_label`.
    public func relabelled(_ set: LabelSet) -> Corpus {
        guard let newLabels = set.labels else { return self }
        var out = self
        out.labels = newLabels
        out.entries = []
        for var e in entries {
            guard let m = set.map(e.label) else {
                out.excluded["\(name) label \(e.label) (\(set.rawValue))", default: 0] += 1
                continue
            }
            if m != e.label { e.tags["original_label"] = e.label; e.label = m }
            out.entries.append(e)
        }
        return out
    }

    /// Several corpora as one, for multi-corpus training and protocols.
    ///
    /// Ids and speakers are prefixed with the corpus name (`RAVDESS/Actor_01/03-01-…`,
    /// `RAVDESS/Actor_01`) so they stay unique; every entry gets the tag `corpus`. All corpora must
    /// share one label list (relabel them with a ``LabelSet`` first).
    ///
    /// - Throws: ``CorpusError/incompatible(_:)`` when the label lists differ or a name repeats.
    public static func pooled(_ corpora: [Corpus]) throws -> Corpus {
        guard let first = corpora.first else { throw CorpusError.incompatible("no corpora to pool") }
        guard Set(corpora.map(\.name)).count == corpora.count else {
            throw CorpusError.incompatible("a corpus is named twice: \(corpora.map(\.name).joined(separator: ", "))")
        }
        for c in corpora where c.labels != first.labels {
            throw CorpusError.incompatible("\(c.name) has labels \(c.labels), \(first.name) has \(first.labels); choose a shared --labels set")
        }
        var entries: [CorpusEntry] = [], problems: [CorpusProblem] = [], excluded: [String: Int] = [:]
        for c in corpora {
            for var e in c.entries {
                e.id = c.name + "/" + e.id
                e.speaker = c.name + "/" + e.speaker
                e.tags["corpus"] = c.name
                entries.append(e)
            }
            problems += c.problems.map { CorpusProblem(file: c.name + "/" + $0.file, reason: $0.reason) }
            for (k, v) in c.excluded { excluded[k.hasPrefix(c.name) ? k : "\(c.name) \(k)", default: 0] += v }
        }
        entries.sort { $0.id < $1.id }
        return Corpus(name: corpora.map(\.name).joined(separator: "+"), root: URL(fileURLWithPath: "/"),
                      labels: first.labels, entries: entries, problems: problems, excluded: excluded)
    }

    /// The corpora a pooled corpus was made of, in order of first appearance ([name] for one corpus).
    public var memberCorpora: [String] {
        var seen: [String] = []
        for e in entries { if let c = e.tags["corpus"], !seen.contains(c) { seen.append(c) } }
        return seen.isEmpty ? [name] : seen
    }
}
