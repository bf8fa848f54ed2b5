import Foundation
import SERCore
import SEREncoder
import SERFeatures
import SERModel

/// The real ``ClipClassifier``: fused features (FF layer, and the pretrained encoder's block when
/// the model uses one) + standardisation + STA-CNN, from a model file written by `ser train`.
///
/// Thread-safe: each call borrows a (feature extractor, network) pair from a small pool, so
/// concurrent calls never share buffers and a steady stream of calls allocates little.
public final class STACNNClassifier: ClipClassifier, @unchecked Sendable {
    /// Class names.
    public let labels: [String]
    /// The sample rate the model's features expect.
    public let sampleRate: Int
    /// The model file's contents.
    public let model: SavedModel
    private let lock = NSLock()
    private var pool: [(ClipFeaturizer, STACNN)] = []

    /// Loads a model file. Throws `ModelFileError` naming the file for a damaged or foreign file.
    public convenience init(contentsOf url: URL) throws {
        try self.init(model: SavedModel.read(from: url))
    }

    /// Wraps a loaded model.
    public init(model: SavedModel) throws {
        self.model = model
        self.labels = model.labels
        self.sampleRate = model.featureConfig.sampleRate
        pool = [(try ClipFeaturizer(config: model.featureConfig), try model.makeModel())]
    }

    /// The model's per-clip normalisation (`global`, `utterance`; a model trained with `speaker`
    /// normalisation treats each clip it classifies as its own speaker, i.e. `utterance`).
    public var normalization: String {
        model.normalization == .speaker ? "utterance (model trained with speaker normalisation)" : model.normalization.rawValue
    }

    /// Class probabilities of a mono clip at ``sampleRate``.
    public func probabilities(samples: [Float]) throws -> [Float] {
        let worker = try borrow()
        defer { giveBack(worker) }
        var x = try worker.0.extract(samples)
        model.normalization.apply(&x)
        model.standardizer.apply(&x)
        return try worker.1.predict(features: x)
    }

    private func borrow() throws -> (ClipFeaturizer, STACNN) {
        lock.lock()
        if let w = pool.popLast() { lock.unlock(); return w }
        lock.unlock()
        return (try ClipFeaturizer(config: model.featureConfig), try model.makeModel())
    }

    private func giveBack(_ w: (ClipFeaturizer, STACNN)) {
        lock.lock(); defer { lock.unlock() }
        if pool.count < 16 { pool.append(w) }
    }
}
