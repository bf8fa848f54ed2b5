import Foundation

/// The result of one fold (or one seed) of an experiment.
public struct FoldResult: Codable, Sendable, Equatable {
    /// Fold name (e.g. `fold-3`, `seed-7`).
    public var name: String
    /// Test-set metrics.
    public var metrics: ClassificationMetrics
    /// The training history, when recorded.
    public var history: TrainingHistory?
    /// Training set size.
    public var trainCount: Int?
    /// Validation set size.
    public var validationCount: Int?
    /// Test metrics of each corpus of a pooled experiment (nil for one corpus, and in older reports).
    public var byCorpus: [String: ClassificationMetrics]? = nil
    /// Calibration of the test clips' probabilities before and after temperature scaling (nil in
    /// results written before it was recorded, and for models without probabilities).
    public var calibration: FoldCalibration?
    /// Accuracy on the validation clips of the model that was kept (0...1; nil where not recorded).
    /// The figure settings are chosen by; the report shows it beside the test figures.
    public var validationAccuracy: Double? = nil
    /// Accuracy (0...1) on the validation clips clean (key "") and under each robustness condition
    /// (key: the perturbation's tag, e.g. `telephone`); nil where not measured.
    public var robustness: [String: Double]? = nil

    /// Creates a fold result.
    public init(name: String, metrics: ClassificationMetrics, history: TrainingHistory? = nil,
                trainCount: Int? = nil, validationCount: Int? = nil, calibration: FoldCalibration? = nil) {
        self.name = name; self.metrics = metrics; self.history = history
        self.trainCount = trainCount; self.validationCount = validationCount; self.calibration = calibration
    }
}

/// Everything about one experiment (one corpus, one protocol): settings, per-fold results, their
/// aggregate and a comparison with published numbers. Encodes to JSON with every number, renders
/// to Markdown, and writes its figures as SVG.
public struct ExperimentReport: Codable, Sendable, Equatable {
    /// Report title.
    public var title: String
    /// Corpus name.
    public var corpus: String
    /// Protocol name (e.g. `speaker-kfold`).
    public var protocolName: String
    /// Settings worth recording (seed, epochs, learning rate, feature configuration, commit…).
    public var settings: [String: String]
    /// Per-fold (or per-seed) results.
    public var folds: [FoldResult]
    /// Mean ± standard deviation over folds, and pooled metrics.
    public var aggregate: AggregateMetrics
    /// Rows for the comparison table and bar chart (ours and published).
    public var comparison: [ComparisonRow]
    /// Free-form remarks.
    public var notes: [String]
    /// Calibration over the folds that recorded it (nil when none did, e.g. older reports).
    public var calibration: CalibrationAggregate?

    /// Builds a report; the aggregate and the calibration aggregate are computed from `folds`.
    public init(title: String, corpus: String, protocolName: String, settings: [String: String] = [:],
                folds: [FoldResult], comparison: [ComparisonRow] = [], notes: [String] = []) throws {
        self.title = title; self.corpus = corpus; self.protocolName = protocolName; self.settings = settings
        self.folds = folds; self.comparison = comparison; self.notes = notes
        aggregate = try AggregateMetrics(folds.map(\.metrics))
        calibration = CalibrationAggregate(folds.compactMap(\.calibration))
    }

    /// Whether this run used the paper's protocol, a random stratified split in which the same
    /// speakers appear in training and test; false for the speaker-independent protocols.
    public var isRandomSplit: Bool { protocolName == "holdout-6:2:2" || protocolName == "stratified-holdout" }

    /// What the comparison chart compares: the paper's Table VIII numbers come from random 6:2:2
    /// splits, so beside a speaker-independent run they are not like for like, and the chart says so.
    public var comparisonProtocolNote: String {
        isRandomSplit
            ? "Published: STA-CNN paper, Table VIII. Both on random 6:2:2 splits (the same speakers in training and test)."
            : "Not like for like: the paper (Table VIII) splits at random, so its test speakers were heard in training; this run (\(protocolName)) tests on unseen speakers."
    }

    /// Our mean accuracy as a comparison row, followed by the paper's Table VIII rows for this corpus.
    public func comparisonWithPaper(model: String = "STA-CNN (this implementation)") -> [ComparisonRow] {
        var rows = PaperResults.rows(for: corpus)
        if let a = aggregate.accuracy {
            rows.append(ComparisonRow(dataset: rows.first?.dataset ?? corpus, model: model, accuracy: a.mean * 100,
                                      std: a.n > 1 ? a.std * 100 : nil, source: "this run (\(protocolName))",
                                      isOurs: true))
        }
        return rows
    }

    // MARK: JSON

