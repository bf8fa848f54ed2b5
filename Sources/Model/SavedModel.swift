import Foundation
import SERCore
import SERFeatures
import SERNetwork

/// Errors reading or writing a model file; each names the file.
public enum ModelFileError: Error, CustomStringConvertible, Equatable {
    /// The file cannot be read or written, or is not valid safetensors.
    case unreadable(path: String, reason: String)
    /// A required metadata entry is absent.
    case missingMetadata(path: String, key: String)
    /// A metadata entry cannot be decoded or is inconsistent.
    case invalidMetadata(path: String, key: String, reason: String)
    /// The configuration expects a tensor the file lacks.
    case missingTensor(path: String, name: String)
    /// The file has a tensor the configuration does not expect.
    case unexpectedTensor(path: String, name: String)
    /// A tensor's shape differs from the configuration's.
    case shapeMismatch(path: String, name: String, expected: [Int], found: [Int])
    /// A tensor holds NaN or infinity.
    case nonFinite(path: String, name: String)

    /// A one-line explanation naming the file (or input) and the reason.
    public var description: String {
        switch self {
        case let .unreadable(p, r): return "\(p): cannot load model: \(r)"
        case let .missingMetadata(p, k): return "\(p): not an STA-CNN model file: metadata '\(k)' is missing"
        case let .invalidMetadata(p, k, r): return "\(p): metadata '\(k)' is invalid: \(r)"
        case let .missingTensor(p, n): return "\(p): tensor '\(n)' is missing (file made with a different model configuration?)"
        case let .unexpectedTensor(p, n): return "\(p): unexpected tensor '\(n)' (file made with a different model configuration?)"
        case let .shapeMismatch(p, n, e, f): return "\(p): tensor '\(n)' has shape \(f), the configuration needs \(e)"
        case let .nonFinite(p, n): return "\(p): tensor '\(n)' contains NaN or infinity"
        }
    }
}

/// Everything needed to run a trained model: configuration, weights (PyTorch `state_dict` names
/// and layouts), label names, the feature settings and the standardiser fitted on the training data.
///
/// Stored as one safetensors file: the tensors are exactly the reference model's `state_dict`
/// (so PyTorch's `load_state_dict(strict=True)` accepts them) and the rest is JSON in the metadata
/// under `format`, `model_config`, `labels`, `feature_config`, `standardizer`, `normalization` and
/// `temperature` (the softmax temperature fitted on validation data; files without it read as 1).
public struct SavedModel: Sendable {
    /// Metadata value of `format`.
    public static let formatTag = "ser-stacnn-1"

    /// Model hyper-parameters.
    public var config: STACNNConfig
    /// Class names, index = class.
    public var labels: [String]
    /// Feature settings the model was trained with.
    public var featureConfig: FeatureConfig
    /// Per-channel standardisation fitted on the training data.
    public var standardizer: Standardizer
    /// Per-clip normalisation applied before ``standardizer`` (`.global`: none; files written
    /// before this field existed read as `.global`).
    public var normalization: FeatureNormalization = .global
    /// Softmax temperature `T > 0` fitted on validation data after training (temperature scaling:
    /// the probabilities are `softmax(logits / T)`). Files written before calibration existed
    /// have no `temperature` entry and read as 1, i.e. the plain softmax.
    public var temperature: Float = 1
    /// Weights by parameter name.
    public var weights: [String: Tensor]

    /// Captures a model's current weights with its context.
    public init(model: STACNN, labels: [String], featureConfig: FeatureConfig, standardizer: Standardizer,
                normalization: FeatureNormalization = .global) {
        self.normalization = normalization
        precondition(labels.count == model.config.numClasses, "SavedModel: \(labels.count) labels for \(model.config.numClasses) classes")
        config = model.config
        self.labels = labels
        self.featureConfig = featureConfig
        self.standardizer = standardizer
        weights = model.stateDict()
    }

