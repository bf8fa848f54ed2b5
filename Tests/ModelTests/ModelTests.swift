import Foundation
import XCTest
import SERCore
import SERFeatures
import SERNetwork
import SERTestSupport
@testable import SERModel

/// A small configuration for fast tests.
func smallConfig(cfe: Bool = true, gfe: Bool = true, dropout: Float = 0) -> STACNNConfig {
    var c = STACNNConfig(inputChannels: 5, numClasses: 3)
    c.convChannels = [6, 6, 8]
    c.lstmHidden = 4
    c.heads = 2
    c.dropout = dropout
    c.useCFE = cfe
    c.useGFE = gfe
    return c
}

/// A random padded batch with the given lengths.
func randomBatch(channels: Int, lengths: [Int], classes: Int, seed: UInt64) throws -> Batch {
    var rng = SeededRandom(seed: seed)
    let feats = lengths.map { t in Tensor(shape: [channels, t], data: (0..<(channels * t)).map { _ in rng.nextNormal() }) }
    return try Batch(features: feats, labels: lengths.indices.map { $0 % classes })
}

final class ModelTests: XCTestCase {
    /// Finite differences of the loss against `backward` for every parameter of the whole model.
    func checkModelGradients(_ config: STACNNConfig, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try STACNN(config: config, seed: 3)
        model.criterion.classWeights = [1, 2, 0.5]
        let batch = try randomBatch(channels: config.inputChannels, lengths: [19, 11, 8, 3, 1], classes: 3, seed: 5)
        model.zeroGrad()
        model.forward(batch)
        model.backward()
        var rng = SeededRandom(seed: 9)
        let eps: Float = 3e-3
        for p in model.parameters {
            let g = Array(UnsafeBufferPointer(start: p.grad, count: p.count))
            let scale = Double(g.map { abs($0) }.max() ?? 0)
            XCTAssertTrue(g.allSatisfy(\.isFinite), "\(p.name) has non-finite gradients", file: file, line: line)
            for _ in 0..<6 {
                let i = Int(rng.next() % UInt64(p.count))
                let v = p.value[i]
                p.value[i] = v + eps; let lp = Double(model.forward(batch).loss)
                p.value[i] = v - eps; let lm = Double(model.forward(batch).loss)
                p.value[i] = v
                let num = (lp - lm) / Double(2 * eps), ana = Double(g[i])
                let tol = 2e-4 + 2e-2 * scale + 2e-2 * max(abs(num), abs(ana))
                XCTAssertLessThanOrEqual(abs(num - ana), tol, "\(p.name)[\(i)]: numeric \(num) analytic \(ana)", file: file, line: line)
            }
        }
    }

    func testWholeModelGradients() throws { try checkModelGradients(smallConfig()) }
    func testAblationGradients() throws {
        try checkModelGradients(smallConfig(cfe: false))
        try checkModelGradients(smallConfig(gfe: false))
        try checkModelGradients(smallConfig(cfe: false, gfe: false))
    }

    func testParameterNamesMatchConfiguration() throws {
        let c = STACNNConfig()
        let m = try STACNN(config: c, seed: 1)
        XCTAssertEqual(m.parameters.map(\.name), c.parameterShapes.map(\.name))
        XCTAssertEqual(m.parameters.map(\.shape), c.parameterShapes.map(\.shape))
        XCTAssertEqual(m.parameters.first?.name, "lfe.0.weight")
        XCTAssertEqual(m.parameters.first?.shape, [256, 181, 3])
        XCTAssertTrue(m.parameters.contains { $0.name == "cfe.weight_hh_l0_reverse" && $0.shape == [512, 128] })
        XCTAssertTrue(m.parameters.contains { $0.name == "gfe.in_proj_weight" && $0.shape == [768, 256] })
        // Same seed, same weights; another seed, other weights.
        let m2 = try STACNN(config: c, seed: 1), m3 = try STACNN(config: c, seed: 2)
        XCTAssertEqual(m.stateDict(), m2.stateDict())
        XCTAssertNotEqual(m.stateDict()["lfe.0.weight"], m3.stateDict()["lfe.0.weight"])
        // PyTorch's default bounds: conv U(+-1/sqrt(C_in*K)).
        let w = m.stateDict()["lfe.0.weight"]!
        XCTAssertLessThanOrEqual(w.maxAbs, 1 / Float(181 * 3).squareRoot())
        XCTAssertGreaterThan(w.maxAbs, 0.9 / Float(181 * 3).squareRoot())
        XCTAssertThrowsError(try STACNN(config: { var b = c; b.heads = 3; return b }()))
    }