    /// Pretty, key-sorted JSON of the whole report.
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(self)
    }

    /// Reads a report written by ``write(to:baseName:)``.
    public static func read(from url: URL) throws -> ExperimentReport {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ReportError.io(url.path, "cannot read")
        }
        do { return try JSONDecoder().decode(ExperimentReport.self, from: data) } catch {
            throw ReportError.io(url.path, "not a report: \(error)")
        }
    }

    // MARK: Markdown

    private static func pct(_ v: Double?, _ decimals: Int = 2) -> String {
        v.map { String(format: "%.\(decimals)f", $0 * 100) } ?? "–"
    }
    private static func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }

    /// The report as Markdown: settings, summary (mean ± SD), per-fold table, per-class table,
    /// pooled confusion matrix, comparison, figures and metric definitions. `figures` maps a
    /// caption to a relative image path.
    public func markdown(figures: [(caption: String, path: String)] = []) -> String {
        var s = "# \(title)\n\n"
        s += "| Setting | Value |\n|---|---|\n"
        s += "| Corpus | \(Self.cell(corpus)) |\n| Protocol | \(Self.cell(protocolName)) |\n"
        s += "| Runs (folds or seeds) | \(folds.count) |\n| Test utterances (all runs) | \(aggregate.pooled.count) |\n"
        for (k, v) in settings.sorted(by: { $0.key < $1.key }) { s += "| \(Self.cell(k)) | \(Self.cell(v)) |\n" }

        s += "\n## Summary\n\n"
        s += "Mean ± sample standard deviation over \(folds.count) run(s), in %.\n\n"
        s += "| Metric | Mean ± SD | Min | Max | Pooled |\n|---|---:|---:|---:|---:|\n"
        let agg = aggregate, pooled = aggregate.pooled
        for (name, m, p) in [("Weighted accuracy (WA)", agg.accuracy, pooled.accuracy),
                             ("Unweighted accuracy (UA)", agg.unweightedAccuracy, pooled.unweightedAccuracy),
                             ("Macro-F1", agg.macroF1, pooled.macroF1),
                             ("Weighted F1", agg.weightedF1, pooled.weightedF1)] {
            s += "| \(name) | \(m?.percent() ?? "–") | \(Self.pct(m?.min)) | \(Self.pct(m?.max)) | \(Self.pct(p)) |\n"
        }

        // The validation accuracy column appears only in reports that record it (older ones render as before).
        let showValidation = folds.contains { $0.validationAccuracy != nil }
        s += "\n## Per run\n\n| Run | Train | Validation | Test | WA | UA | Macro-F1 | Kept epoch |"
        s += showValidation ? " Validation accuracy |\n" : "\n"
        s += "|---|---:|---:|---:|---:|---:|---:|---:|" + (showValidation ? "---:|\n" : "\n")
        for f in folds {
            let m = f.metrics
            s += "| \(Self.cell(f.name)) | \(f.trainCount.map(String.init) ?? "–") | "
            s += "\(f.validationCount.map(String.init) ?? "–") | \(m.count) | \(Self.pct(m.accuracy)) | "
            s += "\(Self.pct(m.unweightedAccuracy)) | \(Self.pct(m.macroF1)) | "
            s += "\(f.history?.bestEpoch.map(String.init) ?? "–") |"
            s += showValidation ? " \(Self.pct(f.validationAccuracy)) |\n" : "\n"
        }

        let corpora = Array(Set(folds.flatMap { $0.byCorpus.map { Array($0.keys) } ?? [] })).sorted()
        if !corpora.isEmpty {
            s += "\n## Per corpus\n\nTest clips of each corpus, pooled over the runs that tested it (%).\n\n"
            s += "| Corpus | Runs | Test | WA | UA | Macro-F1 |\n|---|---:|---:|---:|---:|---:|\n"
            for c in corpora {
                let parts = folds.compactMap { $0.byCorpus?[c] }
                guard let first = parts.first else { continue }
                var counts = first.confusion.counts
                for p in parts.dropFirst() {
                    for i in counts.indices { for j in counts[i].indices { counts[i][j] += p.confusion.counts[i][j] } }
                }
                let m = ClassificationMetrics(confusion: ConfusionMatrix(labels: first.confusion.labels, counts: counts))
                s += "| \(Self.cell(c)) | \(parts.count) | \(m.count) | \(Self.pct(m.accuracy)) | "
                s += "\(Self.pct(m.unweightedAccuracy)) | \(Self.pct(m.macroF1)) |\n"
            }
        }

        let conditions = Array(Set(folds.flatMap { $0.robustness.map { Array($0.keys) } ?? [] })).filter { !$0.isEmpty }.sorted()
        if !conditions.isEmpty {
            s += "\n## Robustness\n\nAccuracy on the validation clips, clean and as perturbed copies (never used for training "
            s += "or choosing); mean over the runs that measured it (%), and the change from clean in points.\n\n"
            s += "| Condition | Runs | Accuracy | Change |\n|---|---:|---:|---:|\n"
            func mean(_ key: String) -> (Double, Int)? {
                let v = folds.compactMap { $0.robustness?[key] }
                return v.isEmpty ? nil : (v.reduce(0, +) / Double(v.count), v.count)
            }
            let clean = mean("")
            if let c = clean { s += "| clean | \(c.1) | \(Self.pct(c.0)) | – |\n" }
            for k in conditions {
                guard let m = mean(k) else { continue }
                let change = clean.map { String(format: "%+.2f", (m.0 - $0.0) * 100) } ?? "–"
                s += "| \(Self.cell(k)) | \(m.1) | \(Self.pct(m.0)) | \(change) |\n"
            }
        }

        s += "\n## Per class\n\nMean ± SD over runs (%); support summed over runs.\n\n"
        s += "| Class | Precision | Recall | F1 | Support |\n|---|---:|---:|---:|---:|\n"
        for c in agg.perClass {
            s += "| \(Self.cell(c.label)) | \(c.precision?.percent() ?? "–") | \(c.recall?.percent() ?? "–") | "
            s += "\(c.f1?.percent() ?? "–") | \(c.support) |\n"
        }

        let cm = pooled.confusion
        s += "\n## Confusion matrix\n\nPooled over runs; rows are true classes, columns predictions; "
        s += "the last column is the row's recall.\n\n"
        s += "| true \\ predicted | " + cm.labels.map(Self.cell).joined(separator: " | ") + " | Recall |\n"
        s += "|---|" + String(repeating: "---:|", count: cm.labels.count + 1) + "\n"
        for (i, row) in cm.counts.enumerated() {
            let cells = row.enumerated().map { j, v in j == i ? "**\(v)**" : "\(v)" }
            s += "| \(Self.cell(cm.labels[i])) | " + cells.joined(separator: " | ")
            s += " | \(Self.pct(pooled.perClass[i].recall, 1)) |\n"
        }

        if let cal = calibration {
            s += "\n## Calibration\n\nTop-1 confidence against top-1 accuracy on the test clips, with the plain softmax "
            s += "(before) and with the softmax temperature T fitted on each run's validation clips (after; for "
            s += "STA-CNN the temperature is stored in the model file and `ser predict` reports these probabilities). "
            s += "ECE: expected calibration error, \(CalibrationSummary.binCount) "
            s += "equal-width bins; NLL: mean negative log-likelihood of the true class.\n\n"
            s += "| Run | T | ECE before | ECE after | NLL before | NLL after | Mean confidence after | Accuracy |\n"
            s += "|---|---:|---:|---:|---:|---:|---:|---:|\n"
            func row(_ name: String, _ t: String, _ b: CalibrationSummary, _ a: CalibrationSummary) -> String {
                "| \(name) | \(t) | \(String(format: "%.4f", b.ece)) | \(String(format: "%.4f", a.ece)) | "
                    + "\(b.nll.map { String(format: "%.4f", $0) } ?? "–") | \(a.nll.map { String(format: "%.4f", $0) } ?? "–") | "
                    + "\(Self.pct(a.meanConfidence)) | \(Self.pct(a.accuracy)) |\n"
            }
            for f in folds {
                guard let c = f.calibration else { continue }
                s += row(Self.cell(f.name), String(format: "%.3f", c.temperature), c.before, c.after)
            }
            s += row("**pooled**", "", cal.pooledBefore, cal.pooledAfter)
            if let b = cal.eceBefore, let a = cal.eceAfter, b.n > 1 {
                s += String(format: "\nECE over runs: %.4f ± %.4f before, %.4f ± %.4f after (mean ± SD).\n", b.mean, b.std, a.mean, a.std)
            }
            let uncalibrated = folds.filter { $0.calibration?.temperature == 1 }.map(\.name)
            if !uncalibrated.isEmpty {
                s += "\nT = 1 (no temperature in the model file, e.g. trained before calibration existed): "
                s += uncalibrated.map(Self.cell).joined(separator: ", ") + ".\n"
            }
        }

        if !comparison.isEmpty {
            s += "\n## Comparison\n\n| Dataset | Model | Accuracy (%) | Source |\n|---|---|---:|---|\n"
            for r in comparison {
                let acc = String(format: "%.2f", r.accuracy) + (r.std.map { String(format: " ± %.2f", $0) } ?? "")
                let model = r.isOurs ? "**\(Self.cell(r.model))**" : Self.cell(r.model)
                s += "| \(Self.cell(r.dataset)) | \(model) | \(r.isOurs ? "**\(acc)**" : acc) | \(Self.cell(r.source)) |\n"
            }
            s += "\n" + comparisonProtocolNote + "\n"
        }
        if !figures.isEmpty {
            s += "\n## Figures\n\n"
            for f in figures { s += "![\(f.caption)](\(f.path))\n\n*\(f.caption)*\n\n" }
        }
        if !notes.isEmpty { s += "\n## Notes\n\n" + notes.map { "- \($0)\n" }.joined() }
        s += """

            ## Definitions

            WA (weighted accuracy) is plain accuracy. UA (unweighted accuracy) is the mean of per-class \
            recalls over classes present in the test set. Macro-F1 is the mean F1 over classes present in \
            the test set or the predictions; weighted F1 weights each class's F1 by its support. \
            "Pooled" values come from the confusion matrix summed over runs. \
            ECE (expected calibration error) sorts the test clips into 15 equal-width bins of top-1 \
            confidence and averages |bin accuracy − bin mean confidence| weighted by the bins' shares \
            of clips; 0 means the confidences can be read as probabilities of being right.

            """
        return s
    }

    // MARK: Files

    /// Writes `<baseName>.md`, `<baseName>.json`, `confusion-matrix.svg`, `learning-curve-<run>.svg`
    /// for each run with a history, `reliability-diagram.svg` (pooled) and `reliability-<run>.svg`
    /// for runs with calibration records, and `comparison.svg` when there are comparison rows, into
    /// `directory` (created if needed). Returns the files written.
    @discardableResult
    public func write(to directory: URL, baseName: String = "report") throws -> [URL] {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch { throw ReportError.io(directory.path, "cannot create folder: \(error)") }
        var written: [URL] = []
        var figures: [(caption: String, path: String)] = []
        func put(_ name: String, _ text: String) throws {
            let u = directory.appendingPathComponent(name)
            do { try Data(text.utf8).write(to: u, options: .atomic) } catch {
                throw ReportError.io(u.path, "cannot write: \(error)")
            }
            written.append(u)
        }
        let pooled = aggregate.pooled
        let sub = "\(corpus) · \(protocolName) · \(folds.count) run(s) pooled · n = \(pooled.count) · "
            + "WA \(Self.pct(pooled.accuracy, 1)) % · UA \(Self.pct(pooled.unweightedAccuracy, 1)) %"
        try put("confusion-matrix.svg", ConfusionMatrixPlot.svg(pooled.confusion, title: "Confusion matrix — \(corpus)", subtitle: sub))
        figures.append(("Confusion matrix, pooled over runs (colour: share of the true class)", "confusion-matrix.svg"))
        for f in folds {
            guard let h = f.history, !h.epochs.isEmpty else { continue }
            let safe = String(f.name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
            let name = "learning-curve-\(safe).svg"
            try put(name, LearningCurvePlot.svg(h, title: "Learning curves — \(corpus), \(f.name)"))
            figures.append(("Learning curves, \(f.name)", name))
        }
        if let cal = calibration {
            try put("reliability-diagram.svg", ReliabilityDiagramPlot.svg(
                [("Before: softmax(z)", cal.pooledBefore), ("After: softmax(z / T)", cal.pooledAfter)],
                title: "Reliability diagram — \(corpus), test clips of \(folds.count) run(s) pooled",
                subtitle: "T fitted on each run's validation clips (temperature scaling)"))
            figures.append(("Reliability diagram, test clips pooled over runs, before and after temperature scaling",
                            "reliability-diagram.svg"))
            for f in folds {
                guard let c = f.calibration else { continue }
                let safe = String(f.name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
                let name = "reliability-\(safe).svg"
                try put(name, ReliabilityDiagramPlot.svg(
                    [("Before: softmax(z)", c.before), (String(format: "After: softmax(z / %.3f)", c.temperature), c.after)],
                    title: "Reliability diagram — \(corpus), \(f.name), test clips"))
                figures.append(("Reliability diagram, \(f.name)", name))
            }
        }
        if !comparison.isEmpty {
            try put("comparison.svg", ComparisonBarChart.svg(comparison, title: "Accuracy compared with published results",
                                                             subtitle: comparisonProtocolNote))
            figures.append((isRandomSplit ? "Accuracy compared with the paper's Table VIII (both on random splits)"
                                          : "Accuracy compared with the paper's Table VIII (not like for like: the paper's figures are on random splits, this run's on speakers unseen in training)",
                            "comparison.svg"))
        }
        do {
            let u = directory.appendingPathComponent("\(baseName).json")
            try jsonData().write(to: u, options: .atomic); written.append(u)
        } catch let e as ReportError { throw e } catch {
            throw ReportError.io(directory.appendingPathComponent("\(baseName).json").path, "cannot write: \(error)")
        }
        try put("\(baseName).md", markdown(figures: figures))
        return written
    }
}

/// Errors writing or reading reports.
public enum ReportError: Error, Equatable, CustomStringConvertible {
    /// A file could not be read or written.
    case io(String, String)
    /// Path and reason.
    public var description: String {
        switch self { case .io(let p, let why): return "\(p): \(why)" }
    }
}
