import Foundation

/// One train/validation/test partition of a corpus, by entry id (``CorpusEntry/id``).
public struct SplitFold: Codable, Sendable, Equatable {
    /// Fold name, e.g. `holdout`, `fold-3`, `speaker-03`, `session-5`.
    public var name: String
    /// Training entry ids, sorted.
    public var train: [String]
    /// Validation entry ids, sorted.
    public var validation: [String]
    /// Test entry ids, sorted.
    public var test: [String]
    /// The speakers held out for testing (speaker-independent protocols), sorted.
    public var testSpeakers: [String]
    /// The speakers used for validation when validation is by speaker, sorted; empty otherwise.
    public var validationSpeakers: [String]
    /// The seed this fold's model is trained with, when the fold has its own (holdout: one split
    /// and one run per seed); nil: the experiment's first seed.
    public var seed: UInt64? = nil

    /// Creates a fold (lists are sorted).
    public init(name: String, train: [String], validation: [String], test: [String],
                testSpeakers: [String] = [], validationSpeakers: [String] = []) {
        self.name = name; self.train = train.sorted(); self.validation = validation.sorted()
        self.test = test.sorted(); self.testSpeakers = testSpeakers.sorted()
        self.validationSpeakers = validationSpeakers.sorted()
    }
}

/// How a group-based protocol picks validation data from the non-test part of a fold.
public enum ValidationPolicy: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The next group (cyclically) after the test group, e.g. the next 4 RAVDESS actors.
    case nextGroup
    /// This many speakers drawn (seeded) from the training speakers.
    case speakers(Int)
    /// A seeded, label-stratified fraction of the training utterances (speakers then overlap
    /// between training and validation, never with test).
    case stratifiedFraction(Double)

    /// `next-group`, `speakers:N`, `fraction:F`.
    public var description: String {
        switch self {
        case .nextGroup: return "next-group"
        case .speakers(let n): return "speakers:\(n)"
        case .stratifiedFraction(let f): return "fraction:\(f)"
        }
    }

    /// Whether validation speakers are disjoint from training speakers.
    public var isSpeakerDisjoint: Bool {
        if case .stratifiedFraction = self { return false }
        return true
    }
}

/// A repeatable evaluation protocol for one corpus: the folds, how they were made, and checks.
/// Written to / read from JSON so a run can be repeated exactly.
public struct SplitPlan: Codable, Sendable, Equatable {
    /// File format version (1).
    public var formatVersion: Int
    /// Corpus name.
    public var corpus: String
    /// Protocol name: `stratified-holdout`, `speaker-kfold`, `leave-one-speaker-out`, `leave-one-session-out`.
    public var protocolName: String
    /// The seed every random choice was drawn from.
    public var seed: UInt64
    /// Whether no test speaker may appear in training or validation data of its fold.
    public var speakerIndependent: Bool
    /// Whether validation speakers must also be disjoint from training speakers.
    public var validationSpeakerIndependent: Bool
    /// Whether the folds' test sets partition the corpus (cross-validation).
    public var testSetsPartitionCorpus: Bool
    /// Protocol parameters as text (fractions, fold count, validation policy…).
    public var parameters: [String: String]
    /// Number of corpus entries the plan was made from.
    public var entryCount: Int
    /// FNV-1a 64 of the sorted entry ids (hex): detects a plan applied to a different corpus.
    public var entriesFingerprint: String
    /// The folds.
    public var folds: [SplitFold]

    /// Creates a plan.
    public init(corpus: Corpus, protocolName: String, seed: UInt64, speakerIndependent: Bool,
                validationSpeakerIndependent: Bool, testSetsPartitionCorpus: Bool,
                parameters: [String: String], folds: [SplitFold]) {
        formatVersion = 1
        self.corpus = corpus.name; self.protocolName = protocolName; self.seed = seed
        self.speakerIndependent = speakerIndependent
        self.validationSpeakerIndependent = validationSpeakerIndependent
        self.testSetsPartitionCorpus = testSetsPartitionCorpus
        self.parameters = parameters; self.entryCount = corpus.entries.count
        self.entriesFingerprint = Self.fingerprint(corpus.entries.map(\.id))
        self.folds = folds
    }

    /// FNV-1a 64 over the sorted ids, newline-separated, as 16 hex digits.
    public static func fingerprint(_ ids: [String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for id in ids.sorted() {
            for byte in id.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
            h = (h ^ 10) &* 0x100_0000_01b3
        }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// Pretty, key-sorted JSON.
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(self)
    }

    /// Writes the plan as JSON.
    public func write(to url: URL) throws {
        do { try jsonData().write(to: url, options: .atomic) } catch {
            throw SplitError.unreadableFile(url.path, "cannot write: \(error)")
        }
    }

    /// Reads a plan written by ``write(to:)``.
    public static func read(from url: URL) throws -> SplitPlan {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw SplitError.unreadableFile(url.path, "cannot read")
        }
        do {
            let plan = try JSONDecoder().decode(SplitPlan.self, from: data)
            guard plan.formatVersion == 1 else {
                throw SplitError.unreadableFile(url.path, "format version \(plan.formatVersion) is not 1")
            }
            return plan
        } catch let e as SplitError { throw e } catch {
            throw SplitError.unreadableFile(url.path, "not a split plan: \(error)")
        }
    }

