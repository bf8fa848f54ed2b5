import Foundation
import SERCore
import SERCorpora
import SERFeatures
import SERModel
import SERReports

/// The evaluation protocols a run can follow.
public enum EvaluationProtocol: String, Codable, Sendable, CaseIterable {
    /// The paper's stratified random 6:2:2 train/validation/test split (one per seed).
    case holdout
    /// Speaker-independent k-fold (groups of speakers; RAVDESS: 6 folds of 4 actors).
    case speakerKFold = "speaker-kfold"
    /// Leave one speaker out (EMO-DB: 10 folds, SAVEE: 4).
    case loso
    /// Leave one session out (IEMOCAP).
    case losoSession = "loso-session"
    /// Leave one corpus out (several corpora): train on the others, test on every clip of the one left out.
    case loco
}

/// One corpus of a multi-corpus experiment: which loader and where its files are.
public struct CorpusSource: Codable, Sendable, Equatable {
    public var corpus: CorpusKind
    public var data: String
    public init(corpus: CorpusKind, data: String) { self.corpus = corpus; self.data = data }
}

/// Everything that defines an experiment; saved as `spec.json` in the run folder so that a run
/// can be resumed, re-evaluated and reproduced.
public struct ExperimentSpec: Codable, Sendable, Equatable {
    /// Corpus kind.
    public var corpus: CorpusKind
    /// Corpus folder.
    public var data: String
    /// Protocol.
    public var protocolKind: EvaluationProtocol
    /// Folds for `speaker-kfold`.
    public var folds: Int = 6
    /// Seeds: one split and one training run per seed for `holdout`; for the other protocols
    /// the first seed is used for everything.
    public var seeds: [UInt64] = [0]
    /// Run only these folds (by name); empty = all.
    public var onlyFolds: [String] = []
    /// Feature settings.
    public var features = FeatureConfig()
    /// Model architecture (`inputChannels` and `numClasses` are filled in from data).
    public var model = STACNNConfig()
    /// Optimisation settings (`seed` is set per run).
    public var training = TrainingConfig()
    /// Per-clip normalisation before the standardiser; nil means `.global` (and keeps `spec.json`
    /// of runs made before this setting existed readable).
    public var normalization: FeatureNormalization? = nil
    /// Waveform augmentation of training clips; nil means none (and keeps older `spec.json` readable).
    public var augmentation: WaveformAugmentation? = nil
    /// Several corpora pooled into one (`--corpus a,b --data A,B`); when set, `corpus`/`data` are
    /// its first entry. nil: one corpus (and older `spec.json` files stay equal).
    public var corpora: [CorpusSource]? = nil
    /// The label space (``LabelSet``); nil means each corpus's own labels for one corpus and
    /// `shared7` for several.
    public var labels: LabelSet? = nil
    /// Conditions each fold's model is also scored under: perturbed copies of its validation clips,
    /// one per perturbation (e.g. ``WaveformAugmentation/robustnessBattery``). nil: none (and older
    /// `spec.json` files stay equal). Never used to train or to choose anything.
    public var robustness: WaveformAugmentation? = nil

    /// The label set in effect.
    public var effectiveLabels: LabelSet { labels ?? ((corpora?.count ?? 1) > 1 ? .shared7 : .corpus) }

    /// The normalisation in effect.
    public var effectiveNormalization: FeatureNormalization { normalization ?? .global }

    /// A spec with defaults.
    public init(corpus: CorpusKind, data: String, protocolKind: EvaluationProtocol) {
        self.corpus = corpus; self.data = data; self.protocolKind = protocolKind
    }
}

