/// A row of a results comparison: one model's accuracy on one dataset.
public struct ComparisonRow: Codable, Sendable, Equatable {
    /// Dataset name as printed (e.g. `RAVDESS`).
    public var dataset: String
    /// Model name.
    public var model: String
    /// Accuracy in percent.
    public var accuracy: Double
    /// Standard deviation in percent, when known.
    public var std: Double?
    /// Where the number comes from (e.g. `paper, Table VIII`, `this run`).
    public var source: String
    /// Whether this row is a result of this project (drawn highlighted).
    public var isOurs: Bool

    /// Creates a row.
    public init(dataset: String, model: String, accuracy: Double, std: Double? = nil, source: String, isOurs: Bool = false) {
        self.dataset = dataset; self.model = model; self.accuracy = accuracy; self.std = std
        self.source = source; self.isOurs = isOurs
    }
}

/// Published numbers to compare with.
public enum PaperResults {
    /// Table VIII of the STA-CNN paper (accuracy in %, its 6:2:2 protocol), with the paper's reference numbers.
    public static let tableVIII: [ComparisonRow] = {
        let s = "paper, Table VIII"
        return [
            ("EMODB", "Deep and shallow feature fusion CNN [30]", 63.50), ("EMODB", "SVM [31]", 80.00),
            ("EMODB", "STA-CNN (paper)", 80.23),
            ("IEMOCAP", "RNNs [32]", 59.70), ("IEMOCAP", "IAAN [33]", 66.30), ("IEMOCAP", "EMQDPS [34]", 68.89),
            ("IEMOCAP", "STA-CNN (paper)", 71.96),
            ("RAVDESS", "SVM [35]", 64.31), ("RAVDESS", "BLSTM + capsule routing [36]", 69.40),
            ("RAVDESS", "Hybrid LSTM-Transformer [37]", 75.62), ("RAVDESS", "STA-CNN (paper)", 76.39),
            ("SAVEE", "Deep belief network [38]", 56.76), ("SAVEE", "Logistic model tree [39]", 70.40),
            ("SAVEE", "1D CNN [40]", 65.83), ("SAVEE", "SVM [35]", 75.63), ("SAVEE", "STA-CNN (paper)", 80.09),
        ].map { ComparisonRow(dataset: $0.0, model: $0.1, accuracy: $0.2, source: s) }
    }()

    /// Upper-cased letters and digits only, so `EMO-DB` matches the paper's `EMODB`.
    public static func key(_ dataset: String) -> String {
        String(dataset.uppercased().filter { $0.isLetter || $0.isNumber })
    }

    /// Table VIII rows for a corpus name (`EMO-DB`, `emodb`, `RAVDESS`, …).
    public static func rows(for dataset: String) -> [ComparisonRow] {
        tableVIII.filter { key($0.dataset) == key(dataset) }
    }
}
