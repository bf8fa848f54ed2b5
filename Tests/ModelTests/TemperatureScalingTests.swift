import Foundation
import XCTest
import SERCore
import SERFeatures
import SERNetwork
import SERTestSupport
@testable import SERModel

final class TemperatureScalingTests: XCTestCase {
    /// Labels drawn from softmax(z / T0) make T0 the maximum-likelihood temperature: the fit
    /// must find it (up to sampling noise) from the logits z alone.
    func testFitRecoversAKnownTemperature() {
        let K = 5, n = 6000
        for t0 in [0.5, 1.0, 2.5] {
            var rng = SeededRandom(seed: 11)
            var z = [Float](), y = [Int]()
            for _ in 0..<n {
                let row = (0..<K).map { _ in 2.5 * rng.nextNormal() }
                let p = TemperatureScaling.probabilities(logits: row, classes: K, temperature: t0)
                var u = Float(rng.next() % 1_000_000) / 1_000_000, label = K - 1
                for k in 0..<K { u -= p[k]; if u < 0 { label = k; break } }
                z += row; y.append(label)
            }
            let t = TemperatureScaling.fit(logits: z, labels: y, classes: K)
            XCTAssertEqual(t, t0, accuracy: 0.08 * t0, "T0 = \(t0)")
            // It is the minimum: nudging it either way costs likelihood.
            let nll = TemperatureScaling.negativeLogLikelihood(logits: z, labels: y, classes: K, temperature: t)
            XCTAssertLessThanOrEqual(nll, TemperatureScaling.negativeLogLikelihood(logits: z, labels: y, classes: K, temperature: t * 1.05))
            XCTAssertLessThanOrEqual(nll, TemperatureScaling.negativeLogLikelihood(logits: z, labels: y, classes: K, temperature: t / 1.05))
            // Deterministic.
            XCTAssertEqual(t, TemperatureScaling.fit(logits: z, labels: y, classes: K))
        }
    }

    func testFitEdgeCases() {
        XCTAssertEqual(TemperatureScaling.fit(logits: [], labels: [], classes: 3), 1)
        // Perfectly separated and always right: sharper is always better, the search stops at its end.
        let t = TemperatureScaling.fit(logits: [3, 0, 0, 0, 3, 0], labels: [0, 1], classes: 3)
        XCTAssertEqual(t, TemperatureScaling.range.lowerBound, accuracy: 1e-3)
        // Always wrong with confidence: flatter is better, up to the other end.
        let u = TemperatureScaling.fit(logits: [3, 0, 0, 3], labels: [1, 0], classes: 2)
        XCTAssertEqual(u, TemperatureScaling.range.upperBound, accuracy: 0.1)
    }

    func testPredictAppliesTheTemperature() throws {
        let model = try STACNN(config: smallConfig(), seed: 3)
        var rng = SeededRandom(seed: 5)
        let x = Tensor(shape: [5, 16], data: (0..<80).map { _ in rng.nextNormal() })
        let z = model.logits(try Batch(features: [x])).data
        let plain = try model.predict(features: x)
        model.temperature = 2
        let soft = try model.predict(features: x)
        let expected = TemperatureScaling.probabilities(logits: z, classes: 3, temperature: 2)
        for k in 0..<3 { XCTAssertEqual(soft[k], expected[k], accuracy: 1e-5) }
        XCTAssertLessThan(soft.max()!, plain.max()!)                      // softer
        XCTAssertEqual(soft.firstIndex(of: soft.max()!), plain.firstIndex(of: plain.max()!))   // same top class
    }

    func testTemperatureIsStoredAndOldFilesReadAsOne() throws {
        let dir = try SharedData.temporaryDirectory("temperature")
        defer { try? FileManager.default.removeItem(at: dir) }
        var fc = FeatureConfig()
        fc.nMels = 2; fc.nChroma = 1; fc.nMFCC = 1; fc.blocks = [.spectrogram, .chroma, .mfcc, .zcr]
        let model = try STACNN(config: smallConfig(), seed: 7)
        var saved = SavedModel(model: model, labels: ["a", "b", "c"], featureConfig: fc,
                               standardizer: Standardizer(mean: [0, 0, 0, 0, 0], std: [1, 1, 1, 1, 1]))
        XCTAssertEqual(saved.temperature, 1)
        saved.temperature = 1.7
        let url = dir.appendingPathComponent("m.safetensors")
        try saved.write(to: url)
        let back = try SavedModel.read(from: url)
        XCTAssertEqual(back.temperature, 1.7)
        XCTAssertEqual(try back.makeModel().temperature, 1.7)
        // A file from before calibration: no "temperature" entry -> T = 1.
        var raw = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(raw.metadata["temperature"], "1.7")
        raw.metadata["temperature"] = nil
        let older = dir.appendingPathComponent("older.safetensors")
        try raw.write(to: older)
        XCTAssertEqual(try SavedModel.read(from: older).temperature, 1)
        // Nonsense is refused, naming the file and the key.
        for bad in ["0", "-2", "nan", "warm"] {
            raw.metadata["temperature"] = bad
            let u = dir.appendingPathComponent("bad.safetensors")
            try raw.write(to: u)
            XCTAssertThrowsError(try SavedModel.read(from: u)) { e in
                guard case ModelFileError.invalidMetadata(let p, "temperature", _)? = e as? ModelFileError else { return XCTFail("\(e)") }
                XCTAssertEqual(p, u.path)
            }
        }
    }

    func testBundledModelsStillRead() throws {
        for name in ["default", "handmade"] {
            let url = SharedData.packageRoot.appendingPathComponent("models/\(name).safetensors")
            guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("models/\(name).safetensors is absent") }
            let m = try SavedModel.read(from: url)                       // reading needs no encoder weights
            if (try SafeTensorsFile(contentsOf: url)).metadata["temperature"] == nil {
                XCTAssertEqual(m.temperature, 1, name)
            } else {
                XCTAssertGreaterThan(m.temperature, 0, name)
            }
        }
    }
}
