import Foundation
import XCTest
import SERCore
import SERTestSupport
@testable import SERFeatures

/// Layout of the fused matrix, the standardiser and the small building blocks.
final class FusionTests: XCTestCase {
    private func signal(_ n: Int, seed: UInt64 = 7) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { i in
            Float(0.3 * sin(2 * Double.pi * 220 * Double(i) / 22050)) + 0.05 * rng.nextNormal()
        }
    }

    /// Same shape, and every element within `relative * max(1, max|expected|)` of the expected one.
    /// Values reached through matrix products of different shapes (MFCC with 20 or 40
    /// coefficients, one fused block or all of them) round differently on each BLAS kernel, so
    /// they are never compared for exact equality.
    private func assertClose(_ got: Tensor, _ expected: Tensor, relative: Float = 1e-5,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.shape, expected.shape, file: file, line: line)
        guard got.shape == expected.shape else { return }
        var scale: Float = 1, diff: Float = 0
        for i in 0..<expected.data.count {
            scale = max(scale, abs(expected.data[i]))
            diff = max(diff, abs(got.data[i] - expected.data[i]))
        }
        XCTAssertLessThanOrEqual(diff, relative * scale, "max |difference| \(diff), scale \(scale)",
                                 file: file, line: line)
    }

    /// Rows `from..<from+count` of a `[c, t]` tensor.
    private func rows(_ x: Tensor, _ from: Int, _ count: Int) -> Tensor {
        let t = x.shape[1]
        return Tensor(shape: [count, t], data: Array(x.data[(from * t)..<((from + count) * t)]))
    }

    func testBlocksAreStackedInConfiguredOrder() {
        let y = signal(30000)
        var config = FeatureConfig()
        let full = FeatureExtractor(config: config)
        let mel = Tensor(shape: [128, full.config.frameCount(samples: y.count)],
                         data: Spectral.powerToDB(full.melPower(y).data, topDB: config.topDB))
        let chroma = full.chroma(y), mfcc = full.mfcc(y), zcr = full.zcr(y)

        let x = full.extract(y)
        XCTAssertEqual(config.channels, 181)
        XCTAssertEqual(x.shape, [181, 1 + 30000 / 512])
        assertClose(rows(x, 0, 128), mel)
        assertClose(rows(x, 128, 12), chroma)
        assertClose(rows(x, 140, 40), mfcc)
        assertClose(rows(x, 180, 1), zcr)

        config.blocks = [.zcr, .mfcc]
        config.nMFCC = 20
        let small = FeatureExtractor(config: config).extract(y)
        XCTAssertEqual(config.channels, 21)
        XCTAssertEqual(small.shape, [21, x.shape[1]])
        assertClose(rows(small, 0, 1), zcr)
        assertClose(rows(small, 1, 20), rows(mfcc, 0, 20))

        config.blocks = [.chroma, .spectrogram]
        config.spectrogram = .linear
        let linear = FeatureExtractor(config: config).extract(y)
        XCTAssertEqual(config.channels, 12 + 1025)
        assertClose(rows(linear, 0, 12), chroma)
        let mag = full.stftMagnitude(y)
        let db = Spectral.powerToDB(mag.data.map { $0 * $0 }, topDB: config.topDB)
        let got = rows(linear, 12, 1025)
        var d: Float = 0
        for i in 0..<db.count { d = max(d, abs(got.data[i] - db[i])) }
        XCTAssertLessThan(d, 1e-3)
    }

    func testExtractIntoReusesTensor() {
        let fx = FeatureExtractor()
        var out = Tensor(shape: [0, 0])
        fx.extract(signal(10000), into: &out)
        XCTAssertEqual(out.shape, [181, 20])
        fx.extract(signal(5000, seed: 3), into: &out)
        XCTAssertEqual(out, fx.extract(signal(5000, seed: 3)))
    }

    func testStandardizerFitAndApply() {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 10, 10, 10])
        let b = Tensor(shape: [2, 1], data: [6, 10])
        let s = Standardizer.fit([a, b])
        XCTAssertEqual(s.channels, 2)
        XCTAssertEqual(s.mean[0], 3, accuracy: 1e-6)          // (1+2+3+6)/4
        XCTAssertEqual(s.std[0], Float((3.5 as Double).squareRoot()), accuracy: 1e-6) // var = (4+1+0+9)/4
        XCTAssertEqual(s.mean[1], 10, accuracy: 1e-6)
        XCTAssertEqual(s.std[1], 1e-5, accuracy: 1e-9)        // constant channel: floored
        let z = s.applied(to: a)
        XCTAssertEqual(z[0, 0], Float(-2 / (3.5 as Double).squareRoot()), accuracy: 1e-5)
        XCTAssertEqual(z[1, 2], 0)
        // Standardised training data has mean 0 and std 1 per (non-constant) channel.
        let refit = Standardizer.fit([s.applied(to: a), s.applied(to: b)])
        XCTAssertEqual(refit.mean[0], 0, accuracy: 1e-5)
        XCTAssertEqual(refit.std[0], 1, accuracy: 1e-5)
        // Codable round trip (it is saved inside model files).
        let data = try? JSONEncoder().encode(s)
        XCTAssertEqual(data.flatMap { try? JSONDecoder().decode(Standardizer.self, from: $0) }, s)
        XCTAssertEqual(Standardizer.fit([]).channels, 0)
    }

    /// A constant channel whose Double sums round so that E[x²] − E[x]² comes out slightly
    /// negative must still get the floor std, not NaN (a NaN std turned whole SAVEE clips into NaN
    /// under utterance normalisation and the training loss with them).
    func testStandardizerConstantChannelRounding() {
        var negativeVarianceSeen = false
        for frames in [7, 57, 151, 300, 1001] {
            for value: Float in [0.1, -0.3, 1.7, -79.99, 3.3e-3, 12345.6, -0.55] {
                let x = Tensor(shape: [1, frames], data: [Float](repeating: value, count: frames))
                let v = Double(value), n = Double(frames)
                let s0 = (0..<frames).reduce(0.0) { a, _ in a + v }, q0 = (0..<frames).reduce(0.0) { a, _ in a + v * v }
                if q0 / n - (s0 / n) * (s0 / n) < 0 { negativeVarianceSeen = true }
                let s = Standardizer.fit([x])
                XCTAssertTrue(s.std[0].isFinite && s.std[0] >= 1e-5, "value \(value), \(frames) frames: std \(s.std[0])")
                var y = x
                FeatureNormalization.utterance.apply(&y)
                XCTAssertTrue(y.isFinite, "value \(value), \(frames) frames: non-finite output")
            }
        }
        XCTAssertTrue(negativeVarianceSeen, "the test must include a case whose rounded variance is negative")
    }

    func testNormalizationModes() {
        func clip(_ values: [Float]) -> Tensor { Tensor(shape: [2, values.count / 2], data: values) }
        let a = clip([1, 2, 3, 4, 10, 20, 30, 40]), b = clip([5, 7, 9, 11, 0, 1, 0, 1]), c = clip([100, 300, 5, 5])
        func stats(_ xs: [Tensor]) -> Standardizer { Standardizer.fit(xs) }

        var global = [a, b, c]
        FeatureNormalization.global.apply(&global, groups: ["s1", "s1", "s2"])
        XCTAssertEqual(global, [a, b, c])

        // utterance: every clip on its own has mean 0 and std 1 per (non-constant) channel.
        var utt = [a, b, c]
        FeatureNormalization.utterance.apply(&utt, groups: ["s1", "s1", "s2"])
        for x in utt {
            let s = stats([x])
            XCTAssertEqual(s.mean[0], 0, accuracy: 1e-5); XCTAssertEqual(s.std[0], 1, accuracy: 1e-4)
        }
        XCTAssertEqual(utt[2][1, 0], 0)                         // constant channel: 0, not NaN
        var single = a
        FeatureNormalization.utterance.apply(&single)
        XCTAssertEqual(single, utt[0])                           // prediction does the same

        // speaker: the clips of one speaker share statistics; speakers do not affect each other.
        var spk = [a, b, c]
        FeatureNormalization.speaker.apply(&spk, groups: ["s1", "s1", "s2"])
        let s1 = stats([spk[0], spk[1]])
        XCTAssertEqual(s1.mean[0], 0, accuracy: 1e-5); XCTAssertEqual(s1.std[0], 1, accuracy: 1e-4)
        XCTAssertEqual(s1.mean[1], 0, accuracy: 1e-5); XCTAssertEqual(s1.std[1], 1, accuracy: 1e-4)
        XCTAssertNotEqual(stats([spk[0]]).mean[0], 0)            // not per clip
        var other = [a, b, clip([-7, 3, 2, 2])]
        FeatureNormalization.speaker.apply(&other, groups: ["s1", "s1", "s2"])
        XCTAssertEqual(Array(other[0...1]), Array(spk[0...1]))
        XCTAssertEqual(FeatureNormalization(rawValue: "speaker"), .speaker)
    }

    func testPitchTuningFindsTheOffset() {
        // 0.205 of a semitone sharp of the A440 grid, over several octaves: histogram bin [0.20, 0.21).
        let f: [Float] = [220, 440, 880, 330, 660].map { $0 * Float(pow(2.0, 0.205 / 12)) }
        XCTAssertEqual(Spectral.pitchTuning(f), 0.2, accuracy: 1e-9)
        // Flat by 0.305: bin [-0.31, -0.30); the majority wins over one outlier.
        let flat: [Float] = [440, 880, 27.5 * 8 * Float(pow(2.0, 3.0 / 12)), 500].map { $0 * Float(pow(2.0, -0.305 / 12)) }
        XCTAssertEqual(Spectral.pitchTuning(flat), -0.31, accuracy: 1e-9)
        XCTAssertEqual(Spectral.pitchTuning([]), 0)
        XCTAssertEqual(Spectral.pitchTuning([0, -3]), 0)
    }

    func testQuickSelectMatchesSort() {
        var rng = SeededRandom(seed: 11)
        for n in [1, 2, 3, 10, 101, 1000] {
            var v = (0..<n).map { _ in Float(Int(rng.nextUniform() * 20)) }   // many ties
            let sorted = v.sorted()
            for k in [0, n / 2, n - 1] {
                let got = v.withUnsafeMutableBufferPointer { quickSelect($0, k) }
                XCTAssertEqual(got, sorted[k], "n \(n) k \(k)")
            }
        }
    }

    func testVectorHelpersMatchScalarDefinitions() {
        var rng = SeededRandom(seed: 11)
        // Lengths around the 4-, 8- and 16-wide steps, and a frame's 1025 bins. Exact equality on
        // purpose: the vector loops do one correctly rounded division, square root, fused
        // multiply-add and product per value, as the scalar definition does, so every lane width and
        // CPU gives the same bits (no sums whose order could change); librosa parity relies on it.
        for n in [1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 1025] {
            let re = (0..<n).map { _ in Double(rng.nextNormal()) * (rng.nextUniform() < 0.1 ? 0 : 1) }
            let im = (0..<n).map { _ in Double(rng.nextNormal()) * (rng.nextUniform() < 0.1 ? 0 : 1e-3) }
            let interleaved = (0..<n).flatMap { [re[$0], im[$0]] }
            var parts = [Float](repeating: 0, count: 2 * n), got = [Float](repeating: 0, count: n)
            let top = interleaved.withUnsafeBufferPointer { src in
                parts.withUnsafeMutableBufferPointer { p in
                    got.withUnsafeMutableBufferPointer {
                        FeatureExtractor.squaredMagnitudes(src.baseAddress!, count: n, parts: p.baseAddress!, into: $0.baseAddress!)
                    }
                }
            }
            let want = (0..<n).map { f -> Float in let m = numpyComplexAbs(Float(re[f]), Float(im[f])); return m * m }
            XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "n \(n)")
            XCTAssertEqual(top, want.max()!, "n \(n)")
            XCTAssertEqual(want.withUnsafeBufferPointer { maxElement($0.baseAddress!, count: n) }, want.max()!, "n \(n)")
        }
        let v: [Float] = [0, 1, 2, 3, 4, 5, 6, 7]
        for k in 0..<8 {
            var w = v.map { $0 * 0.1 }
            w[k] = 9
            XCTAssertTrue(w.withUnsafeBufferPointer { anyAbove($0.baseAddress!, 8.5) }, "lane \(k)")
            XCTAssertFalse(w.withUnsafeBufferPointer { anyAbove($0.baseAddress!, 9) }, "lane \(k)")
        }
    }

    func testFilterbankShapesAndNormalisation() {
        let mel = Filterbank.mel(sampleRate: 22050, nFFT: 2048, nMels: 128)
        XCTAssertEqual(mel.count, 128 * 1025)
        // Slaney normalisation: each triangle has area ~1 in Hz (2 / width * width / 2).
        let df = 22050.0 / 2048
        for i in [5, 64, 120] {
            let area = (0..<1025).reduce(0.0) { $0 + Double(mel[i * 1025 + $1]) } * df
            XCTAssertEqual(area, 1, accuracy: 0.1, "mel row \(i)")
        }
        let dct = Filterbank.dct(count: 4, n: 8)
        for a in 0..<4 {
            for b in 0..<4 {
                let dot = (0..<8).reduce(Float(0)) { $0 + dct[a * 8 + $1] * dct[b * 8 + $1] }
                XCTAssertEqual(dot, a == b ? 1 : 0, accuracy: 1e-6)
            }
        }
        let w = Filterbank.hann(8)
        XCTAssertEqual(w[0], 0)
        XCTAssertEqual(w[4], 1, accuracy: 1e-7)
        XCTAssertEqual(w[2], 0.5, accuracy: 1e-7)
        let zc = Spectral.zeroCrossingRate([1, -1, 1, -1e-12, 2, -3, 0, 0], frameLength: 4, hopLength: 2)
        // Padded: [1,1, 1,-1,1,~0,2,-3,0,0, 0,0]; frames of 4 starting at 0,2,4,6,8.
        XCTAssertEqual(zc, [0.25, 0.5, 0.25, 0.5, 0])   // librosa gives the same
    }
}

