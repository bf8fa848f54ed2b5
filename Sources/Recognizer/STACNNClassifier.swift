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
        try probabilities(samples: samples, session: nil)
    }

    /// Whether the model can use a session's statistics: it was trained with speaker
    /// normalisation (every clip z-scored with its speaker's statistics).
    public var adaptsToSessions: Bool { model.normalization == .speaker }

    /// Session adaptation: the per-channel statistics of one voice's recordings (several clips, or
    /// the pieces of a long recording), over all their frames, as training computed each speaker's.
    /// Labels are never needed.
    public func sessionStatistics(_ clips: [[Float]]) throws -> Standardizer {
        let worker = try borrow()
        defer { giveBack(worker) }
        return Standardizer.fit(try clips.map { try worker.0.extract($0) })
    }

    /// Class probabilities of a mono clip; with `session` (from ``sessionStatistics(_:)``) and a
    /// model that ``adaptsToSessions``, the clip is z-scored with the session's statistics instead
    /// of its own.
    public func probabilities(samples: [Float], session: Standardizer?) throws -> [Float] {
        let worker = try borrow()
        defer { giveBack(worker) }
        return try worker.1.predict(features: model.modelInput(try worker.0.extract(samples), session: session))
    }

    /// What the network reads for a mono clip at ``sampleRate`` ([C, T]): its features, then
    /// ``SERModel/SavedModel/modelInput(_:session:)``.
    public func modelInput(samples: [Float], session: Standardizer? = nil) throws -> Tensor {
        let worker = try borrow()
        defer { giveBack(worker) }
        return model.modelInput(try worker.0.extract(samples), session: session)
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

/// A ``STACNNClassifier`` adapted to one voice (session adaptation): every clip is z-scored with
/// the statistics of all of that voice's recordings before the model's standardiser, as training
/// z-scored each speaker's clips. Predictions report it as their normalisation.
public struct SessionClassifier: ClipClassifier {
    public let base: STACNNClassifier
    public let statistics: Standardizer
    /// How many recordings the statistics come from.
    public let recordings: Int

    /// Adapts `base` (which must have been trained with speaker normalisation) to `clips`, mono at
    /// its sample rate.
    ///
    /// - Throws: ``RecognizerError/sessionUnsupported(_:)`` for a model trained otherwise.
    public init(base: STACNNClassifier, clips: [[Float]]) throws {
        guard base.adaptsToSessions else {
            throw RecognizerError.sessionUnsupported("the model was trained with \(base.model.normalization.rawValue) normalisation; "
                + "session adaptation needs a model trained with --normalization speaker (e.g. --model session)")
        }
        self.base = base
        self.statistics = try base.sessionStatistics(clips)
        self.recordings = clips.count
    }

    public var labels: [String] { base.labels }
    public var sampleRate: Int { base.sampleRate }
    public var normalization: String { "speaker (session adaptation over \(recordings) recording\(recordings == 1 ? "" : "s"))" }
    public func probabilities(samples: [Float]) throws -> [Float] {
        try base.probabilities(samples: samples, session: statistics)
    }
}
