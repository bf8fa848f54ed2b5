import Foundation
import XCTest
@testable import SERAudio
import SERCore

/// soxr HQ resampling: lengths as librosa fixes them, pitch kept, streaming equal to one-shot.
final class ResamplerTests: XCTestCase {
    func testLengthRuleMatchesLibrosa() {
        // int(np.ceil(n * (float(to) / from))).
        XCTAssertEqual(Resampler.outputLength(inputFrames: 48000, from: 48000, to: 22050), 22050)
        XCTAssertEqual(Resampler.outputLength(inputFrames: 1, from: 48000, to: 22050), 1)
        XCTAssertEqual(Resampler.outputLength(inputFrames: 185786, from: 48000, to: 22050), 85346)  // RAVDESS reference
        XCTAssertEqual(Resampler.outputLength(inputFrames: 100, from: 16000, to: 22050), 138)
        XCTAssertEqual(Resampler.outputLength(inputFrames: 0, from: 44100, to: 16000), 0)
    }

    func testSineKeepsFrequencyAndLength() throws {
        for (from, to, f) in [(48000, 22050, 1000.0), (44100, 16000, 3000.0), (16000, 22050, 440.0)] {
            let x = TestSignals.sine(f, rate: from, count: from / 2, amplitude: 0.5)
            let y = try Resampler.resample(x, from: from, to: to)
            XCTAssertEqual(y.count, Resampler.outputLength(inputFrames: x.count, from: from, to: to))
            let mid = Array(y[(y.count / 4)..<(y.count * 3 / 4)])
            XCTAssertEqual(TestSignals.dominantFrequency(mid, rate: to, near: f), f, accuracy: 1, "\(from)->\(to)")
            XCTAssertEqual(TestSignals.rms(mid), 0.5 / 2.0.squareRoot(), accuracy: 0.005, "\(from)->\(to)")
            // Against the analytic sine at the new rate, away from the edges (soxr is linear-phase, no delay).
            let ideal = TestSignals.sine(f, rate: to, count: y.count, amplitude: 0.5)
            XCTAssertLessThan(TestSignals.maxAbsDiff(mid, Array(ideal[(y.count / 4)..<(y.count * 3 / 4)])), 1e-3)
        }
    }

    func testAboveNyquistIsRemoved() throws {
        // 15 kHz at 48 kHz is above the 11.025 kHz Nyquist of 22050: HQ must suppress it.
        let x = TestSignals.sine(15000, rate: 48000, count: 48000, amplitude: 0.5)
        let y = try Resampler.resample(x, from: 48000, to: 22050)
        XCTAssertLessThan(TestSignals.rms(y[2000..<(y.count - 2000)]), 1e-3)
    }

    func testStreamingEqualsOneShot() throws {
        var rng = SeededRandom(seed: 42)
        let x = (0..<200_003).map { _ in rng.uniform(-0.8, 0.8) }
        let whole = try Resampler.resample(x, from: 48000, to: 22050)
        let r = try Resampler(from: 48000, to: 22050)
        var streamed: [Float] = []
        var out: [Float] = []
        var i = 0
        for size in [1, 7, 4096, 65536, 333, 100_000, 50_000] where i < x.count {
            let end = min(x.count, i + size)
            try x[i..<end].withUnsafeBufferPointer { try r.process($0, into: &out) }
            streamed += out
            i = end
        }
        XCTAssertEqual(i, x.count)
        try r.finish(into: &out)
        streamed += out
        XCTAssertEqual(streamed.count, whole.count)
        XCTAssertEqual(streamed, whole, "max diff \(TestSignals.maxAbsDiff(streamed, whole))")
        XCTAssertEqual(r.inputFrames, x.count)
        XCTAssertEqual(r.outputFrames, whole.count)
    }

    func testDecoderBlockSizeDoesNotChangeSamples() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("b.flac")
        var rng = SeededRandom(seed: 3)
        let x = TestSignals.interleave([(0..<150_000).map { _ in rng.uniform(-0.5, 0.5) },
                                        (0..<150_000).map { _ in rng.uniform(-0.5, 0.5) }])
        try AudioEncoder.write(x, channels: 2, sampleRate: 44100, format: .flac16, to: url)
        let big = try AudioDecoder.load(contentsOf: url, options: .init(sampleRate: 16000))
        let small = try AudioDecoder.load(contentsOf: url, options: .init(sampleRate: 16000, blockFrames: 999))
        XCTAssertEqual(big, small)
        // And equal to decoding natively, then resampling the whole signal in one go.
        let native = try AudioDecoder.load(contentsOf: url, options: .native)
        XCTAssertEqual(big.samples, try Resampler.resample(native.samples, from: 44100, to: 16000))
        var blocks = 0, total = 0
        let info = try AudioDecoder.stream(contentsOf: url, options: .init(sampleRate: 16000, blockFrames: 4096)) {
            blocks += 1; total += $0.count
        }
        XCTAssertEqual(total, big.samples.count)
        XCTAssertGreaterThan(blocks, 10)
        XCTAssertEqual(info.frames, 150_000)
        XCTAssertEqual(info.channels, 2)
    }

    func testTinyInputs() throws {
        for n in [1, 2, 3, 10] {
            let x = [Float](repeating: 0.25, count: n)
            XCTAssertEqual(try Resampler.resample(x, from: 48000, to: 22050).count,
                           Resampler.outputLength(inputFrames: n, from: 48000, to: 22050))
            XCTAssertEqual(try Resampler.resample(x, from: 8000, to: 22050).count,
                           Resampler.outputLength(inputFrames: n, from: 8000, to: 22050))
        }
        XCTAssertEqual(try Resampler.resample([], from: 48000, to: 22050), [])
        let url = try makeTemporaryDirectory().appendingPathComponent("one.wav")
        try AudioEncoder.writeWAV([0.5], sampleRate: 48000, to: url)
        XCTAssertEqual(try AudioDecoder.load(contentsOf: url).samples.count, 1)
    }

    func testFractionalRatesKeepLibrosasLengthRule() throws {
        // librosa's pitch shift resamples from sr / 2^(-n/12) Hz, not a whole number.
        let from = 22050 * pow(2, 1.0 / 12)                            // 23361.46 Hz
        let x = (0..<10000).map { Float(sin(Double($0) * 0.05)) }
        let y = try Resampler.resample(x, rate: from, to: 22050)
        XCTAssertEqual(y.count, Int((10000 * (22050 / from)).rounded(.up)))
        let r = try Resampler(rate: from, to: 22050)
        XCTAssertEqual(r.inputRate, 23361)                              // reported rounded
        for bad in [0, -1, Double.nan, .infinity] {
            XCTAssertThrowsError(try Resampler(rate: bad, to: 22050)) { e in
                guard case AudioError.invalidOptions = e else { return XCTFail("\(e)") }
            }
        }
    }

    func testEqualRatesPassThrough() throws {
        let x: [Float] = [0.1, -0.2, 0.3]
        XCTAssertEqual(try Resampler.resample(x, from: 16000, to: 16000), x)
        let url = try makeTemporaryDirectory().appendingPathComponent("p.wav")
        try AudioEncoder.writeWAV(x, sampleRate: 22050, to: url, float: true)
        XCTAssertEqual(try AudioDecoder.load(contentsOf: url).samples, x)
    }
}