/// Settings outside the supported ranges are refused before anything is allocated.
final class FeatureConfigValidationTests: XCTestCase {
    func testDefaultsAreValid() throws {
        try FeatureConfig().validate()
    }

    func testOutOfRangeSettingsNameTheSettingAndTheRange() {
        func error(_ change: (inout FeatureConfig) -> Void) -> String? {
            var c = FeatureConfig()
            change(&c)
            do { try c.validate(); return nil } catch { return error.description }
        }
        XCTAssertEqual(error { $0.sampleRate = 2_000_000_000 },
                       "sample rate 2000000000 is out of range (allowed: 4000...192000)")
        XCTAssertEqual(error { $0.nFFT = 1_000_000_000 }, "n_fft 1000000000 is out of range (allowed: 16...16384)")
        XCTAssertEqual(error { $0.nMels = 100_000 }, "n_mels 100000 is out of range (allowed: 1...512)")
        XCTAssertEqual(error { $0.nMFCC = 200 }, "n_mfcc 200 is out of range (allowed: 1...128)")
        XCTAssertEqual(error { $0.hopLength = 4096 }, "hop length 4096 is out of range (allowed: 32...2048)")
        XCTAssertNotNil(error { $0.fmax = 20_000 })                  // above 22050 / 2
        XCTAssertNotNil(error { $0.fmin = .nan })
        XCTAssertNotNil(error { $0.topDB = -1 })
        XCTAssertNotNil(error { $0.blocks = [] })
    }
}
