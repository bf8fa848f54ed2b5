import Foundation
import XCTest
import SERAudio
import SEREncoder
import SERFeatures

/// The one featurization path never hands out NaN or infinity: the largest samples a decoded
/// file can hold give finite features, and anything beyond is refused with a typed error.
final class FiniteFeaturesTests: XCTestCase {
    private func clip(peak: Float, count: Int = 16000) -> [Float] {
        (0..<count).map { i in peak * Float(sin(Double(i) * 0.0625)) * (i % 7 == 0 ? 1 : 0.5) }
    }

    func testFeaturesAtTheDecoderLimitAreFinite() throws {
        var c = FeatureConfig()
        c.sampleRate = 16000
        let f = try ClipFeaturizer(config: c)
        for peak in [Float(1e-30), 1, 32768, AudioLimits.maxSampleMagnitude] {
            let x = try f.extract(clip(peak: peak))
            XCTAssertEqual(x.shape[0], c.channels)
            XCTAssertNil(AudioDecoder.firstNonFinite(x.data), "peak \(peak)")
        }
        // Silence too (log of zero power is clamped, not -inf).
        XCTAssertNil(AudioDecoder.firstNonFinite(try f.extract([Float](repeating: 0, count: 8000)).data))
    }

    func testHugeSamplesAreRefusedNotTurnedIntoNaN() throws {
        var c = FeatureConfig()
        c.sampleRate = 16000
        let f = try ClipFeaturizer(config: c)
        for peak in [Float(1e30), .greatestFiniteMagnitude] {
            XCTAssertThrowsError(try f.extract(clip(peak: peak)), "peak \(peak)") { e in
                guard case .nonFiniteFeatures? = e as? EncoderError else { return XCTFail("\(e)") }
                XCTAssertTrue("\(e)".contains("not finite"))
            }
        }
    }
}
