import Foundation

/// Errors in evaluation input.
public enum MetricsError: Error, Equatable, CustomStringConvertible {
    /// Truth and prediction lists differ in length.
    case lengthMismatch(truth: Int, predicted: Int)
    /// A class index or name is not among the labels.
    case unknownClass(String)
    /// Results over different label sets cannot be aggregated.
    case labelMismatch([String], [String])
    /// Nothing to aggregate.
    case empty(String)

    /// The reason, naming the offending value.
    public var description: String {
        switch self {
        case .lengthMismatch(let t, let p): return "metrics: \(t) true labels but \(p) predictions"
        case .unknownClass(let c): return "metrics: class '\(c)' is not among the labels"
        case .labelMismatch(let a, let b): return "metrics: label sets differ: \(a) vs \(b)"
        case .empty(let what): return "metrics: no \(what) to aggregate"
        }
    }
}

/// Counts of (true class, predicted class) pairs. Rows are true classes, columns predictions.
public struct ConfusionMatrix: Codable, Sendable, Equatable {
    /// Class names; index i names row i and column i.
    public var labels: [String]
    /// `counts[truth][predicted]`.
    public var counts: [[Int]]

    /// An all-zero matrix.
    public init(labels: [String]) {
        self.labels = labels
        counts = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
    }

    /// A matrix from explicit counts (`counts.count == labels.count`, square).
    public init(labels: [String], counts: [[Int]]) {
        precondition(counts.count == labels.count && counts.allSatisfy { $0.count == labels.count }, "square")
        self.labels = labels; self.counts = counts
    }

    /// Counts class-index pairs; throws on differing lengths or out-of-range indices.
    public init(labels: [String], truth: [Int], predicted: [Int]) throws {
        guard truth.count == predicted.count else {
            throw MetricsError.lengthMismatch(truth: truth.count, predicted: predicted.count)
        }
        self.init(labels: labels)
        for (t, p) in zip(truth, predicted) {
            guard labels.indices.contains(t) else { throw MetricsError.unknownClass("index \(t)") }
            guard labels.indices.contains(p) else { throw MetricsError.unknownClass("index \(p)") }
            counts[t][p] += 1
        }
    }

    /// Counts class-name pairs.
    public init(labels: [String], truth: [String], predicted: [String]) throws {
        var index: [String: Int] = [:]
        for (i, l) in labels.enumerated() { index[l] = i }
        func ix(_ s: String) throws -> Int {
            guard let i = index[s] else { throw MetricsError.unknownClass(s) }
            return i
        }
        try self.init(labels: labels, truth: truth.map(ix), predicted: predicted.map(ix))
    }

    /// Adds one observation.
    public mutating func add(truth: Int, predicted: Int) { counts[truth][predicted] += 1 }

    /// Element-wise sum (pooling folds); labels must match.
    public static func + (a: ConfusionMatrix, b: ConfusionMatrix) throws -> ConfusionMatrix {
        guard a.labels == b.labels else { throw MetricsError.labelMismatch(a.labels, b.labels) }
        var c = a
        for i in c.counts.indices { for j in c.counts[i].indices { c.counts[i][j] += b.counts[i][j] } }
        return c
    }

    /// Number of observations.
    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }
    /// Per-class support (row sums).
    public var support: [Int] { counts.map { $0.reduce(0, +) } }
    /// Per-class number of predictions (column sums).
    public var predictedCounts: [Int] { labels.indices.map { j in counts.reduce(0) { $0 + $1[j] } } }
    /// Correct predictions per class (diagonal).
    public var correct: [Int] { labels.indices.map { counts[$0][$0] } }

    /// Rows divided by their sums (a row with no support is all zeros).
    public var rowNormalized: [[Double]] {
        counts.map { row in
            let s = row.reduce(0, +)
            return row.map { s > 0 ? Double($0) / Double(s) : 0 }
        }
    }
}

/// Precision, recall and F1 of one class. Undefined values are nil (see ``ClassificationMetrics``).
public struct ClassMetrics: Codable, Sendable, Equatable {
    /// Class name.
    public var label: String
    /// TP / predicted; nil when the class was never predicted.
    public var precision: Double?
    /// TP / support; nil when the class has no support.
    public var recall: Double?
    /// 2·TP / (support + predicted); nil when the class is neither present nor predicted.
    public var f1: Double?
    /// Number of true instances.
    public var support: Int
    /// Number of predictions of this class.
    public var predicted: Int
}

/// Classification metrics from a confusion matrix.
///
/// - Weighted accuracy (WA) is plain accuracy: correct / total.
/// - Unweighted accuracy (UA) is the mean recall over classes with support (= scikit-learn's
///   `balanced_accuracy_score`).
/// - Macro-F1 is the mean F1 over classes that occur in the truth or the predictions (=
///   scikit-learn's `f1_score(average="macro")` with its default labels); a class that is
///   predicted but absent, or present but never predicted, has F1 0. Weighted F1 weights each
///   class's F1 by its support.
/// - A class with no support has recall nil; a class never predicted has precision nil. Nothing is
///   NaN, so the JSON stays valid. All values are fractions in [0, 1]; reports print percentages.
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    /// Class names in order.
    public var labels: [String]
    /// Number of test items.
    public var count: Int
    /// Weighted accuracy (plain accuracy); nil when `count == 0`.
    public var accuracy: Double?
    /// Unweighted accuracy (mean per-class recall); nil when no class has support.
    public var unweightedAccuracy: Double?
    /// Macro-averaged F1; nil when nothing was counted.
    public var macroF1: Double?
    /// Support-weighted F1; nil when `count == 0`.
    public var weightedF1: Double?
    /// Per-class values in label order.
    public var perClass: [ClassMetrics]
    /// The confusion matrix the values come from.
    public var confusion: ConfusionMatrix

    /// Computes every metric from `confusion`.
    public init(confusion: ConfusionMatrix) {
        self.confusion = confusion
        let labs = confusion.labels
        labels = labs
        let sup = confusion.support, pred = confusion.predictedCounts, tp = confusion.correct
        count = confusion.total
        perClass = labs.indices.map { i in
            ClassMetrics(
                label: labs[i],
                precision: pred[i] > 0 ? Double(tp[i]) / Double(pred[i]) : nil,
                recall: sup[i] > 0 ? Double(tp[i]) / Double(sup[i]) : nil,
                f1: sup[i] + pred[i] > 0 ? 2 * Double(tp[i]) / Double(sup[i] + pred[i]) : nil,
                support: sup[i], predicted: pred[i])
        }
        accuracy = count > 0 ? Double(tp.reduce(0, +)) / Double(count) : nil
        let recalls = perClass.compactMap(\.recall)
        unweightedAccuracy = recalls.isEmpty ? nil : recalls.reduce(0, +) / Double(recalls.count)
        let f1s = perClass.compactMap(\.f1)
        macroF1 = f1s.isEmpty ? nil : f1s.reduce(0, +) / Double(f1s.count)
        weightedF1 = count > 0
            ? perClass.reduce(0) { $0 + ($1.f1 ?? 0) * Double($1.support) } / Double(count) : nil
    }

    /// Metrics of class-index predictions.
    public init(labels: [String], truth: [Int], predicted: [Int]) throws {
        self.init(confusion: try ConfusionMatrix(labels: labels, truth: truth, predicted: predicted))
    }

    /// Metrics of class-name predictions.
    public init(labels: [String], truth: [String], predicted: [String]) throws {
        self.init(confusion: try ConfusionMatrix(labels: labels, truth: truth, predicted: predicted))
    }
}
