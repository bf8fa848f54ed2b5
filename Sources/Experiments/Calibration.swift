import Foundation
import SERCore
import SERModel
import SERReports

// Temperature scaling of trained models, and the calibration records of test sets.

extension Evaluation {
    /// Logits `(N, K)` row-major of standardised clips `xs` (N clips), batched; dropout off.
    public static func logits(_ model: STACNN, _ xs: [Tensor], batchSize: Int = 64) throws -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(xs.count * model.config.numClasses)
        for s in stride(from: 0, to: xs.count, by: batchSize) {
            let batch = try Batch(features: Array(xs[s..<min(xs.count, s + batchSize)]))
            out += model.logits(batch, training: false).data
        }
        return out
    }
}

extension Trainer {
    /// Fits the softmax temperature of the best model (``modelURL``) on the validation clips
    /// (standardised with the model's standardiser) and rewrites the file with it; returns the
    /// calibrated model. Deterministic, so resuming a finished run gives the same file.
    func calibrateBestModel(validation xs: [Tensor], labels: [Int]) throws -> SavedModel {
        var saved = try SavedModel.read(from: modelURL)
        let model = try saved.makeModel()
        let z = try Evaluation.logits(model, xs)
        saved.temperature = Float(TemperatureScaling.fit(logits: z, labels: labels, classes: saved.config.numClasses))
        try saved.write(to: modelURL)
        return saved
    }
}

extension ExperimentRunner {
    /// Test-set metrics of a saved model on clips (normalised per clip already; the model's
    /// standardiser is applied) and the calibration of its probabilities on them: with the plain
    /// softmax and with the model's temperature.
    public static func testWithCalibration(_ saved: SavedModel, _ data: LabelledClips,
                                           labels: [String]) throws -> (metrics: ClassificationMetrics, calibration: FoldCalibration,
                                                                        predicted: [Int]) {
        let model = try saved.makeModel()
        let K = saved.config.numClasses
        let z = try Evaluation.logits(model, data.features.map(saved.standardizer.applied(to:)))
        let predicted = (0..<data.labels.count).map { i in (0..<K).max { z[i * K + $0] < z[i * K + $1] } ?? 0 }
        let metrics = ClassificationMetrics(confusion: try ConfusionMatrix(labels: labels, truth: data.labels, predicted: predicted))
        let T = Double(saved.temperature)
        let before = CalibrationSummary(probabilities: TemperatureScaling.probabilities(logits: z, classes: K, temperature: 1),
                                        labels: data.labels, classes: K)
        let after = CalibrationSummary(probabilities: TemperatureScaling.probabilities(logits: z, classes: K, temperature: T),
                                       labels: data.labels, classes: K)
        return (metrics, FoldCalibration(temperature: T, before: before, after: after), predicted)
    }
}

extension ExperimentRunner {
    /// Fits the softmax temperature of every finished fold's model on that fold's validation
    /// clips and stores it in `<fold>/model.safetensors` (for runs trained before `ser train`
    /// did this itself; refitting a calibrated model gives the same temperature, since the
    /// logits do not depend on it). Returns (fold, temperature) pairs; follow with ``evaluate()``
    /// to rewrite the report.
    public func calibrate() throws -> [(fold: String, temperature: Double)] {
        let corpus = try loadCorpus()
        let plan = try splitPlan(corpus)
        let folds = try selectedFolds(plan, corpus)
        let table = try clipTable(folds.flatMap(\.validation), labels: corpus.labels)
        var out: [(String, Double)] = []
        for fold in folds {
            guard let url = finishedModel(fold) else { continue }
            var saved = try SavedModel.read(from: url)
            let validation = try table.clips(fold.validation)
            let z = try Evaluation.logits(try saved.makeModel(), validation.features.map(saved.standardizer.applied(to:)))
            let K = saved.config.numClasses
            let t = TemperatureScaling.fit(logits: z, labels: validation.labels, classes: K)
            let before = TemperatureScaling.negativeLogLikelihood(logits: z, labels: validation.labels, classes: K, temperature: 1)
            let after = TemperatureScaling.negativeLogLikelihood(logits: z, labels: validation.labels, classes: K, temperature: t)
            saved.temperature = Float(t)
            try saved.write(to: url)
            log(String(format: "%@: temperature %.4f (validation NLL %.4f -> %.4f on %d clips)",
                       fold.name, t, before, after, validation.labels.count))
            out.append((fold.name, t))
        }
        return out
    }
}

extension LinearBaseline {
    /// Logits `(N, K)` row-major of feature matrices `xs`.
    public func logits(_ xs: [Tensor]) -> [Float] {
        let a = Self.standardise(xs.map(Self.statistics), mean: mean, std: std)
        return Self.logits(a, rows: xs.count, d: inputs, w: weight, b: bias, classes: classes)
    }

    /// The baseline's calibration record: a softmax temperature fitted on the validation clips,
    /// and the test clips' calibration with the plain softmax and with that temperature.
    public func calibration(validation: LabelledClips, test: LabelledClips) -> FoldCalibration {
        let t = TemperatureScaling.fit(logits: logits(validation.features), labels: validation.labels, classes: classes)
        let z = logits(test.features)
        return FoldCalibration(
            temperature: t,
            before: CalibrationSummary(probabilities: TemperatureScaling.probabilities(logits: z, classes: classes, temperature: 1),
                                       labels: test.labels, classes: classes),
            after: CalibrationSummary(probabilities: TemperatureScaling.probabilities(logits: z, classes: classes, temperature: t),
                                      labels: test.labels, classes: classes))
    }
}