/// Runs an experiment: loads the corpus, writes the split file, extracts (cached) features,
/// trains one model per fold/seed and evaluates it on its test set, then writes the report.
///
/// Run folder: `spec.json`, `split.json`, `<fold>/checkpoint.safetensors`, `<fold>/model.safetensors`,
/// `<fold>/result.json` (test metrics), `report.md`/`report.json`/SVG plots.
public struct ExperimentRunner {
    /// The experiment.
    public var spec: ExperimentSpec
    /// Run folder.
    public var directory: URL
    /// Feature cache root.
    public var cacheDirectory: URL
    /// Show progress bars.
    public var progress = true
    /// Called with a line of text per finished fold.
    public var log: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }

    /// A runner.
    public init(spec: ExperimentSpec, directory: URL, cacheDirectory: URL) {
        self.spec = spec; self.directory = directory; self.cacheDirectory = cacheDirectory
    }

    var specURL: URL { directory.appendingPathComponent("spec.json") }
    var splitURL: URL { directory.appendingPathComponent("split.json") }

    /// Loads the corpus and reports its problems through `log`.
    public func loadCorpus() throws -> Corpus {
        let sources = spec.corpora ?? [CorpusSource(corpus: spec.corpus, data: spec.data)]
        let loaded = try sources.map { try $0.corpus.loader.load(from: URL(fileURLWithPath: $0.data)).relabelled(spec.effectiveLabels) }
        if loaded.count > 1, spec.effectiveLabels == .corpus {
            throw ExperimentError.invalidSetup("--labels corpus is for one corpus; several need a shared set (shared7 or shared6)")
        }
        let corpus = loaded.count == 1 ? loaded[0] : try Corpus.pooled(loaded)
        for p in corpus.problems { log("corpus: \(p)") }
        return corpus
    }

    /// The split plan: read from `split.json` when present, otherwise made from the spec and written.
    public func splitPlan(_ corpus: Corpus) throws -> SplitPlan {
        if FileManager.default.fileExists(atPath: splitURL.path) {
            let plan = try SplitPlan.read(from: splitURL)
            try plan.validate(against: corpus)
            return plan
        }
        let seed = spec.seeds.first ?? 0
        let plan: SplitPlan
        switch spec.protocolKind {
        case .holdout:
            var folds: [SplitFold] = []
            var first: SplitPlan? = nil
            for s in spec.seeds {
                let p = try SplitProtocols.stratifiedHoldout(corpus, seed: s)
                first = first ?? p
                folds += p.folds.map { var f = $0; f.name = "seed-\(s)"; f.seed = s; return f }
            }
            guard let base = first else { throw ExperimentError.invalidSetup("holdout needs at least one seed") }
            plan = SplitPlan(corpus: corpus, protocolName: "holdout-6:2:2", seed: seed, speakerIndependent: false,
                             validationSpeakerIndependent: false, testSetsPartitionCorpus: false,
                             parameters: base.parameters.merging(["seeds": spec.seeds.map(String.init).joined(separator: ",")]) { $1 },
                             folds: folds)
        case .speakerKFold:
            // Pooled corpora: speakers are shuffled (seeded), so that every fold mixes corpora.
            plan = try SplitProtocols.speakerKFold(corpus, folds: spec.folds, seed: seed,
                                                   shuffleSpeakers: corpus.memberCorpora.count > 1)
        case .loso: plan = try SplitProtocols.leaveOneSpeakerOut(corpus, seed: seed)
        case .losoSession: plan = try SplitProtocols.leaveOneSessionOut(corpus, seed: seed)
        case .loco: plan = try SplitProtocols.leaveOneCorpusOut(corpus, seed: seed)
        }
        try plan.validate(against: corpus)
        try plan.write(to: splitURL)
        return plan
    }

    /// The folds of `plan` this run covers: all of them, or those named in `spec.onlyFolds`.
    func selectedFolds(_ plan: SplitPlan, _ corpus: Corpus) throws -> [ResolvedFold] {
        try plan.resolve(in: corpus).filter { spec.onlyFolds.isEmpty || spec.onlyFolds.contains($0.name) }
    }

    /// Features (from the cache, extracted once per file) of `entries`, and of the perturbed copies
    /// of `augmented` (training clips) under each of the spec's perturbations, normalised per clip
    /// as the spec says. `.speaker` statistics come from all of a speaker's clips among `entries`;
    /// each perturbed copy of a speaker counts as a speaker of its own (as speed-perturbed speakers
    /// do in speech recognition), so the originals' statistics do not depend on the augmentation.
    ///
    /// With `scored` (validation clips) and a spec with ``ExperimentSpec/robustness``, also the
    /// copies of `scored` under each robustness condition, stored under the condition's tag.
    func clipTable(_ entries: [CorpusEntry], augmented: [CorpusEntry] = [], scored: [CorpusEntry] = [],
                   labels: [String]) throws -> ClipTable {
        let cache = FeatureCache(root: cacheDirectory, config: spec.features)
        var table = ClipTable(labelIndex: Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) }))
        // The files of each perturbation: training clips for augmentation, scored clips for robustness
        // (disjoint sets of files, so a condition used for both keeps one entry per file).
        var perturbed: [(AudioPerturbation, [CorpusEntry])] = []
        for (list, clips) in [(spec.augmentation?.perturbations ?? [], augmented), (spec.robustness?.perturbations ?? [], scored)] where !clips.isEmpty {
            for p in list {
                if let i = perturbed.firstIndex(where: { $0.0 == p }) { perturbed[i].1 += clips } else { perturbed.append((p, clips)) }
            }
        }
        let variants: [(AudioPerturbation?, [CorpusEntry])] = [(nil, entries)] + perturbed.map { ($0.0, $0.1) }
        for (variant, members) in variants {
            var speakerOf: [URL: String] = [:]
            for e in members { speakerOf[e.url] = e.speaker + (variant.map { "|" + $0.tag } ?? "") }
            let urls = speakerOf.keys.sorted { $0.path < $1.path }
            var feats = try cache.features(for: urls, perturbation: variant, progress: progress)
            spec.effectiveNormalization.apply(&feats, groups: urls.map { speakerOf[$0] ?? "" })
            for (u, x) in zip(urls, feats) { table.features[ClipTable.Key(url: u, variant: variant?.tag ?? "")] = x }
        }
        return table
    }

    /// The training clips of `fold`: the originals, then one perturbed copy of each per perturbation.
    func trainingClips(_ fold: ResolvedFold, _ table: ClipTable) throws -> LabelledClips {
        var clips = try table.clips(fold.train)
        for p in spec.augmentation?.perturbations ?? [] {
            let copies = try table.clips(fold.train, variant: p.tag)
            clips.features += copies.features; clips.labels += copies.labels
        }
        // Sampling groups (corpus, class), for batches balanced by corpus and class.
        var groupIDs: [String: Int] = [:]
        let groups = fold.train.map { e in
            let key = (e.tags["corpus"] ?? "") + "\u{1}" + e.label
            if let g = groupIDs[key] { return g }
            groupIDs[key] = groupIDs.count
            return groupIDs.count - 1
        }
        clips.groups = Array(repeating: groups, count: 1 + (spec.augmentation?.perturbations.count ?? 0)).flatMap { $0 }
        return clips
    }

    /// Trains (or resumes) every fold, evaluates each best model on its test set and writes the report.
    public func run(resume: Bool) throws -> ExperimentReport {
        try spec.augmentation?.validate()                            // before spec.json is written
        try spec.training.validate()
        let fm = FileManager.default
        if resume, !fm.fileExists(atPath: specURL.path) {
            throw ExperimentError.runMismatch(path: directory.path, reason: "there is no run to resume here (no spec.json); "
                + "start it without --resume, or check the --out folder")
        }
        if fm.fileExists(atPath: specURL.path) {
            let old = try JSONDecoder().decode(ExperimentSpec.self, from: Data(contentsOf: specURL))
            guard old == spec else {
                throw ExperimentError.runMismatch(path: directory.path, reason: "holds a run with other settings (spec.json); choose a new --out folder")
            }
            guard resume else {
                throw ExperimentError.runMismatch(path: directory.path, reason: "already holds this run; pass --resume to continue it or choose a new --out folder")
            }
        }
        let corpus = try loadCorpus()                                  // a bad --data fails before anything is written
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let freshSpec = !fm.fileExists(atPath: specURL.path), freshSplit = !fm.fileExists(atPath: splitURL.path)
        try enc.encode(spec).write(to: specURL, options: .atomic)
        let plan: SplitPlan
        do { plan = try splitPlan(corpus) } catch {
            // A protocol the corpus cannot satisfy leaves the folder as it was, so that a rerun
            // with corrected settings is not refused as "another run".
            if freshSpec { try? fm.removeItem(at: specURL) }
            if freshSplit { try? fm.removeItem(at: splitURL) }
            throw error
        }
        let folds = try selectedFolds(plan, corpus)
        let table = try clipTable(folds.flatMap { $0.train + $0.validation + $0.test },
                                  augmented: folds.flatMap(\.train), scored: folds.flatMap(\.validation), labels: corpus.labels)
        var results: [FoldResult] = []
        for fold in folds {
            let foldDir = directory.appendingPathComponent(fold.name)
            var model = spec.model
            model.adapt(to: spec.features)
            model.numClasses = corpus.labels.count
            var training = spec.training
            training.seed = fold.seed ?? spec.seeds.first ?? 0
            if training.epochClipsOriginals == true { training.epochClips = fold.train.count; training.epochClipsOriginals = nil }
            let trainer = Trainer(directory: foldDir, modelConfig: model, config: training,
                                  featureConfig: spec.features, labels: corpus.labels,
                                  normalization: spec.effectiveNormalization)
            let outcome = try trainer.train(train: try trainingClips(fold, table), validation: try table.clips(fold.validation),
                                            resume: resume, progress: progress)
            let test = try table.clips(fold.test)
            let (_, calibration, predicted) = try Self.testWithCalibration(outcome.model, test, labels: corpus.labels)
            let (metrics, byCorpus) = try Self.foldMetrics(predicted, fold, test, labels: corpus.labels)
            var r = FoldResult(name: fold.name, metrics: metrics, history: outcome.history,
                               trainCount: fold.train.count, validationCount: fold.validation.count, calibration: calibration)
            r.byCorpus = byCorpus
            r.robustness = try robustness(fold, table) { try Self.predictions(outcome.model, $0) }
            try enc.encode(r).write(to: foldDir.appendingPathComponent("result.json"), options: .atomic)
            log(String(format: "%@: test accuracy %.2f%%, UA %.2f%%, best epoch %d of %d",
                       fold.name, (metrics.accuracy ?? 0) * 100, (metrics.unweightedAccuracy ?? 0) * 100,
                       outcome.history.bestEpoch ?? 0, outcome.history.epochs.count))
            if let w = outcome.model.layerWeightsSummary { log("\(fold.name): learned layer weights softmax(w): \(w)") }
            results.append(r)
        }
        return try writeReport(results, plan: plan)
    }

    /// Accuracy on the fold's validation clips, clean (tag "") and under each robustness condition;
    /// nil when the spec asks for none.
    func robustness(_ fold: ResolvedFold, _ table: ClipTable, predict: (LabelledClips) throws -> [Int]) throws -> [String: Double]? {
        guard let conditions = spec.robustness?.perturbations, !conditions.isEmpty, !fold.validation.isEmpty else { return nil }
        var out: [String: Double] = [:]
        for tag in [""] + conditions.map(\.tag) {
            let clips = try table.clips(fold.validation, variant: tag)
            let predicted = try predict(clips)
            out[tag] = Double(zip(predicted, clips.labels).filter { $0 == $1 }.count) / Double(clips.labels.count)
        }
        return out
    }

    /// Test-set metrics of a saved model on clips (normalised per clip already; the model's
    /// standardiser is applied).
    public static func test(_ saved: SavedModel, _ data: LabelledClips, labels: [String]) throws -> ClassificationMetrics {
        ClassificationMetrics(confusion: try ConfusionMatrix(labels: labels, truth: data.labels,
                                                             predicted: try predictions(saved, data)))
    }

    /// Predicted class of each clip (normalised per clip already; the model's standardiser is applied).
    public static func predictions(_ saved: SavedModel, _ data: LabelledClips) throws -> [Int] {
        let model = try saved.makeModel()
        let xs = data.features.map(saved.standardizer.applied(to:))
        return try Evaluation.run(model, xs).1
    }

    /// Test metrics of each corpus of a pooled experiment; nil when the entries come from one corpus.
    static func metricsByCorpus(_ entries: [CorpusEntry], truth: [Int], predicted: [Int],
                                labels: [String]) throws -> [String: ClassificationMetrics]? {
        let corpora = Set(entries.compactMap { $0.tags["corpus"] })
        guard !corpora.isEmpty else { return nil }
        var out: [String: ClassificationMetrics] = [:]
        for c in corpora.sorted() {
            let idx = entries.indices.filter { entries[$0].tags["corpus"] == c }
            out[c] = try ClassificationMetrics(labels: labels, truth: idx.map { truth[$0] }, predicted: idx.map { predicted[$0] })
        }
        return out
    }

    /// A fold's test metrics, overall and per corpus.
    static func foldMetrics(_ predicted: [Int], _ fold: ResolvedFold, _ test: LabelledClips,
                            labels: [String]) throws -> (ClassificationMetrics, [String: ClassificationMetrics]?) {
        (try ClassificationMetrics(labels: labels, truth: test.labels, predicted: predicted),
         try metricsByCorpus(fold.test, truth: test.labels, predicted: predicted, labels: labels))
    }

    /// Builds and writes the Markdown/JSON/SVG report of finished folds.
    public func writeReport(_ results: [FoldResult], plan: SplitPlan) throws -> ExperimentReport {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        // The architecture as trained: input channels and classes come from the data.
        var model = spec.model
        model.adapt(to: spec.features)
        if let classes = results.first?.metrics.confusion.labels.count { model.numClasses = classes }
        var report = try ExperimentReport(
            title: "STA-CNN on \(plan.corpus), \(plan.protocolName)", corpus: plan.corpus, protocolName: plan.protocolName,
            settings: [
                "features": spec.features.jsonString(),
                "model": String(decoding: try enc.encode(model), as: UTF8.self),
                "training": String(decoding: try enc.encode(spec.training), as: UTF8.self),
                "seeds": spec.seeds.map(String.init).joined(separator: ","),
                "split": "split.json (fingerprint \(plan.entriesFingerprint))",
                "normalization": spec.effectiveNormalization.rawValue,
            ].merging(perturbationSettings) { $1 },
            folds: results,
            notes: ["Test metrics of the checkpoint with the best validation accuracy; the test data never influenced training or model selection."]
                + augmentationNotes
                + (spec.training.weightAverageDecay.map { ["Validation, checkpoint selection and testing used an exponential moving average of the weights (decay \($0))."] } ?? [])
                + epochNotes
                + layerWeightNotes(results))
        report.comparison = report.comparisonWithPaper()
        try report.write(to: directory)
        return report
    }
}