    func testPaddingDoesNotChangeAClipsOutput() throws {
        let config = smallConfig()
        let model = try STACNN(config: config, seed: 4)
        let batch = try randomBatch(channels: 5, lengths: [30, 13, 2], classes: 3, seed: 8)
        let together = model.logits(batch)
        for b in 0..<3 {
            let len = batch.lengths[b]
            var clip = Tensor(shape: [5, len])
            for c in 0..<5 { for t in 0..<len { clip[c, t] = batch.x.data[(b * batch.time + t) * 5 + c] } }
            let alone = model.logits(try Batch(features: [clip]))
            for k in 0..<3 { XCTAssertEqual(alone.data[k], together.data[b * 3 + k], accuracy: 1e-5) }
            let p = try model.predict(features: clip)
            let z = alone.data, m = z.max()!, e = z.map { expf($0 - m) }, s = e.reduce(0, +)
            for k in 0..<3 { XCTAssertEqual(p[k], e[k] / s, accuracy: 1e-6) }
        }
    }

    func testTrainingModeMatchesInferenceWithoutDropout() throws {
        let model = try STACNN(config: smallConfig(), seed: 2)
        let batch = try randomBatch(channels: 5, lengths: [12, 7], classes: 3, seed: 1)
        XCTAssertEqual(model.forward(batch, training: true).logits, model.logits(batch, training: false))
        let dropped = try STACNN(config: smallConfig(dropout: 0.5), seed: 2)
        XCTAssertNotEqual(dropped.forward(batch, training: true).logits, dropped.logits(batch, training: false))
    }

