import XCTest
import SERCore
import SERFeatures
@testable import SEREncoder
import SERTestSupport

/// Whisper's log-mel front end against the numpy/librosa reference (Tests/Fixtures/whisper/logmel.safetensors,
/// written by benchmarks/encoder/make_fixtures.py) and against properties that follow from its definition.
final class WhisperLogMelTests: XCTestCase {
    static let fixture = SharedData.fixture("whisper/logmel.safetensors")

    /// max|a - b| / max|b|.
    func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        var m: Float = 0
        for i in 0..<min(a.count, b.count) { m = max(m, abs(a.data[i] - b.data[i])) }
        return m / max(b.maxAbs, 1e-30)
    }

    func testFrameCounts() {
        XCTAssertEqual(WhisperLogMel.frames(samples: 16000), 100)
        XCTAssertEqual(WhisperLogMel.frames(samples: 16159), 100)
        XCTAssertEqual(WhisperEncoder.frames(samples: 16000), 50)
        XCTAssertEqual(WhisperEncoder.frames(samples: 16160), 51)   // 101 mel frames -> 51
        XCTAssertNil(WhisperLogMel().compute([Float](repeating: 0.1, count: 200)))
        XCTAssertEqual(WhisperLogMel().compute([Float](repeating: 0.1, count: 201))?.shape, [1, 80])
    }

    func testToneMatchesLibrosaReference() throws {
        let ref = try SafeTensorsFile(contentsOf: Self.fixture)
        let signal = try SafeTensorsFile(contentsOf: SharedData.fixture("librosa/tone_a440_16000.safetensors")).tensor("signal")
        let mel = try XCTUnwrap(WhisperLogMel().compute(signal.data))
        let err = relativeError(mel, try ref.tensor("tone_a440_16000.logmel"))
        XCTAssertLessThan(err, 1e-5, "tone: relative error \(err)")
    }

    func testShortClipReflectPaddingMatchesReference() throws {
        let ref = try SafeTensorsFile(contentsOf: Self.fixture)
        let mel = try XCTUnwrap(WhisperLogMel().compute(try ref.tensor("chirp_short.signal").data))
        let err = relativeError(mel, try ref.tensor("chirp_short.logmel"))
        XCTAssertLessThan(err, 1e-5, "chirp: relative error \(err)")
    }

    func testCorpusClipMatchesReference() throws {
        guard let clip = SharedData.path("reference/librosa/ravdess_Actor_12_03-01-03-02-02-01-12_16000.safetensors") else {
            throw XCTSkip("../shared/reference/librosa is absent: RAVDESS front-end check skipped")
        }
        let signal = try SafeTensorsFile(contentsOf: clip).tensor("signal")
        let mel = try XCTUnwrap(WhisperLogMel().compute(signal.data))
        let ref = try SafeTensorsFile(contentsOf: Self.fixture).tensor("ravdess_16000.logmel")
        let err = relativeError(mel, ref)
        XCTAssertLessThan(err, 1e-5, "RAVDESS: relative error \(err)")
    }

    /// Silence is 1e-10 in every band: (log10(1e-10) + 4) / 4 = -1.5 everywhere.
    func testSilenceIsTheFloor() throws {
        let mel = try XCTUnwrap(WhisperLogMel().compute([Float](repeating: 0, count: 4000)))
        XCTAssertEqual(mel.shape, [25, 80])
        for v in mel.data { XCTAssertEqual(v, -1.5, accuracy: 1e-6) }
    }

    /// The clamp keeps every value within 8 / 4 = 2 of the maximum; scaling the signal by 10 adds
    /// log10(100) / 4 = 0.5 to every value above the floor.
    func testClampAndScale() throws {
        var rng = SeededRandom(seed: 3)
        let x = (0..<8000).map { _ in 0.1 * rng.nextNormal() }
        let fe = WhisperLogMel()
        let a = try XCTUnwrap(fe.compute(x)), b = try XCTUnwrap(fe.compute(x.map { $0 * 10 }))
        let top = a.data.max()!
        XCTAssertGreaterThanOrEqual(a.data.min()!, top - 2 - 1e-6)
        for i in 0..<a.count where a.data[i] > top - 1.9 { XCTAssertEqual(b.data[i] - a.data[i], 0.5, accuracy: 1e-4) }
    }
}
