/// What happened in one training epoch.
public struct EpochRecord: Codable, Sendable, Equatable {
    /// Epoch number, from 1.
    public var epoch: Int
    /// Mean training loss.
    public var trainLoss: Double
    /// Training accuracy, when measured.
    public var trainAccuracy: Double?
    /// Validation loss, when measured.
    public var validationLoss: Double?
    /// Validation accuracy, when measured.
    public var validationAccuracy: Double?
    /// Learning rate in effect.
    public var learningRate: Double?
    /// Wall-clock seconds of the epoch.
    public var seconds: Double?

    /// Creates a record.
    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double? = nil, validationLoss: Double? = nil,
                validationAccuracy: Double? = nil, learningRate: Double? = nil, seconds: Double? = nil) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.validationLoss = validationLoss; self.validationAccuracy = validationAccuracy
        self.learningRate = learningRate; self.seconds = seconds
    }
}

/// The per-epoch record of one training run and the epoch whose weights were kept.
public struct TrainingHistory: Codable, Sendable, Equatable {
    /// How the best epoch is chosen.
    public enum Criterion: String, Codable, Sendable {
        /// Highest validation accuracy (ties: the earlier epoch).
        case validationAccuracy
        /// Lowest validation loss (ties: the earlier epoch).
        case validationLoss
    }

    /// The epochs in order.
    public var epochs: [EpochRecord]
    /// The epoch whose weights were kept (nil when no validation values exist).
    public var bestEpoch: Int?
    /// The rule that chose ``bestEpoch``.
    public var criterion: Criterion

    /// A history whose best epoch is chosen by `criterion` unless given.
    public init(epochs: [EpochRecord], criterion: Criterion = .validationAccuracy, bestEpoch: Int? = nil) {
        self.epochs = epochs; self.criterion = criterion
        self.bestEpoch = bestEpoch ?? TrainingHistory.best(epochs, criterion)
    }

    /// The best epoch of `epochs` by `criterion`.
    public static func best(_ epochs: [EpochRecord], _ criterion: Criterion) -> Int? {
        var best: (epoch: Int, value: Double)?
        for e in epochs {
            // Compare with the sign flipped for losses, so "larger is better" in both cases.
            let value = criterion == .validationAccuracy ? e.validationAccuracy : e.validationLoss.map { -$0 }
            guard let v = value else { continue }
            if let b = best, b.value >= v { continue }
            best = (e.epoch, v)
        }
        return best?.epoch
    }
}
