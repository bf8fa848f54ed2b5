import Foundation
import XCTest
import SERCore
import SEREncoder
import SERFeatures
import SERModel
@testable import SERRecognizer

/// Session adaptation: a speaker-normalised model z-scores every clip with the statistics of all
/// of one voice's recordings.
final class SessionAdaptationTests: XCTestCase {
    private func classifier(_ normalization: FeatureNormalization) throws -> STACNNClassifier {
        var fc = FeatureConfig()
        fc.blocks = [.mfcc, .zcr]; fc.nMFCC = 4; fc.sampleRate = 16_000
        var c = STACNNConfig(inputChannels: fc.channels, numClasses: 3)
        c.convChannels = [6, 6, 8]; c.lstmHidden = 4; c.heads = 2; c.dropout = 0
        let std = Standardizer(mean: [Float](repeating: 0, count: fc.channels), std: [Float](repeating: 1, count: fc.channels))
        let saved = SavedModel(model: try STACNN(config: c, seed: 3), labels: ["a", "b", "c"], featureConfig: fc,
                               standardizer: std, normalization: normalization)
        return try STACNNClassifier(model: saved)
    }

    private func tone(_ f: Double, gain: Float) -> [Float] {
        (0..<16_000).map { gain * Float(sin(2 * Double.pi * f * Double($0) / 16_000)) + 0.01 * Float(($0 * 7919) % 13) / 13 }
    }

    func testOneRecordingIsTheModelsOwnPerClipNormalisation() throws {
        let base = try classifier(.speaker)
        let clip = tone(220, gain: 0.3)
        let adapted = try SessionClassifier(base: base, clips: [clip])
        let a = try adapted.probabilities(samples: clip), b = try base.probabilities(samples: clip)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        XCTAssertEqual(adapted.normalization, "speaker (session adaptation over 1 recording)")
    }

    func testSeveralRecordingsShareOneSetOfStatistics() throws {
        let base = try classifier(.speaker)
        let clips = [tone(220, gain: 0.3), tone(440, gain: 0.05), tone(330, gain: 0.6)]
        let adapted = try SessionClassifier(base: base, clips: clips)
        // The statistics are those of all frames of all recordings.
        let fx = try ClipFeaturizer(config: base.model.featureConfig)
        let expected = Standardizer.fit(try clips.map { try fx.extract($0) })
        for (x, y) in zip(adapted.statistics.mean, expected.mean) { XCTAssertEqual(x, y, accuracy: 1e-4) }
        // A quiet recording is no longer normalised by itself alone: its answer changes.
        let own = try base.probabilities(samples: clips[1]), shared = try adapted.probabilities(samples: clips[1])
        XCTAssertGreaterThan(zip(own, shared).map { abs($0 - $1) }.max() ?? 0, 1e-4)
        XCTAssertEqual(shared.reduce(0, +), 1, accuracy: 1e-4)
        XCTAssertEqual(adapted.normalization, "speaker (session adaptation over 3 recordings)")
    }

    func testModelsTrainedOtherwiseRefuseSessions() throws {
        XCTAssertThrowsError(try SessionClassifier(base: try classifier(.global), clips: [tone(220, gain: 0.3)])) { e in
            guard case RecognizerError.sessionUnsupported? = e as? RecognizerError else { return XCTFail("\(e)") }
        }
    }
}