    /// The safetensors file contents.
    public func safeTensors() -> SafeTensorsFile {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ v: T) -> String { String(decoding: (try? enc.encode(v)) ?? Data(), as: UTF8.self) }
        return SafeTensorsFile(tensors: weights, metadata: [
            "format": Self.formatTag,
            "model_config": config.jsonString(),
            "labels": json(labels),
            "feature_config": featureConfig.jsonString(),
            "standardizer": json(standardizer),
            "normalization": normalization.rawValue,
            "temperature": "\(temperature)",
        ])
    }

    /// Writes the model file atomically.
    public func write(to url: URL) throws {
        do { try safeTensors().write(to: url) } catch let e as SafeTensorsError {
            throw ModelFileError.unreadable(path: url.path, reason: e.description)
        }
    }

    /// Reads and validates a model file: metadata present and consistent, tensors exactly those
    /// of the stored configuration.
    public static func read(from url: URL) throws -> SavedModel {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch {
            throw ModelFileError.unreadable(path: url.path, reason: "\(error)")
        }
        return try SavedModel(file: file, path: url.path)
    }

    /// Validates an already parsed file; `path` names it in errors.
    public init(file: SafeTensorsFile, path: String) throws {
        func meta(_ k: String) throws -> Data {
            guard let v = file.metadata[k] else { throw ModelFileError.missingMetadata(path: path, key: k) }
            return Data(v.utf8)
        }
        func decode<T: Decodable>(_ type: T.Type, _ k: String) throws -> T {
            let d = try meta(k)
            do { return try JSONDecoder().decode(T.self, from: d) } catch {
                throw ModelFileError.invalidMetadata(path: path, key: k, reason: "cannot decode \(T.self) JSON")
            }
        }
        let format = String(decoding: try meta("format"), as: UTF8.self)
        guard format == Self.formatTag else {
            throw ModelFileError.invalidMetadata(path: path, key: "format", reason: "'\(format)' is not '\(Self.formatTag)'")
        }
        config = try decode(STACNNConfig.self, "model_config")
        do { try config.validate() } catch {
            throw ModelFileError.invalidMetadata(path: path, key: "model_config", reason: "\(error)")
        }
        labels = try decode([String].self, "labels")
        guard labels.count == config.numClasses else {
            throw ModelFileError.invalidMetadata(path: path, key: "labels", reason: "\(labels.count) labels for \(config.numClasses) classes")
        }
        featureConfig = try decode(FeatureConfig.self, "feature_config")
        do { try featureConfig.validate() } catch {
            throw ModelFileError.invalidMetadata(path: path, key: "feature_config", reason: "\(error)")
        }
        guard featureConfig.channels == config.inputChannels else {
            throw ModelFileError.invalidMetadata(path: path, key: "feature_config",
                                                 reason: "\(featureConfig.channels) feature channels, model expects \(config.inputChannels)")
        }
        var adapted = config
        adapted.adapt(to: featureConfig)
        guard adapted.layerSum.map({ [$0.offset, $0.layers, $0.width] }) == config.layerSum.map({ [$0.offset, $0.layers, $0.width] }) else {
            throw ModelFileError.invalidMetadata(path: path, key: "model_config", reason: config.layerSum == nil
                ? "the features carry every encoder layer (weighted) but the model has no layer sum"
                : "the model's layer sum does not match the feature settings' encoder block")
        }
        standardizer = try decode(Standardizer.self, "standardizer")
        guard standardizer.channels == config.inputChannels, standardizer.std.count == standardizer.mean.count,
              standardizer.std.allSatisfy({ $0 > 0 && $0.isFinite }), standardizer.mean.allSatisfy(\.isFinite) else {
            throw ModelFileError.invalidMetadata(path: path, key: "standardizer",
                                                 reason: "needs \(config.inputChannels) finite means and positive stds")
        }
        if let n = file.metadata["normalization"] {
            guard let v = FeatureNormalization(rawValue: n) else {
                throw ModelFileError.invalidMetadata(path: path, key: "normalization", reason: "'\(n)' is not one of "
                    + FeatureNormalization.allCases.map(\.rawValue).joined(separator: ", "))
            }
            normalization = v
        }
        if let t = file.metadata["temperature"] {
            guard let v = Float(t.trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0 else {
                throw ModelFileError.invalidMetadata(path: path, key: "temperature", reason: "'\(t)' is not a positive number")
            }
            temperature = v
        }
        let expected = config.parameterShapes
        let names = Set(expected.map(\.name))
        if let extra = file.tensors.keys.sorted().first(where: { !names.contains($0) }) {
            throw ModelFileError.unexpectedTensor(path: path, name: extra)
        }
        for (name, shape) in expected {
            guard let t = file.tensors[name] else { throw ModelFileError.missingTensor(path: path, name: name) }
            guard t.shape == shape else { throw ModelFileError.shapeMismatch(path: path, name: name, expected: shape, found: t.shape) }
            guard t.isFinite else { throw ModelFileError.nonFinite(path: path, name: name) }
        }
        weights = file.tensors
    }

    /// The weight `softmax(w)` the head gives each encoder hidden state (0 = embedding output),
    /// or nil for a model without a learned layer sum.
    public var layerWeights: [Float]? {
        guard config.layerSum != nil, let w = weights["layer_sum.weight"] else { return nil }
        return LayerWeightedSum.softmax(w.data)
    }

    /// One line of ``layerWeights`` for logs and reports: each state's weight in %, with a bar
    /// (`0 embedding 14.3 ███▌ | 1 ...`); nil without a learned layer sum.
    public var layerWeightsSummary: String? {
        guard let a = layerWeights else { return nil }
        let blocks = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        return a.enumerated().map { l, v in
            let eighths = Int((v * 100 / 2.5 * 8).rounded())            // one full block per 2.5 %
            let bar = String(repeating: "█", count: eighths / 8) + blocks[eighths % 8]
            return (l == 0 ? "0 (embedding)" : "\(l)") + String(format: " %.1f %%", v * 100) + " " + bar
        }.joined(separator: " | ")
    }

    /// A model holding these weights.
    public func makeModel() throws -> STACNN {
        let m = try STACNN(config: config)
        try m.load(stateDict: weights)
        m.temperature = temperature
        return m
    }
}

// MARK: - The model's input

extension SavedModel {
    /// What the network reads for a clip, from the clip's features `x` [C, T] (``SERFeatures``'s
    /// fused matrix as `ClipFeaturizer` computes it and the feature cache stores it):
    /// 1. the per-clip normalisation the model was trained with (``normalization``), or, for a
    ///    speaker-normalised model given a `session`, that session's statistics;
    /// 2. the standardiser fitted on the training clips (``standardizer``).
    ///
    /// Training runs the same two steps on the same features: step 1 over each speaker's clips
    /// when building its clip table, step 2 with the standardiser it fits and stores; evaluation,
    /// calibration, `predict`, `serve` and `export --check-inputs` call this. `ModelInputTests`
    /// checks that a file's training input and prediction input are equal bit for bit.
    public func modelInput(_ x: Tensor, session: Standardizer? = nil) -> Tensor {
        var x = x
        normalize(&x, session: session)
        standardizer.apply(&x)
        return x
    }

    /// Step 1 of ``modelInput(_:session:)`` alone.
    public func normalize(_ x: inout Tensor, session: Standardizer? = nil) {
        if let session, normalization == .speaker { session.apply(&x) } else { normalization.apply(&x) }
    }
}
