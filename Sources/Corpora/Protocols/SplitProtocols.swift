import SERCore

/// Builders of the evaluation protocols. Every random choice draws from ``SeededRandom`` streams
/// derived from the seed and works on entries sorted by id, so the same corpus and seed give the
/// same plan on any machine, whatever order the file system listed the files in.
public enum SplitProtocols {
    /// Seeded Fisher–Yates shuffle (own implementation, so it never changes with the standard library).
    public static func shuffle<T>(_ a: inout [T], _ rng: inout SeededRandom) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = uniformIndex(below: i + 1, &rng)
            if i != j { a.swapAt(i, j) }
        }
    }

    /// Unbiased integer in `0..<n` (rejection sampling).
    static func uniformIndex(below n: Int, _ rng: inout SeededRandom) -> Int {
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let r = rng.next()
            if r < limit { return Int(r % bound) }
        }
    }

    /// Per-label shuffled index lists (labels in corpus order, then any others sorted).
    static func byLabel(_ entries: [CorpusEntry], labels: [String], seed: UInt64, stream: UInt64) -> [[CorpusEntry]] {
        var groups: [String: [CorpusEntry]] = [:]
        for e in entries.sorted(by: { $0.id < $1.id }) { groups[e.label, default: []].append(e) }
        let order = labels + groups.keys.filter { !labels.contains($0) }.sorted()
        return order.enumerated().compactMap { (k, label) in
            guard var g = groups[label] else { return nil }
            var rng = SeededRandom.derived(seed: seed, stream: stream &* 1000 &+ UInt64(k))
            shuffle(&g, &rng)
            return g
        }
    }

    /// Splits `round(N·fraction)` items over classes of sizes `counts` in proportion (largest
    /// remainder; ties go to the earlier class), so each class gets `floor` or `ceil` of `n·fraction`.
    public static func apportion(_ counts: [Int], fraction: Double) -> [Int] {
        let total = Int((Double(counts.reduce(0, +)) * fraction).rounded())
        let quotas = counts.map { Double($0) * fraction }
        var out = quotas.map { Int($0.rounded(.down)) }
        let order = quotas.indices.sorted { a, b in
            let ra = quotas[a] - Double(out[a]), rb = quotas[b] - Double(out[b])
            return ra != rb ? ra > rb : a < b
        }
        var left = total - out.reduce(0, +)
        for i in order where left > 0 && out[i] < counts[i] { out[i] += 1; left -= 1 }
        return out
    }

    /// The paper's protocol: a seeded random split stratified by label, 6:2:2 by default.
    /// `round(N·test)` entries go to test and `round(N·validation)` to validation, apportioned over
    /// labels by largest remainder (each label gets ⌊n·f⌋ or ⌈n·f⌉); the rest is training.
    public static func stratifiedHoldout(_ corpus: Corpus, seed: UInt64,
                                         validation: Double = 0.2, test: Double = 0.2) throws -> SplitPlan {
        guard validation >= 0, test > 0, validation + test < 1 else {
            throw SplitError.notApplicable("fractions validation \(validation), test \(test)")
        }
        var tr: [String] = [], va: [String] = [], te: [String] = []
        let groups = byLabel(corpus.entries, labels: corpus.labels, seed: seed, stream: 0)
        let teCounts = apportion(groups.map(\.count), fraction: test)
        let vaCounts = apportion(groups.map(\.count), fraction: validation)
        for (k, g) in groups.enumerated() {
            let nTe = teCounts[k], nVa = min(vaCounts[k], g.count - nTe)
            for (i, e) in g.enumerated() {
                if i < nTe { te.append(e.id) } else if i < nTe + nVa { va.append(e.id) } else { tr.append(e.id) }
            }
        }
        let train = 1 - validation - test
        return SplitPlan(corpus: corpus, protocolName: "stratified-holdout", seed: seed, speakerIndependent: false,
                         validationSpeakerIndependent: false, testSetsPartitionCorpus: false,
                         parameters: ["train": "\(train)", "validation": "\(validation)", "test": "\(test)",
                                      "stratifiedBy": "label"],
                         folds: [SplitFold(name: "holdout", train: tr, validation: va, test: te)])
    }

    /// Speaker-independent k-fold: the sorted speakers (shuffled when `shuffleSpeakers`) are cut
    /// into `folds` contiguous groups of nearly equal size; each group is the test set once.
    /// RAVDESS with 6 folds gives actors 1–4, 5–8, … (2 male + 2 female each).
    public static func speakerKFold(_ corpus: Corpus, folds k: Int, seed: UInt64,
                                    validation: ValidationPolicy = .nextGroup,
                                    shuffleSpeakers: Bool = false) throws -> SplitPlan {
        var speakers = corpus.speakers
        guard k >= 2, k <= speakers.count else {
            throw SplitError.notApplicable("\(k) folds for \(speakers.count) speakers")
        }
        if shuffleSpeakers {
            var rng = SeededRandom.derived(seed: seed, stream: 7_000_001)
            shuffle(&speakers, &rng)
        }
        var groups: [[String]] = []
        var start = 0
        for i in 0..<k {
            let size = speakers.count / k + (i < speakers.count % k ? 1 : 0)
            groups.append(Array(speakers[start..<(start + size)])); start += size
        }
        return try groupFolds(corpus, groups: groups, names: (1...k).map { "fold-\($0)" }, seed: seed,
                              validation: validation, protocolName: "speaker-kfold",
                              parameters: ["folds": "\(k)", "shuffleSpeakers": "\(shuffleSpeakers)"])
    }

    /// Leave-one-speaker-out: one fold per speaker. Validation defaults to one other speaker (seeded).
    public static func leaveOneSpeakerOut(_ corpus: Corpus, seed: UInt64,
                                          validation: ValidationPolicy = .speakers(1)) throws -> SplitPlan {
        let speakers = corpus.speakers
        guard speakers.count >= 2 else { throw SplitError.notApplicable("\(speakers.count) speaker(s)") }
        return try groupFolds(corpus, groups: speakers.map { [$0] }, names: speakers.map { "speaker-\($0)" },
                              seed: seed, validation: validation, protocolName: "leave-one-speaker-out", parameters: [:])
    }

    /// Leave-one-session-out (IEMOCAP): one fold per value of the `session` tag; the test session's
    /// speakers never appear in its training or validation data. Validation defaults to two
    /// speakers (seeded) from the training sessions.
    public static func leaveOneSessionOut(_ corpus: Corpus, seed: UInt64, sessionTag: String = "session",
                                          validation: ValidationPolicy = .speakers(2)) throws -> SplitPlan {
        var sessionSpeakers: [String: Set<String>] = [:]
        for e in corpus.entries {
            guard let s = e.tags[sessionTag] else {
                throw SplitError.notApplicable("entry \(e.id) has no '\(sessionTag)' tag")
            }
            sessionSpeakers[s, default: []].insert(e.speaker)
        }
        let sessions = sessionSpeakers.keys.sorted { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
        guard sessions.count >= 2 else { throw SplitError.notApplicable("\(sessions.count) session(s)") }
        let groups = sessions.map { Array(sessionSpeakers[$0] ?? []).sorted() }
        var seen: [String: String] = [:]
        for (s, g) in zip(sessions, groups) {
            for sp in g {
                if let o = seen[sp] { throw SplitError.notApplicable("speaker \(sp) is in sessions \(o) and \(s)") }
                seen[sp] = s
            }
        }
        return try groupFolds(corpus, groups: groups, names: sessions.map { "session-\($0)" }, seed: seed,
                              validation: validation, protocolName: "leave-one-session-out",
                              parameters: ["sessionTag": sessionTag])
    }

    /// Leave-one-corpus-out on a pooled corpus (``Corpus/pooled(_:)``): one fold per corpus, whose
    /// every clip is the test set; the model trains on the other corpora. Validation takes
    /// `validationFraction` of each training corpus's speakers (at least one, seeded), so every
    /// training corpus is represented in model selection and no validation speaker trains.
    public static func leaveOneCorpusOut(_ corpus: Corpus, seed: UInt64, validationFraction: Double = 0.1) throws -> SplitPlan {
        let names = corpus.memberCorpora
        guard names.count >= 2 else {
            throw SplitError.notApplicable("leave-one-corpus-out needs at least two corpora (got \(names.joined(separator: ", ")))")
        }
        guard validationFraction > 0, validationFraction < 1 else {
            throw SplitError.notApplicable("validation fraction \(validationFraction)")
        }
        var speakersOf: [String: [String]] = [:]
        for e in corpus.entries { speakersOf[e.tags["corpus"] ?? corpus.name, default: []].append(e.speaker) }
        for (k, v) in speakersOf { speakersOf[k] = Array(Set(v)).sorted() }
        var folds: [SplitFold] = []
        for (i, left) in names.enumerated() {
            var validationSpeakers: Set<String> = []
            for (j, other) in names.enumerated() where other != left {
                var pool = speakersOf[other] ?? []
                guard pool.count >= 2 else {
                    throw SplitError.notApplicable("\(other) has \(pool.count) speaker(s); validation needs one and training one")
                }
                var rng = SeededRandom.derived(seed: seed, stream: 6_000_000 &+ UInt64(i * 100 + j))
                shuffle(&pool, &rng)
                let n = min(pool.count - 1, max(1, Int((Double(pool.count) * validationFraction).rounded())))
                validationSpeakers.formUnion(pool.prefix(n))
            }
            var train: [String] = [], validation: [String] = [], test: [String] = []
            for e in corpus.entries {
                if (e.tags["corpus"] ?? corpus.name) == left { test.append(e.id) }
                else if validationSpeakers.contains(e.speaker) { validation.append(e.id) }
                else { train.append(e.id) }
            }
            folds.append(SplitFold(name: "corpus-\(left)", train: train, validation: validation, test: test,
                                   testSpeakers: speakersOf[left] ?? [], validationSpeakers: validationSpeakers.sorted()))
        }
        return SplitPlan(corpus: corpus, protocolName: "leave-one-corpus-out", seed: seed, speakerIndependent: true,
                         validationSpeakerIndependent: true, testSetsPartitionCorpus: true,
                         parameters: ["validation": "speakers per training corpus:\(validationFraction)"], folds: folds)
    }

    /// Folds from disjoint speaker groups: group i is tested in fold i; validation per `validation`.
    public static func groupFolds(_ corpus: Corpus, groups: [[String]], names: [String], seed: UInt64,
                                  validation: ValidationPolicy, protocolName: String,
                                  parameters: [String: String]) throws -> SplitPlan {
        precondition(groups.count == names.count, "one name per group")
        var groupOf: [String: Int] = [:]
        for (i, g) in groups.enumerated() { for s in g { groupOf[s] = i } }
        var folds: [SplitFold] = []
        for (i, testGroup) in groups.enumerated() {
            let testSet = Set(testGroup)
            let rest = corpus.entries.filter { !testSet.contains($0.speaker) }
            let test = corpus.entries.filter { testSet.contains($0.speaker) }.map(\.id)
            var val: [String] = [], train: [String] = [], valSpeakers: [String] = []
            switch validation {
            case .nextGroup:
                guard groups.count >= 3 else { throw SplitError.notApplicable("next-group validation needs 3 groups") }
                let v = Set(groups[(i + 1) % groups.count]); valSpeakers = Array(v)
                for e in rest { if v.contains(e.speaker) { val.append(e.id) } else { train.append(e.id) } }
            case .speakers(let n):
                var pool = Array(Set(rest.map(\.speaker))).sorted()
                guard n >= 1, n < pool.count else {
                    throw SplitError.notApplicable("\(n) validation speakers from \(pool.count) training speakers")
                }
                var rng = SeededRandom.derived(seed: seed, stream: 5_000_000 &+ UInt64(i))
                shuffle(&pool, &rng)
                let v = Set(pool.prefix(n)); valSpeakers = Array(v)
                for e in rest { if v.contains(e.speaker) { val.append(e.id) } else { train.append(e.id) } }
            case .stratifiedFraction(let f):
                guard f > 0, f < 1 else { throw SplitError.notApplicable("validation fraction \(f)") }
                for g in byLabel(rest, labels: corpus.labels, seed: seed, stream: 1 &+ UInt64(i)) {
                    let nVa = Int((Double(g.count) * f).rounded())
                    for (j, e) in g.enumerated() { if j < nVa { val.append(e.id) } else { train.append(e.id) } }
                }
            }
            folds.append(SplitFold(name: names[i], train: train, validation: val, test: test,
                                   testSpeakers: testGroup, validationSpeakers: valSpeakers))
        }
        var p = parameters
        p["validation"] = validation.description
        return SplitPlan(corpus: corpus, protocolName: protocolName, seed: seed, speakerIndependent: true,
                         validationSpeakerIndependent: validation.isSpeakerDisjoint, testSetsPartitionCorpus: true,
                         parameters: p, folds: folds)
    }
}
