import Foundation
import XCTest
import SERCore
import SERFeatures
import SERNetwork
import SERTestSupport
@testable import SERModel

/// Feature settings with a hand-made block (1 ZCR row) before an encoder block of 3 hidden states
/// of width 2 carried whole (`weighted`): 7 rows.
func weightedFeatureConfig() -> FeatureConfig {
    var fc = FeatureConfig()
    fc.blocks = [.zcr, .encoder]
    fc.sampleRate = 16_000
    fc.encoder = EncoderBlockConfig(model: "test", width: 2, states: 3, layer: .weighted)
    return fc
}

/// The STA-CNN with a learned weighted sum of encoder layers in front (`STACNNConfig.layerSum`).
extension ModelTests {
    func layerSumConfig() -> STACNNConfig {
        var c = smallConfig()
        c.adapt(to: weightedFeatureConfig())
        return c
    }

    func testAdaptSetsTheLayerSumFromTheFeatures() throws {
        let fc = weightedFeatureConfig()
        XCTAssertEqual(fc.channels, 7)
        XCTAssertEqual(fc.firstChannel(of: .encoder), 1)
        let c = layerSumConfig()
        XCTAssertEqual(c.inputChannels, 7)
        XCTAssertEqual(c.layerSum, LayerSumConfig(offset: 1, layers: 3, width: 2))
        XCTAssertEqual(c.lfeInputChannels, 3)
        XCTAssertEqual(c.parameterShapes.first?.name, "layer_sum.weight")
        XCTAssertEqual(c.parameterShapes.first?.shape, [3])
        XCTAssertEqual(c.parameterShapes[1].shape, [6, 3, 3])                 // lfe.0 reads 1 + 2 channels
        var mean = fc
        mean.encoder?.layer = .mean
        var plain = c
        plain.adapt(to: mean)
        XCTAssertNil(plain.layerSum)
        XCTAssertEqual(plain.inputChannels, 3)
        // A configuration without the layer sum encodes exactly as before it existed.
        XCTAssertFalse(smallConfig().jsonString().contains("layerSum"))
        let m = try STACNN(config: c, seed: 1)
        XCTAssertEqual(m.parameters.map(\.name), c.parameterShapes.map(\.name))
        XCTAssertEqual(m.layerWeights, [Float](repeating: 1 / 3, count: 3))
        var bad = c
        bad.layerSum?.layers = 4
        XCTAssertThrowsError(try STACNN(config: bad))
    }

    func testLayerSumGradients() throws {
        try checkModelGradients(layerSumConfig())
        var noCFE = layerSumConfig()
        noCFE.useCFE = false
        try checkModelGradients(noCFE)
    }

    func testUniformLayerSumEqualsTheModelOnTheMeanOfTheLayers() throws {
        // With w = 0 the layer sum is the mean of the layers: the same network without it, given
        // the averaged features, gives the same logits (both draw the other weights from one seed).
        let c = layerSumConfig()
        var plainConfig = c
        plainConfig.layerSum = nil
        plainConfig.inputChannels = c.lfeInputChannels
        let weighted = try STACNN(config: c, seed: 5), plain = try STACNN(config: plainConfig, seed: 5)
        let batch = try randomBatch(channels: 7, lengths: [9, 4], classes: 3, seed: 2)
        let averaged = (0..<batch.size).map { b -> Tensor in
            var x = Tensor(shape: [3, batch.time])
            for t in 0..<batch.time {
                let row = (b * batch.time + t) * 7
                x[0, t] = batch.x.data[row]
                for d in 0..<2 { x[1 + d, t] = (0..<3).reduce(Float(0)) { $0 + batch.x.data[row + 1 + $1 * 2 + d] } / 3 }
            }
            return x
        }
        let plainBatch = try Batch(features: averaged.enumerated().map { b, x in
            Tensor(shape: [3, batch.lengths[b]], data: (0..<3).flatMap { c in (0..<batch.lengths[b]).map { x[c, $0] } })
        })
        let a = weighted.logits(batch), p = plain.logits(plainBatch)
        for (u, v) in zip(a.data, p.data) { XCTAssertEqual(u, v, accuracy: 1e-5) }
    }

    func testOptimizerTrainsTheLayerLogitsWithoutDecayAtTheirOwnRate() throws {
        let m = try STACNN(config: layerSumConfig(), seed: 1)
        let adam = m.makeOptimizer(learningRate: 1e-4, weightDecay: 1e-3)
        XCTAssertEqual(adam.parameters.first?.name, "layer_sum.weight")
        XCTAssertEqual(adam.learningRateScale.first, 100)
        XCTAssertEqual(adam.decays.first, false)
        XCTAssertEqual(Set(adam.learningRateScale.dropFirst()), [1])
        XCTAssertEqual(Set(adam.decays.dropFirst()), [true])
        let batch = try randomBatch(channels: 7, lengths: [12, 7, 3], classes: 3, seed: 4)
        for _ in 0..<5 { m.trainStep(batch, optimizer: adam) }
        let w = m.layerWeights ?? []
        XCTAssertEqual(w.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertNotEqual(w, [Float](repeating: 1 / 3, count: 3), "the layer weights did not move")
    }

    func testSavedModelStoresTheLayerWeightsAndChecksThemAgainstTheFeatures() throws {
        let dir = try SharedData.temporaryDirectory("layersum")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fc = weightedFeatureConfig()
        let model = try STACNN(config: layerSumConfig(), seed: 7)
        model.layerSum?.weight.load([0.5, -1, 2])
        let std = Standardizer.identity(channels: 7)
        let saved = SavedModel(model: model, labels: ["a", "b", "c"], featureConfig: fc, standardizer: std)
        let url = dir.appendingPathComponent("m.safetensors")
        try saved.write(to: url)
        let back = try SavedModel.read(from: url)
        XCTAssertEqual(back.config.layerSum, LayerSumConfig(offset: 1, layers: 3, width: 2))
        XCTAssertEqual(back.weights["layer_sum.weight"]?.data, [0.5, -1, 2])
        let expected = LayerWeightedSum.softmax([0.5, -1, 2])
        XCTAssertEqual(back.layerWeights, expected)
        XCTAssertEqual(try back.makeModel().layerWeights, expected)
        XCTAssertNotNil(back.layerWeightsSummary?.contains("0 (embedding)"))
        // The same prediction from the reloaded file.
        var rng = SeededRandom(seed: 3)
        let clip = Tensor(shape: [7, 10], data: (0..<70).map { _ in rng.nextNormal() })
        XCTAssertEqual(try model.predict(features: clip), try back.makeModel().predict(features: clip))
        // A file whose model lacks the layer sum while the features carry every layer is refused.
        var broken = saved
        broken.config.layerSum = nil
        broken.config.inputChannels = 7
        broken.weights["layer_sum.weight"] = nil
        broken.weights["lfe.0.weight"] = Tensor(shape: [6, 7, 3])
        try broken.write(to: url)
        XCTAssertThrowsError(try SavedModel.read(from: url)) { error in
            guard case .invalidMetadata(_, "model_config", _)? = error as? ModelFileError else { return XCTFail("\(error)") }
        }
    }
}