extension ExperimentRunner {
    /// Report settings naming the training augmentation and the robustness conditions, when set.
    var perturbationSettings: [String: String] {
        var out: [String: String] = [:]
        if let a = spec.augmentation { out["augmentation"] = a.perturbations.map(\.tag).joined(separator: ", ") }
        if let r = spec.robustness { out["robustness"] = r.perturbations.map(\.tag).joined(separator: ", ") }
        return out
    }

    /// The report note saying how many clips each epoch drew, when not all of them.
    var epochNotes: [String] {
        let t = spec.training
        let count = t.epochClipsOriginals == true ? "as many training clips as the fold has originals" : t.epochClips.map { "\($0) training clips" }
        guard let count else { return [] }
        return ["Each epoch drew " + count + (t.balancedSampling == true ? " (balanced over corpus and class, with replacement)." : " (a random subset of the training clips and their copies).")]
    }

    /// The report note saying which training copies were added (none without augmentation).
    var augmentationNotes: [String] {
        spec.augmentation.map { ["Training clips were augmented with one perturbed copy each per perturbation (\($0.perturbations.map(\.tag).joined(separator: ", "))); validation and test clips were not. Train counts are of original clips."] } ?? []
    }

    /// With `--encoder-layer weighted`: the layer weights `softmax(w)` each fold's kept model
    /// learned (0 = the embedding output, `l` = block `l`), read from its model file.
    func layerWeightNotes(_ results: [FoldResult]) -> [String] {
        guard spec.features.encoder?.layer == .weighted else { return [] }
        let lines = results.compactMap { r -> String? in
            let url = directory.appendingPathComponent(r.name).appendingPathComponent("model.safetensors")
            return (try? SavedModel.read(from: url))?.layerWeightsSummary.map { "\(r.name): \($0)" }
        }
        return ["Learned weight of each encoder hidden state, softmax(w) in % (state 0 is the embedding output, "
                + "state l < last the output of block l, the last state the encoder's output after its final LayerNorm; uniform would be \(String(format: "%.1f", 100 / Double(spec.features.encoder?.states ?? 1))) %):"]
            + lines
    }

