import Foundation
import SERCore
import SEREncoder
import SERFeatures
import SERTestSupport
import XCTest

/// Level normalisation before the features: louder or quieter copies of a clip, and a clip with
/// silence around it, give the features of the clip itself.
final class LoudnessTests: XCTestCase {
    private func voice(seconds: Double, rate: Int, amplitude: Float) -> [Float] {
        var rng = SeededRandom(seed: 4)
        return (0..<Int(seconds * Double(rate))).map { i in
            let t = Double(i) / Double(rate)
            let env = Float(0.55 + 0.45 * sin(2 * Double.pi * 4 * t))
            return amplitude * env * Float(sin(2 * Double.pi * 180 * t) + 0.5 * sin(2 * Double.pi * 360 * t)) + 1e-4 * rng.nextNormal()
        }
    }

    func testReferenceLevelIgnoresSilenceAroundTheClipAndFollowsTheGain() {
        let x = voice(seconds: 1.5, rate: 16000, amplitude: 0.1)
        let level = Loudness.referenceLevel(x, sampleRate: 16000)
        XCTAssertEqual(Loudness.referenceLevel([Float](repeating: 0, count: 8000) + x + [Float](repeating: 0, count: 8000), sampleRate: 16000),
                       level, accuracy: 0.5)
        XCTAssertEqual(Loudness.referenceLevel(x.map { $0 * 3.1623 }, sampleRate: 16000), level + 10, accuracy: 0.01)
        XCTAssertEqual(Loudness.referenceLevel([Float](repeating: 0, count: 16000), sampleRate: 16000), -120)
        XCTAssertEqual(Loudness.referenceLevel([], sampleRate: 16000), -120)
    }

    func testNormalisedCopiesAtOtherGainsAreTheSameClip() {
        let x = voice(seconds: 1.5, rate: 16000, amplitude: 0.1)
        let a = Loudness.normalized(x, sampleRate: 16000, target: -20)
        XCTAssertEqual(Loudness.referenceLevel(a, sampleRate: 16000), -20, accuracy: 0.01)
        for gain: Float in [0.1, 0.316, 3.16] {
            let b = Loudness.normalized(x.map { $0 * gain }, sampleRate: 16000, target: -20)
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-4, "gain \(gain)")
        }
        // Digital silence is not amplified past the clamp; the gain is at most 40 dB.
        let quiet = [Float](repeating: 1e-7, count: 16000)
        XCTAssertLessThanOrEqual(Loudness.normalized(quiet, sampleRate: 16000, target: -20).map(abs).max() ?? 0, 1e-5)
    }

    func testFeaturesWithLoudnessAreTheSameAtAnyGain() throws {
        var config = FeatureConfig()
        config.loudness = -20
        let featurizer = try ClipFeaturizer(config: config)
        let x = voice(seconds: 1.0, rate: config.sampleRate, amplitude: 0.05)
        let a = try featurizer.extract(x), b = try featurizer.extract(x.map { $0 * 3.1623 })
        let worst = zip(a.data, b.data).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
        XCTAssertLessThan(worst, 1e-3)
        // Without it, the dB spectrogram moves by about 10 dB.
        let plain = try ClipFeaturizer(config: FeatureConfig())
        let c = try plain.extract(x), d = try plain.extract(x.map { $0 * 3.1623 })
        XCTAssertGreaterThan(zip(c.data, d.data).map { abs($0 - $1) }.max() ?? 0, 5)
        // Older configurations (no loudness key) read as off, and their JSON is unchanged.
        XCTAssertFalse(FeatureConfig().jsonString().contains("loudness"))
        config.loudness = 5
        XCTAssertThrowsError(try config.validate())
    }
}