    func testBatchPadsAndRejectsBadInput() throws {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]), b = Tensor(shape: [2, 1], data: [7, 8])
        let batch = try Batch(features: [a, b], labels: [1, 0])
        XCTAssertEqual(batch.x.shape, [2, 3, 2])
        XCTAssertEqual(batch.x.data, [1, 4, 2, 5, 3, 6, 7, 8, 0, 0, 0, 0])
        XCTAssertEqual(batch.lengths, [3, 1])
        XCTAssertThrowsError(try Batch(features: [])) { XCTAssertEqual($0 as? BatchError, .empty) }
        XCTAssertThrowsError(try Batch(features: [a, Tensor(shape: [3, 2])]))
        XCTAssertThrowsError(try Batch(features: [Tensor(shape: [2, 0])]))
        XCTAssertThrowsError(try Batch(features: [a], labels: [0, 1]))
    }

    func testSaveLoadRoundTripAndRefusals() throws {
        let dir = try SharedData.temporaryDirectory("model")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = smallConfig()
        var fc = FeatureConfig()
        fc.nMels = 2; fc.nChroma = 1; fc.nMFCC = 1; fc.blocks = [.spectrogram, .chroma, .mfcc, .zcr]
        XCTAssertEqual(fc.channels, 5)
        let std = Standardizer(mean: [0, 1, 2, 3, 4], std: [1, 2, 3, 4, 5])
        let model = try STACNN(config: config, seed: 7)
        let saved = SavedModel(model: model, labels: ["angry", "happy", "sad"], featureConfig: fc, standardizer: std)
        let url = dir.appendingPathComponent("m.safetensors")
        try saved.write(to: url)
        let back = try SavedModel.read(from: url)
        XCTAssertEqual(back.config, config)
        XCTAssertEqual(back.labels, ["angry", "happy", "sad"])
        XCTAssertEqual(back.featureConfig, fc)
        XCTAssertEqual(back.standardizer, std)
        XCTAssertEqual(back.normalization, .global)
        var utterance = saved; utterance.normalization = .utterance
        try utterance.write(to: url)
        XCTAssertEqual(try SavedModel.read(from: url).normalization, .utterance)
        try saved.write(to: url)
        let model2 = try back.makeModel()
        let batch = try randomBatch(channels: 5, lengths: [9, 4], classes: 3, seed: 2)
        XCTAssertEqual(model.logits(batch), model2.logits(batch))
        // Metadata holds JSON, tensors hold only the state_dict.
        let raw = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(Set(raw.tensors.keys), Set(config.parameterShapes.map(\.name)))
        XCTAssertEqual(raw.metadata["feature_config"], fc.jsonString())

        func refuses(_ f: SafeTensorsFile, _ name: String, _ check: (ModelFileError) -> Bool) throws {
            let u = dir.appendingPathComponent(name)
            try f.write(to: u)
            XCTAssertThrowsError(try SavedModel.read(from: u)) { e in
                guard let me = e as? ModelFileError else { return XCTFail("\(e)") }
                XCTAssertTrue(check(me), "\(me)")
                XCTAssertTrue(me.description.contains(u.path), me.description)
            }
        }
        var missing = raw; missing.tensors["gfe.in_proj_bias"] = nil
        try refuses(missing, "missing.safetensors") { if case .missingTensor(_, "gfe.in_proj_bias") = $0 { return true }; return false }
        var extra = raw; extra.tensors["gfe.extra"] = Tensor(shape: [1])
        try refuses(extra, "extra.safetensors") { if case .unexpectedTensor(_, "gfe.extra") = $0 { return true }; return false }
        var wrong = raw; wrong.tensors["classifier.bias"] = Tensor(shape: [4])
        try refuses(wrong, "shape.safetensors") { if case .shapeMismatch(_, "classifier.bias", [3], [4]) = $0 { return true }; return false }
        var other = raw; var oc = config; oc.lstmHidden = 6; other.metadata["model_config"] = oc.jsonString()
        try refuses(other, "config.safetensors") { if case .shapeMismatch = $0 { return true }; return false }
        var noMeta = raw; noMeta.metadata["standardizer"] = nil
        try refuses(noMeta, "nometa.safetensors") { if case .missingMetadata(_, "standardizer") = $0 { return true }; return false }
        var older = raw; older.metadata["normalization"] = nil       // files from before the field: global
        let olderURL = dir.appendingPathComponent("older.safetensors")
        try older.write(to: olderURL)
        XCTAssertEqual(try SavedModel.read(from: olderURL).normalization, .global)
        var badNorm = raw; badNorm.metadata["normalization"] = "per-planet"
        try refuses(badNorm, "norm.safetensors") { if case .invalidMetadata(_, "normalization", _) = $0 { return true }; return false }
        var badLabels = raw; badLabels.metadata["labels"] = "[\"a\"]"
        try refuses(badLabels, "labels.safetensors") { if case .invalidMetadata(_, "labels", _) = $0 { return true }; return false }
        // A damaged (truncated) file.
        let bytes = try Data(contentsOf: url)
        let cut = dir.appendingPathComponent("cut.safetensors")
        try bytes.prefix(bytes.count - 10).write(to: cut)
        XCTAssertThrowsError(try SavedModel.read(from: cut)) { e in
            guard case ModelFileError.unreadable(let p, _)? = e as? ModelFileError else { return XCTFail("\(e)") }
            XCTAssertEqual(p, cut.path)
        }
        // Loading a state dict into a model of another configuration.
        let bigger = try STACNN(config: oc)
        XCTAssertThrowsError(try bigger.load(stateDict: raw.tensors, path: "x")) { e in
            guard case ModelFileError.shapeMismatch(let p, _, _, _)? = e as? ModelFileError else { return XCTFail("\(e)") }
            XCTAssertEqual(p, "x")
        }
    }
}