    /// `<fold>/model.safetensors` of a fold whose training has finished, or nil (logged as skipped).
    /// `result.json` is written only once a fold's training has finished: an interrupted fold's
    /// best-so-far model is not a result.
    func finishedModel(_ fold: ResolvedFold) -> URL? {
        let foldDir = directory.appendingPathComponent(fold.name)
        let modelURL = foldDir.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: foldDir.appendingPathComponent("result.json").path),
              FileManager.default.fileExists(atPath: modelURL.path) else {
            log("\(fold.name): training not finished, skipped (continue it with `ser train ... --resume`)")
            return nil
        }
        return modelURL
    }

    /// Re-evaluates the best model (`<fold>/model.safetensors`) of every finished fold on its test
    /// set and rewrites the report; unfinished folds are skipped with a log line.
    public func evaluate() throws -> ExperimentReport {
        let corpus = try loadCorpus()
        let plan = try splitPlan(corpus)
        let folds = try selectedFolds(plan, corpus)
        let table = try clipTable(folds.flatMap { $0.train + $0.validation + $0.test }, labels: corpus.labels)
        var results: [FoldResult] = []
        for fold in folds {
            let foldDir = directory.appendingPathComponent(fold.name)
            guard let modelURL = finishedModel(fold) else { continue }
            let saved = try SavedModel.read(from: modelURL)
            let test = try table.clips(fold.test)
            let (_, calibration, predicted) = try Self.testWithCalibration(saved, test, labels: corpus.labels)
            let (metrics, byCorpus) = try Self.foldMetrics(predicted, fold, test, labels: corpus.labels)
            var history: TrainingHistory? = nil
            if let f = try? SafeTensorsFile(contentsOf: foldDir.appendingPathComponent("checkpoint.safetensors")),
               let h = f.metadata["history"]?.data(using: .utf8) { history = try? JSONDecoder().decode(TrainingHistory.self, from: h) }
            var r = FoldResult(name: fold.name, metrics: metrics, history: history,
                               trainCount: fold.train.count, validationCount: fold.validation.count, calibration: calibration)
            r.byCorpus = byCorpus
            results.append(r)
            log(String(format: "%@: test accuracy %.2f%%", fold.name, (metrics.accuracy ?? 0) * 100))
        }
        guard !results.isEmpty else { throw ExperimentError.badRunFile(path: directory.path, reason: "no fold has finished training yet") }
        return try writeReport(results, plan: plan)
    }
}