    /// Checks the plan against `corpus`: every id exists; in each fold train, validation and test
    /// are disjoint and together cover the corpus; no test speaker appears in training or
    /// validation (speaker-independent plans); validation speakers are not training speakers
    /// (when required); the test sets partition the corpus (cross-validation plans).
    public func validate(against corpus: Corpus) throws {
        var speakerOf: [String: String] = [:]
        for e in corpus.entries { speakerOf[e.id] = e.speaker }
        let all = Set(speakerOf.keys)
        var tested: [String: String] = [:]
        for f in folds {
            let tr = Set(f.train), va = Set(f.validation), te = Set(f.test)
            for id in f.train + f.validation + f.test where speakerOf[id] == nil {
                throw SplitError.unknownEntry(fold: f.name, id: id)
            }
            guard tr.count == f.train.count, va.count == f.validation.count, te.count == f.test.count else {
                throw SplitError.overlap(fold: f.name, id: "(repeated id within one set)", sets: "same set")
            }
            if let id = tr.intersection(va).first { throw SplitError.overlap(fold: f.name, id: id, sets: "train/validation") }
            if let id = tr.intersection(te).first { throw SplitError.overlap(fold: f.name, id: id, sets: "train/test") }
            if let id = va.intersection(te).first { throw SplitError.overlap(fold: f.name, id: id, sets: "validation/test") }
            let covered = tr.union(va).union(te)
            if covered.count != all.count {
                throw SplitError.incomplete(fold: f.name, missing: all.subtracting(covered).count)
            }
            let trS = Set(f.train.compactMap { speakerOf[$0] }), vaS = Set(f.validation.compactMap { speakerOf[$0] })
            let teS = Set(f.test.compactMap { speakerOf[$0] })
            if speakerIndependent {
                if let s = teS.intersection(trS).sorted().first {
                    throw SplitError.speakerLeak(fold: f.name, speaker: s, sets: "test/train")
                }
                if let s = teS.intersection(vaS).sorted().first {
                    throw SplitError.speakerLeak(fold: f.name, speaker: s, sets: "test/validation")
                }
            }
            if validationSpeakerIndependent, let s = vaS.intersection(trS).sorted().first {
                throw SplitError.speakerLeak(fold: f.name, speaker: s, sets: "validation/train")
            }
            if testSetsPartitionCorpus {
                for id in f.test {
                    if let other = tested[id] { throw SplitError.testedTwice(id: id, folds: "\(other), \(f.name)") }
                    tested[id] = f.name
                }
            }
        }
        if testSetsPartitionCorpus && tested.count != all.count {
            throw SplitError.incomplete(fold: "(all test sets)", missing: all.count - tested.count)
        }
    }

    /// The folds' entries, after ``validate(against:)``.
    public func resolve(in corpus: Corpus) throws -> [ResolvedFold] {
        try validate(against: corpus)
        var byID: [String: CorpusEntry] = [:]
        for e in corpus.entries { byID[e.id] = e }
        return folds.map { f in
            ResolvedFold(name: f.name, train: f.train.compactMap { byID[$0] },
                         validation: f.validation.compactMap { byID[$0] }, test: f.test.compactMap { byID[$0] }, seed: f.seed)
        }
    }
}

/// A fold with its entries looked up.
public struct ResolvedFold: Sendable, Equatable {
    /// Fold name.
    public var name: String
    /// Training entries.
    public var train: [CorpusEntry]
    /// Validation entries.
    public var validation: [CorpusEntry]
    /// Test entries.
    public var test: [CorpusEntry]
    /// The fold's own training seed (``SplitFold/seed``).
    public var seed: UInt64? = nil
}

/// Errors of split plans.
public enum SplitError: Error, Equatable, CustomStringConvertible {
    /// A split file cannot be read, written or decoded.
    case unreadableFile(String, String)
    /// A fold names an id the corpus does not have.
    case unknownEntry(fold: String, id: String)
    /// An id is in two sets of one fold.
    case overlap(fold: String, id: String, sets: String)
    /// A fold (or the union of test sets) leaves entries out.
    case incomplete(fold: String, missing: Int)
    /// A speaker appears on both sides of a speaker-independent boundary.
    case speakerLeak(fold: String, speaker: String, sets: String)
    /// An entry is tested in two folds of a cross-validation.
    case testedTwice(id: String, folds: String)
    /// The protocol cannot be applied (too few speakers, sessions missing, bad fractions…).
    case notApplicable(String)

    /// Names the file or fold and the reason.
    public var description: String {
        switch self {
        case .unreadableFile(let p, let why): return "\(p): \(why)"
        case .unknownEntry(let f, let id): return "fold \(f): unknown entry \(id)"
        case .overlap(let f, let id, let s): return "fold \(f): \(id) is in both \(s)"
        case .incomplete(let f, let n): return "fold \(f): \(n) entries not covered"
        case .speakerLeak(let f, let s, let sets): return "fold \(f): speaker \(s) is in both \(sets)"
        case .testedTwice(let id, let folds): return "\(id) is tested in folds \(folds)"
        case .notApplicable(let why): return "protocol not applicable: \(why)"
        }
    }
}
