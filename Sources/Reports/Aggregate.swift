import Foundation

/// Mean and sample standard deviation of one value over folds or seeds.
public struct MeanStd: Codable, Sendable, Equatable {
    /// The values aggregated (nils left out).
    public var values: [Double]
    /// Arithmetic mean.
    public var mean: Double
    /// Sample standard deviation (n − 1 in the denominator); 0 for a single value.
    public var std: Double
    /// Smallest value.
    public var min: Double
    /// Largest value.
    public var max: Double
    /// Number of values.
    public var n: Int { values.count }

    /// Aggregates `values`; nil when there is none.
    public init?(_ values: [Double?]) {
        let v = values.compactMap { $0 }
        guard let lo = v.min(), let hi = v.max() else { return nil }
        self.values = v
        mean = v.reduce(0, +) / Double(v.count)
        let m = mean
        std = v.count > 1 ? (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)).squareRoot() : 0
        min = lo; max = hi
    }

    /// `76.39 ± 1.20` (as percentages with `decimals` digits); just the mean when n = 1.
    public func percent(_ decimals: Int = 2) -> String {
        let m = String(format: "%.\(decimals)f", mean * 100)
        return n > 1 ? m + " ± " + String(format: "%.\(decimals)f", std * 100) : m
    }
}

/// Per-class values aggregated over runs.
public struct ClassAggregate: Codable, Sendable, Equatable {
    /// Class name.
    public var label: String
    /// Precision over runs where it is defined.
    public var precision: MeanStd?
    /// Recall over runs where it is defined.
    public var recall: MeanStd?
    /// F1 over runs where it is defined.
    public var f1: MeanStd?
    /// Total support over runs.
    public var support: Int
}

/// Metrics of several runs (folds of a cross-validation, or seeds of a hold-out protocol):
/// mean ± standard deviation of each metric, and the metrics of the pooled confusion matrix.
public struct AggregateMetrics: Codable, Sendable, Equatable {
    /// Class names.
    public var labels: [String]
    /// Number of runs.
    public var runs: Int
    /// Weighted accuracy over runs.
    public var accuracy: MeanStd?
    /// Unweighted accuracy over runs.
    public var unweightedAccuracy: MeanStd?
    /// Macro-F1 over runs.
    public var macroF1: MeanStd?
    /// Weighted F1 over runs.
    public var weightedF1: MeanStd?
    /// Per-class values over runs.
    public var perClass: [ClassAggregate]
    /// Metrics of the summed confusion matrix (every test item once in a cross-validation).
    public var pooled: ClassificationMetrics

    /// Aggregates runs over the same label set.
    public init(_ runs: [ClassificationMetrics]) throws {
        guard let first = runs.first else { throw MetricsError.empty("runs") }
        var pooledCM = ConfusionMatrix(labels: first.labels)
        for r in runs { pooledCM = try pooledCM + r.confusion }
        labels = first.labels
        self.runs = runs.count
        accuracy = MeanStd(runs.map(\.accuracy))
        unweightedAccuracy = MeanStd(runs.map(\.unweightedAccuracy))
        macroF1 = MeanStd(runs.map(\.macroF1))
        weightedF1 = MeanStd(runs.map(\.weightedF1))
        perClass = first.labels.indices.map { i in
            ClassAggregate(label: first.labels[i],
                           precision: MeanStd(runs.map { $0.perClass[i].precision }),
                           recall: MeanStd(runs.map { $0.perClass[i].recall }),
                           f1: MeanStd(runs.map { $0.perClass[i].f1 }),
                           support: runs.reduce(0) { $0 + $1.perClass[i].support })
        }
        pooled = ClassificationMetrics(confusion: pooledCM)
    }
}
