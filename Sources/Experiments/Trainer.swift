import Foundation
import SERCore
import SERFeatures
import SERModel
import SERNetwork
import SERReports

/// Settings of one training run. Defaults: the paper's optimiser (Adam, lr 1e-4, L2 1e-3) and
/// batch 32; epochs, patience, clipping and masking chosen on validation data.
public struct TrainingConfig: Codable, Sendable, Equatable {
    /// Most epochs to train.
    public var epochs: Int = 200
    /// Clips per batch.
    public var batchSize: Int = 32
    /// Adam learning rate (paper: 1e-4).
    public var learningRate: Float = 1e-4
    /// Coupled L2 coefficient (paper: 1e-3).
    public var l2: Float = 1e-3
    /// Stop after this many epochs without a better validation accuracy.
    public var patience: Int = 40
    /// Global gradient-norm clipping (nil: off).
    public var clipNorm: Float? = 5
    /// SpecAugment-style masking of training clips.
    public var masking = FeatureMasking()
    /// Seed of initialisation, shuffling, dropout and masking.
    public var seed: UInt64 = 0
    /// Decay of an exponential moving average of the weights (e.g. 0.995); when set, validation,
    /// model selection and the saved model use the averaged weights. nil: off (and older
    /// `spec.json` files, which lack the key, stay equal).
    public var weightAverageDecay: Float? = nil
    /// Draw each epoch's clips balanced over sampling groups (corpus x class, ``LabelledClips/groups``):
    /// a group uniformly, then a clip of it uniformly, as many draws as there are clips. nil or
    /// false: every clip once per epoch, shuffled (and older `spec.json` files stay equal).
    public var balancedSampling: Bool? = nil
    /// Clips drawn per epoch. With balanced sampling, that many draws; otherwise the first that many
    /// of the shuffled clips (all of them when there are fewer). nil: as many as there are training
    /// clips, perturbed copies included. With augmentation this keeps an epoch as long as one pass
    /// over the original clips, each step drawing from the originals and their copies alike.
    public var epochClips: Int? = nil
    /// When true, ``epochClips`` is set for each fold to the number of its original training
    /// clips (perturbed copies not counted), so one recipe gives every fold one pass's worth of
    /// draws (`--epoch-clips originals`).
    public var epochClipsOriginals: Bool? = nil

    /// The defaults.
    public init() {}

    /// Throws `ExperimentError.invalidSetup` for settings no run can use.
    public func validate() throws {
        if let d = weightAverageDecay, !(d > 0 && d < 1) {
            throw ExperimentError.invalidSetup("weight-average decay \(d) must lie strictly between 0 and 1")
        }
        if let n = epochClips, n < 1 {
            throw ExperimentError.invalidSetup("clips per epoch \(n) must be at least 1")
        }
        if epochClips != nil && epochClipsOriginals == true {
            throw ExperimentError.invalidSetup("clips per epoch: give a number or 'originals', not both")
        }
    }

    /// Clips one epoch draws from `available` training clips (``epochClips``).
    public func clipsPerEpoch(available: Int) -> Int {
        guard let n = epochClips else { return available }
        return balancedSampling == true ? n : min(n, available)
    }
}

/// What a finished (or early-stopped) run produced.
public struct TrainingOutcome: Sendable {
    /// Per-epoch losses and accuracies, with the best epoch marked.
    public var history: TrainingHistory
    /// The best model (by validation accuracy), ready for prediction.
    public var model: SavedModel
}

/// Labelled clips for training: raw (unstandardised) `[C, T]` feature matrices.
public struct LabelledClips: Sendable {
    /// Feature matrices.
    public var features: [Tensor]
    /// Class index of each.
    public var labels: [Int]
    /// Sampling group of each (e.g. corpus x class) for balanced batches; nil: the class.
    public var groups: [Int]? = nil
    /// Creates the set.
    public init(features: [Tensor], labels: [Int]) { self.features = features; self.labels = labels }
}