extension ExperimentReport {
    /// One line: corpus, protocol, runs, mean ± std accuracy and UA, and where the report is.
    public func summaryLine(directory: String) -> String {
        let acc = aggregate.accuracy.map { $0.n > 1 ? "\($0.percent()) % (± over \($0.n) runs)" : $0.percent() + " %" } ?? "-"
        let ua = aggregate.unweightedAccuracy.map { $0.percent() + " %" } ?? "-"
        return "\(corpus) \(protocolName): accuracy \(acc), UA \(ua); report: \(directory)/report.md"
    }
}

extension ExperimentRunner {
    /// Fits the linear baseline (``LinearBaseline``) on every fold of the split and writes its report.
    public func runBaseline() throws -> ExperimentReport {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // One BLAS thread: the fit is tiny, and the L2 choice on validation data must not depend
        // on the machine's core count through rounding.
        let blasThreads = BLAS.threads
        BLAS.setThreads(1)
        defer { BLAS.setThreads(blasThreads) }
        let corpus = try loadCorpus()
        let plan = try splitPlan(corpus)
        let folds = try selectedFolds(plan, corpus)
        try spec.augmentation?.validate()
        let table = try clipTable(folds.flatMap { $0.train + $0.validation + $0.test },
                                  augmented: folds.flatMap(\.train), scored: folds.flatMap(\.validation), labels: corpus.labels)
        var results: [FoldResult] = []
        for fold in folds {
            // Training clips and their perturbed copies (the same helper as `run`); validation and test clips as recorded.
            let train = try trainingClips(fold, table), validation = try table.clips(fold.validation), test = try table.clips(fold.test)
            let model = LinearBaseline(train: train.features, trainLabels: train.labels, validation: validation.features,
                                       validationLabels: validation.labels, classes: corpus.labels.count)
            let (m, byCorpus) = try Self.foldMetrics(model.predict(test.features), fold, test, labels: corpus.labels)
            log(String(format: "%@: baseline validation accuracy %.2f%%, test accuracy %.2f%%, UA %.2f%% (L2 %g chosen on validation)",
                       fold.name, model.validationAccuracy * 100, (m.accuracy ?? 0) * 100, (m.unweightedAccuracy ?? 0) * 100, model.l2))
            var r = FoldResult(name: fold.name, metrics: m, trainCount: fold.train.count, validationCount: fold.validation.count,
                               calibration: model.calibration(validation: validation, test: test))
            r.byCorpus = byCorpus
            r.validationAccuracy = model.validationAccuracy
            r.robustness = try robustness(fold, table) { model.predict($0.features) }
            results.append(r)
        }
        var report = try ExperimentReport(
            title: "Baseline (logistic regression on utterance statistics) on \(plan.corpus), \(plan.protocolName)",
            corpus: plan.corpus, protocolName: plan.protocolName,
            settings: ["features": spec.features.jsonString(), "split": "split.json (fingerprint \(plan.entriesFingerprint))",
                       "normalization": spec.effectiveNormalization.rawValue].merging(perturbationSettings) { $1 },
            folds: results,
            notes: ["Multinomial logistic regression on per-channel mean and std of the fused features; L2 chosen on validation data."]
                + augmentationNotes)
        report.comparison = report.comparisonWithPaper(model: "Baseline: logistic regression")
        try report.write(to: directory)
        return report
    }
}

