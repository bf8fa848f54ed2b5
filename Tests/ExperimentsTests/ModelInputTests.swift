import Foundation
import SERAudio
import SERCore
import SERCorpora
import SERFeatures
@testable import SERExperiments
import SERModel
import SERRecognizer
import SERTestSupport
import XCTest

/// One path from audio to model input: the input a file gets in training (feature cache, the
/// run's per-clip normalisation, the standardiser the trainer fitted) is the input `predict` and
/// `serve` give the network for that file (STACNNClassifier), bit for bit.
final class ModelInputTests: XCTestCase {
    func testATrainingClipsInputEqualsItsPredictionInputBitForBit() throws {
        let dir = try SharedData.temporaryDirectory("model-input")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try ToneCorpus.write(to: dir, speakers: [("a", 0.5), ("b", 0.1), ("c", 0.3)], clips: 6, samples: 6000,
                                            sadHz: 220, angryHz: 1760, step: 0.03, amplitude: 0.5, noise: 0.01, seed: 9)
        for normalization in [FeatureNormalization.global, .utterance] {
            var spec = ExperimentSpec(corpus: .manifest, data: manifest.path, protocolKind: .holdout)
            spec.normalization = normalization
            spec.model.convChannels = [8, 8, 8]; spec.model.lstmHidden = 4; spec.model.heads = 2
            spec.training.epochs = 1; spec.training.batchSize = 4
            var runner = ExperimentRunner(spec: spec, directory: dir.appendingPathComponent("run-\(normalization)"),
                                          cacheDirectory: dir.appendingPathComponent("cache"))
            runner.progress = false
            runner.log = { _ in }
            _ = try runner.run(resume: false)
            let corpus = try runner.loadCorpus()
            var fold = try XCTUnwrap(try runner.selectedFolds(try SplitProtocols.stratifiedHoldout(corpus, seed: 0), corpus).first)
            fold.name = "seed-0"                                            // as the runner names holdout runs
            let saved = try SavedModel.read(from: try XCTUnwrap(runner.finishedModel(fold)))
            let classifier = try STACNNClassifier(model: saved)
            // Training's inputs: the clip table (cache + normalisation) and the trainer's standardiser.
            let table = try runner.clipTable(fold.train + fold.test, labels: corpus.labels)
            for entry in (fold.train.prefix(2) + fold.test.prefix(2)) {
                let trained = saved.standardizer.applied(to: try XCTUnwrap(table.features[ClipTable.Key(url: entry.url, variant: "")]))
                let clip = try AudioDecoder.load(contentsOf: entry.url, options: AudioOptions(sampleRate: classifier.sampleRate))
                let predicted = try classifier.modelInput(samples: clip.samples)
                XCTAssertEqual(trained.shape, predicted.shape, entry.url.lastPathComponent)
                // The same code on the same numbers: equal to the bit, not within a tolerance.
                XCTAssertEqual(trained.data.map(\.bitPattern), predicted.data.map(\.bitPattern),
                               "\(normalization): \(entry.url.lastPathComponent)")
            }
        }
    }
}