/// Trains STA-CNN with early stopping on validation accuracy, keeping the best checkpoint.
///
/// Everything needed to continue is written after every epoch, atomically, to
/// `<directory>/checkpoint.safetensors` (weights, Adam moments, history); `train(resume: true)`
/// continues a run killed at any point (kill -9 included) from its last finished epoch, and
/// gives the same result as an uninterrupted run: every random draw of an epoch comes from
/// generators derived from (seed, epoch). The best model is `<directory>/model.safetensors`; once
/// training ends its softmax temperature is fitted on the validation clips and stored in it.
public struct Trainer {
    /// Run folder.
    public let directory: URL
    /// Model architecture.
    public let modelConfig: STACNNConfig
    /// Optimisation settings.
    public let config: TrainingConfig
    /// Feature settings (saved with the model).
    public let featureConfig: FeatureConfig
    /// Class names, index = label.
    public let labels: [String]
    /// Per-clip normalisation the clips already went through (saved with the model so that
    /// prediction repeats it).
    public let normalization: FeatureNormalization

    /// A trainer writing into `directory`.
    public init(directory: URL, modelConfig: STACNNConfig, config: TrainingConfig, featureConfig: FeatureConfig, labels: [String],
                normalization: FeatureNormalization = .global) {
        self.directory = directory; self.modelConfig = modelConfig; self.config = config
        self.featureConfig = featureConfig; self.labels = labels; self.normalization = normalization
    }

    var checkpointURL: URL { directory.appendingPathComponent("checkpoint.safetensors") }
    /// The best model's file.
    public var modelURL: URL { directory.appendingPathComponent("model.safetensors") }