/// Normalised features by (file, perturbation); turns lists of corpus entries into labelled clips.
struct ClipTable {
    struct Key: Hashable { var url: URL; var variant: String }
    /// Class index of each label.
    let labelIndex: [String: Int]
    /// Features by file and perturbation tag ("" for the original).
    var features: [Key: Tensor] = [:]

    /// The clips of `subset` (all must be in the table under `variant`), labelled by class index.
    /// - Throws: ``ExperimentError/invalidSetup(_:)`` naming the file whose features are missing
    ///   or whose label is not one of the model's classes.
    func clips(_ subset: [CorpusEntry], variant: String = "") throws -> LabelledClips {
        var out = LabelledClips(features: [], labels: [])
        out.features.reserveCapacity(subset.count); out.labels.reserveCapacity(subset.count)
        for e in subset {
            guard let x = features[Key(url: e.url, variant: variant)] else {
                throw ExperimentError.invalidSetup("no features for \(e.url.path)\(variant.isEmpty ? "" : " (\(variant))")")
            }
            guard let k = labelIndex[e.label] else {
                throw ExperimentError.invalidSetup("\(e.url.path): label '\(e.label)' is not one of the classes \(labelIndex.keys.sorted())")
            }
            out.features.append(x); out.labels.append(k)
        }
        return out
    }
}
