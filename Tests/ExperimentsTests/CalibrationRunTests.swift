import Foundation
import XCTest
import SERAudio
import SERCore
import SERCorpora
import SERExperiments
import SERFeatures
import SERModel
import SERReports
import SERTestSupport

final class CalibrationRunTests: XCTestCase {
    /// Trains a tiny STA-CNN on every fold of a generated corpus: each saved model carries a
    /// temperature that minimises its validation NLL, and the report gives ECE before and after
    /// temperature scaling on the test clips, per fold and pooled, with reliability diagrams.
    func testTrainingFitsTheTemperatureAndTheReportHasECE() throws {
        let dir = try SharedData.temporaryDirectory("cal-exp")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try ToneCorpus.write(to: dir, speakers: [("a", 1), ("b", 1), ("c", 1)], clips: 10, samples: 6000,
                                            sadHz: 300, angryHz: 1200, step: 0.03, amplitude: 0.3, noise: 0.05, seed: 5)
        var spec = ExperimentSpec(corpus: .manifest, data: manifest.path, protocolKind: .loso)
        spec.features.blocks = [.mfcc, .zcr]; spec.features.nMFCC = 5
        spec.model.convChannels = [8, 8, 8]; spec.model.lstmHidden = 4; spec.model.heads = 2
        spec.training.epochs = 4; spec.training.batchSize = 4; spec.training.learningRate = 3e-3
        var runner = ExperimentRunner(spec: spec, directory: dir.appendingPathComponent("run"),
                                      cacheDirectory: dir.appendingPathComponent("cache"))
        runner.progress = false
        runner.log = { _ in }
        let report = try runner.run(resume: false)
        XCTAssertEqual(report.folds.count, 3)
        for fold in report.folds {
            let c = try XCTUnwrap(fold.calibration, fold.name)
            XCTAssertEqual(c.before.count, fold.metrics.count)
            XCTAssertEqual(c.before.accuracy, fold.metrics.accuracy ?? -1, accuracy: 1e-9)   // T never changes the top class
            XCTAssertEqual(c.after.accuracy, c.before.accuracy, accuracy: 1e-9)
            let saved = try SavedModel.read(from: dir.appendingPathComponent("run/\(fold.name)/model.safetensors"))
            XCTAssertEqual(Double(saved.temperature), c.temperature)
            XCTAssertNotEqual(saved.temperature, 1, "a temperature was fitted")
        }
        let cal = try XCTUnwrap(report.calibration)
        XCTAssertEqual(cal.pooledBefore.count, report.aggregate.pooled.count)
        let md = try String(contentsOf: dir.appendingPathComponent("run/report.md"), encoding: .utf8)
        XCTAssertTrue(md.contains("## Calibration"))
        XCTAssertTrue(md.contains(String(format: "| **pooled** |  | %.4f | %.4f |", cal.pooledBefore.ece, cal.pooledAfter.ece)), md)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/reliability-diagram.svg").path))
        let json = try ExperimentReport.read(from: dir.appendingPathComponent("run/report.json"))
        XCTAssertEqual(json.calibration, report.calibration)

        // `ser evaluate` path: the same numbers from the saved models.
        let again = try runner.evaluate()
        XCTAssertEqual(again.calibration?.pooledAfter.ece ?? -1, cal.pooledAfter.ece, accuracy: 1e-6)

        // `ser calibrate` on models from before calibration (no temperature): the same temperatures
        // as training fitted, and the report's "after" comes back.
        for fold in report.folds {
            let url = dir.appendingPathComponent("run/\(fold.name)/model.safetensors")
            var raw = try SafeTensorsFile(contentsOf: url)
            raw.metadata["temperature"] = nil
            try raw.write(to: url)
        }
        let uncalibrated = try runner.evaluate()
        XCTAssertTrue(uncalibrated.folds.allSatisfy { $0.calibration?.temperature == 1 })
        XCTAssertEqual(uncalibrated.calibration?.pooledAfter, uncalibrated.calibration?.pooledBefore)
        let fitted = try runner.calibrate()
        XCTAssertEqual(fitted.map(\.fold), report.folds.map(\.name))
        for (f, r) in zip(fitted, report.folds) { XCTAssertEqual(f.temperature, r.calibration?.temperature ?? -1, accuracy: 1e-6) }
        let recalibrated = try runner.evaluate()
        XCTAssertEqual(recalibrated.calibration?.pooledAfter.ece ?? -1, cal.pooledAfter.ece, accuracy: 1e-6)
    }

    /// The fitted temperature minimises the validation NLL of the saved model.
    func testTrainerStoresTheValidationNLLMinimisingTemperature() throws {
        func clips(_ n: Int, seed: UInt64) -> LabelledClips {
            var rng = SeededRandom(seed: seed)
            var xs: [Tensor] = [], ys: [Int] = []
            for i in 0..<n {
                let y = i % 2, t = 12 + Int(rng.next() % 8)
                var x = Tensor(shape: [6, t])
                for c in 0..<6 { for j in 0..<t {
                    let ramp = Float(j) / Float(t) - 0.5
                    x[c, j] = (c < 3 ? (y == 1 ? ramp : -ramp) * 0.6 : 0) + 0.5 * rng.nextNormal()
                } }
                xs.append(x); ys.append(y)
            }
            return LabelledClips(features: xs, labels: ys)
        }
        var features = FeatureConfig(); features.blocks = [.mfcc, .zcr]; features.nMFCC = 5
        var model = STACNNConfig(inputChannels: 6, numClasses: 2)
        model.convChannels = [8, 8, 8]; model.lstmHidden = 4; model.heads = 2
        var cfg = TrainingConfig(); cfg.epochs = 6; cfg.batchSize = 8; cfg.learningRate = 5e-3; cfg.masking = .none
        let d = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: d) }
        let val = clips(24, seed: 4)
        let out = try Trainer(directory: d, modelConfig: model, config: cfg, featureConfig: features, labels: ["down", "up"])
            .train(train: clips(48, seed: 3), validation: val, progress: false)
        let T = Double(out.model.temperature)
        XCTAssertEqual(Double(try SavedModel.read(from: d.appendingPathComponent("model.safetensors")).temperature), T)
        let net = try out.model.makeModel()
        let z = try Evaluation.logits(net, val.features.map(out.model.standardizer.applied(to:)))
        let nll = { (t: Double) in TemperatureScaling.negativeLogLikelihood(logits: z, labels: val.labels, classes: 2, temperature: t) }
        XCTAssertLessThanOrEqual(nll(T), nll(1) + 1e-9)
        XCTAssertLessThanOrEqual(nll(T), nll(T * 1.1) + 1e-9)
        XCTAssertLessThanOrEqual(nll(T), nll(T / 1.1) + 1e-9)
    }
}