    /// Trains (or resumes) and returns the best model.
    ///
    /// `epochLimit` stops after that many epochs in this call (as if the process were killed
    /// there), leaving a checkpoint to resume from.
    public func train(train: LabelledClips, validation: LabelledClips, resume: Bool = false,
                      progress: Bool = true, epochLimit: Int? = nil) throws -> TrainingOutcome {
        guard !train.features.isEmpty, !validation.features.isEmpty else {
            throw ExperimentError.invalidSetup("training needs non-empty training and validation sets")
        }
        try config.validate()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, xs) in [("training", train.features), ("validation", validation.features)] {
            if let i = xs.firstIndex(where: { !$0.isFinite }) {
                throw ExperimentError.diverged("\(name) clip \(i) has non-finite feature values")
            }
        }
        let standardizer = Standardizer.fit(train.features)          // training data only
        // Training clips are standardised per batch, not all at once: with perturbed copies the
        // standardised set would be a second copy of every training feature matrix (7 GB for the
        // pooled corpora with three copies each). Same values either way.
        let trainX = train.features
        let valX = validation.features.map(standardizer.applied(to:))
        let model = try STACNN(config: modelConfig, seed: config.seed)
        let adam = model.makeOptimizer(learningRate: config.learningRate, weightDecay: config.l2)
        let average = config.weightAverageDecay.map { WeightAverage(parameters: model.parameters, decay: $0) }
        var history = TrainingHistory(epochs: [])
        var best = (accuracy: -1.0, loss: Double.infinity, epoch: 0)
        if resume, let state = try loadCheckpoint(model: model, adam: adam, average: average) { (history, best) = state }
        let drawn = config.clipsPerEpoch(available: trainX.count)
        let batches = (drawn + config.batchSize - 1) / config.batchSize
        let bar = ProgressBar(total: (config.epochs - history.epochs.count) * batches, label: "train", unit: "batches", enabled: progress)
        for epoch in stride(from: history.epochs.count + 1, through: config.epochs, by: 1) {
            if epoch - best.epoch > config.patience && best.epoch > 0 { break }   // early stopping
            if let limit = epochLimit, epoch > limit { break }
            let start = Date()
            var rng = SeededRandom.derived(seed: config.seed, stream: UInt64(epoch))
            model.reseedDropout(config.seed &* 1_000_003 &+ UInt64(epoch))
            var order = Array(trainX.indices)
            if config.balancedSampling == true {
                order = Self.balancedDraw(groups: train.groups ?? train.labels, count: drawn, rng: &rng)
            } else {
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                if drawn < order.count { order.removeLast(order.count - drawn) }
            }
            var lossSum = 0.0
            for b in 0..<batches {
                let ids = order[(b * config.batchSize)..<min(order.count, (b + 1) * config.batchSize)]
                let xs = ids.map { i -> Tensor in var x = standardizer.applied(to: trainX[i]); config.masking.apply(&x, rng: &rng); return x }
                let batch = try Batch(features: xs, labels: ids.map { train.labels[$0] })
                lossSum += Double(model.trainStep(batch, optimizer: adam, clipNorm: config.clipNorm)) * Double(ids.count)
                average?.update()
                bar.advance(status: "epoch \(epoch)/\(config.epochs) loss \(String(format: "%.3f", lossSum / Double((b * config.batchSize) + ids.count)))"
                            + (best.epoch > 0 ? String(format: " best val %.1f%% @%d", best.accuracy * 100, best.epoch) : ""))
            }
            average?.swap()                                          // validate (and save) the averaged weights
            let (valLoss, valPred) = try Evaluation.run(model, valX, labels: validation.labels)
            let valAcc = Double(zip(valPred, validation.labels).filter { $0 == $1 }.count) / Double(valX.count)
            let trainLoss = lossSum / Double(order.count)
            guard trainLoss.isFinite, valLoss.isFinite else {
                throw ExperimentError.diverged(String(format: "epoch %d: training loss %f, validation loss %f (the last checkpoint is kept; try a lower --lr)",
                                                      epoch, trainLoss, valLoss))
            }
            history.epochs.append(EpochRecord(epoch: epoch, trainLoss: trainLoss, validationLoss: valLoss,
                                              validationAccuracy: valAcc, learningRate: Double(config.learningRate),
                                              seconds: Date().timeIntervalSince(start)))
            if valAcc > best.accuracy || (valAcc == best.accuracy && valLoss < best.loss) {
                best = (valAcc, valLoss, epoch)
                try SavedModel(model: model, labels: labels, featureConfig: featureConfig, standardizer: standardizer,
                               normalization: normalization).write(to: modelURL)
            }
            history.bestEpoch = best.epoch
            average?.swap()                                          // back to the live weights
            try saveCheckpoint(model: model, adam: adam, average: average, history: history, best: best)
        }
        bar.finish()
        history.bestEpoch = best.epoch
        // Temperature scaling of the kept checkpoint on the validation clips (Calibration.swift).
        return TrainingOutcome(history: history, model: try calibrateBestModel(validation: valX, labels: validation.labels))
    }

    /// `count` clip indices: each draw picks a group uniformly, then one of its clips uniformly
    /// (with replacement), so every (corpus, class) group weighs the same in an epoch.
    static func balancedDraw(groups: [Int], count: Int, rng: inout SeededRandom) -> [Int] {
        var members: [Int: [Int]] = [:]
        for (i, g) in groups.enumerated() { members[g, default: []].append(i) }
        let keys = members.keys.sorted()
        guard !keys.isEmpty else { return [] }
        return (0..<count).map { _ in
            let m = members[keys[Int(rng.next() % UInt64(keys.count))]] ?? []
            return m[Int(rng.next() % UInt64(m.count))]
        }
    }

    // MARK: checkpoints

    func saveCheckpoint(model: STACNN, adam: Adam, average: WeightAverage?, history: TrainingHistory,
                        best: (accuracy: Double, loss: Double, epoch: Int)) throws {
        var file = SafeTensorsFile(tensors: model.stateDict())
        for (k, v) in adam.momentState() { file["adam." + k] = v }
        for (k, v) in average?.state() ?? [:] { file["average." + k] = v }
        let enc = JSONEncoder()
        file.metadata = [
            "format": "ser-checkpoint-1",
            "history": String(decoding: try enc.encode(history), as: UTF8.self),
            "adam_step": "\(adam.step)",
            "best": "\(best.accuracy) \(best.loss) \(best.epoch)",
            "model_config": modelConfig.jsonString(),
            "training_config": String(decoding: try enc.encode(config), as: UTF8.self),
        ]
        if let average { file.metadata["average_updates"] = "\(average.updates)" }
        try file.write(to: checkpointURL)
    }

    /// Restores model, optimiser and history; nil when there is no checkpoint yet.
    func loadCheckpoint(model: STACNN, adam: Adam, average: WeightAverage?) throws -> (TrainingHistory, (accuracy: Double, loss: Double, epoch: Int))? {
        guard FileManager.default.fileExists(atPath: checkpointURL.path) else { return nil }
        let path = checkpointURL.path
        let file = try SafeTensorsFile(contentsOf: checkpointURL)
        guard file.metadata["model_config"] == modelConfig.jsonString(),
              let tc = file.metadata["training_config"]?.data(using: .utf8),
              (try? JSONDecoder().decode(TrainingConfig.self, from: tc)) == config else {
            throw ExperimentError.runMismatch(path: path, reason: "the checkpoint was made with other model or training settings; use a new run folder")
        }
        var weights: [String: Tensor] = [:], moments: [String: Tensor] = [:], averaged: [String: Tensor] = [:]
        for (k, v) in file.tensors {
            if k.hasPrefix("adam.") { moments[String(k.dropFirst(5))] = v }
            else if k.hasPrefix("average.") { averaged[String(k.dropFirst(8))] = v }
            else { weights[k] = v }
        }
        try model.load(stateDict: weights, path: path)
        if let average {
            guard let n = file.metadata["average_updates"].flatMap(Int.init), average.restore(state: averaged, updates: n) else {
                throw ExperimentError.badRunFile(path: path, reason: "checkpoint lacks the weight average")
            }
        }
        guard let step = file.metadata["adam_step"].flatMap(Int.init), adam.restore(momentState: moments, step: step),
              let h = file.metadata["history"]?.data(using: .utf8), let history = try? JSONDecoder().decode(TrainingHistory.self, from: h),
              let b = file.metadata["best"]?.split(separator: " "), b.count == 3,
              let acc = Double(b[0]), let loss = Double(b[1]), let epoch = Int(b[2]) else {
            throw ExperimentError.badRunFile(path: path, reason: "checkpoint lacks optimiser state or history")
        }
        return (history, (acc, loss, epoch))
    }
}

/// Batched inference over clips.
public enum Evaluation {
    /// Mean loss (when labels are given) and predicted class of each standardised clip.
    public static func run(_ model: STACNN, _ xs: [Tensor], labels: [Int]? = nil, batchSize: Int = 64) throws -> (loss: Double, predictions: [Int]) {
        var preds: [Int] = [], lossSum = 0.0
        for s in stride(from: 0, to: xs.count, by: batchSize) {
            let range = s..<min(xs.count, s + batchSize)
            let batch = try Batch(features: Array(xs[range]), labels: labels.map { Array($0[range]) } ?? [])
            let z: Tensor
            if labels != nil {
                let out = model.forward(batch, training: false)
                z = out.logits; lossSum += Double(out.loss) * Double(range.count)
            } else {
                z = model.logits(batch, training: false)
            }
            let k = z.shape[1]
            for i in 0..<range.count { preds.append((0..<k).max { z[i, $0] < z[i, $1] } ?? 0) }
        }
        return (lossSum / Double(max(1, xs.count)), preds)
    }
}
