import Foundation
import XCTest
import SERCore
import SERTestSupport
@testable import SERFeatures

/// Compares every feature with the values librosa 0.11.0 computed for the same signal.
final class LibrosaParityTests: XCTestCase {
    static let syntheticCases = ["chirp_noise_22050", "short_click_22050", "silence_22050",
                                 "tone_a440_16000", "voiced_vowel_22050"]
    static let corpusCases = ["emodb_wav_03a01Fa_22050", "ravdess_Actor_01_03-01-05-01-01-01-01_22050",
                              "ravdess_Actor_12_03-01-03-02-02-01-12_16000", "savee_AudioData_DC_a01_22050"]

    /// Loads a reference file and the extractor configured from its metadata.
    private func load(_ url: URL) throws -> (SafeTensorsFile, FeatureExtractor, [Float]) {
        let file = try SafeTensorsFile(contentsOf: url)
        var config = FeatureConfig()
        let meta = file.metadata
        guard let sr = meta["sr"].flatMap(Int.init) else {
            throw XCTSkip("\(url.lastPathComponent) has no sr metadata")
        }
        config.sampleRate = sr
        if let v = meta["n_fft"].flatMap(Int.init) { config.nFFT = v }
        if let v = meta["hop_length"].flatMap(Int.init) { config.hopLength = v }
        if let v = meta["n_mels"].flatMap(Int.init) { config.nMels = v }
        XCTAssertEqual(meta["window"] ?? "hann", "hann")
        XCTAssertEqual(meta["stft_pad_mode"] ?? "constant", "constant")
        XCTAssertEqual(meta["zcr_pad_mode"] ?? "edge", "edge")
        return (file, FeatureExtractor(config: config), try file.tensor("signal").data)
    }

    /// Max |a - b| after checking shapes.
    private func maxDiff(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
        guard a.shape == b.shape else { return .infinity }
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a.data[i] - b.data[i])) }
        return m
    }

    /// Checks all features of one case.
    private func checkCase(_ url: URL) throws {
        let (ref, fx, y) = try load(url)
        let name = url.deletingPathExtension().lastPathComponent
        var summary: [String] = []

        for (tensorName, got) in [("stft_magnitude", fx.stftMagnitude(y)), ("mel_power", fx.melPower(y)),
                                  ("chroma", fx.chroma(y))] {
            let want = try ref.tensor(tensorName)
            let d = maxDiff(got, want, "\(name) \(tensorName)")
            XCTAssertLessThanOrEqual(d, 1e-3 * want.maxAbs, "\(name) \(tensorName): max diff \(d), max |ref| \(want.maxAbs)")
            summary.append("\(tensorName) \(d / max(want.maxAbs, .leastNormalMagnitude)) rel")
        }
        let zcr = try ref.tensor("zcr")
        let dz = maxDiff(fx.zcr(y), zcr, "\(name) zcr")
        XCTAssertLessThanOrEqual(dz, 1e-6, "\(name) zcr: max diff \(dz)")
        summary.append("zcr \(dz)")
        for n in [20, 40] {
            let want = try ref.tensor("mfcc\(n)")
            let d = maxDiff(fx.mfcc(y, count: n), want, "\(name) mfcc\(n)")
            XCTAssertLessThanOrEqual(d, 0.05, "\(name) mfcc\(n): max diff \(d)")
            summary.append("mfcc\(n) \(d)")
        }
        let tuning = try ref.tensor("tuning").data[0]
        let gotTuning = fx.estimateTuning(y)
        XCTAssertEqual(gotTuning, tuning, accuracy: 0.01, "\(name) tuning")
        summary.append("tuning \(gotTuning) vs \(tuning)")
        print("librosa parity \(name): " + summary.joined(separator: ", "))

        // The fused matrix holds the same values as the individual features.
        let fused = fx.extract(y)
        XCTAssertEqual(fused.shape, [fx.config.channels, fx.config.frameCount(samples: y.count)])
        let melDB = Spectral.powerToDB(try ref.tensor("mel_power").data, topDB: fx.config.topDB)
        let rows = fx.config.nMels
        let t = fused.shape[1]
        var dMel: Float = 0
        for i in 0..<(rows * t) { dMel = max(dMel, abs(fused.data[i] - melDB[i])) }
        XCTAssertLessThanOrEqual(dMel, 0.05, "\(name) fused mel dB block")
    }

    func testSyntheticCasesMatchLibrosa() throws {
        for c in Self.syntheticCases {
            let url = SharedData.fixture("librosa/\(c).safetensors")
            XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), "missing fixture \(url.path)")
            try checkCase(url)
        }
    }

    func testCorpusCasesMatchLibrosa() throws {
        guard SharedData.path("reference/librosa") != nil else {
            throw XCTSkip("corpus librosa references need ../shared/reference/librosa (absent on a fresh clone)")
        }
        for c in Self.corpusCases {
            guard let url = SharedData.path("reference/librosa/\(c).safetensors") else {
                throw XCTSkip("needs ../shared/reference/librosa/\(c).safetensors (absent on a fresh clone)")
            }
            try checkCase(url)
        }
    }

    func testSilenceGivesFiniteFloorValues() throws {
        let fx = FeatureExtractor()
        let y = [Float](repeating: 0, count: 22050)
        let x = fx.extract(y)
        XCTAssertEqual(x.shape, [128 + 12 + 40 + 1, 44])
        XCTAssertTrue(x.data.allSatisfy { $0.isFinite })
        // Mel dB of zero power is 10*log10(1e-10) = -100 everywhere; chroma and ZCR are 0.
        XCTAssertEqual(x.data[0], -100, accuracy: 1e-4)
        XCTAssertEqual(fx.chroma(y).maxAbs, 0)
        XCTAssertEqual(fx.zcr(y).maxAbs, 0)
        XCTAssertEqual(fx.estimateTuning(y), 0)
    }

    func testSignalsShorterThanTheWindow() throws {
        let fx = FeatureExtractor()
        for n in [0, 1, 100, 511, 512, 1102, 2047] {
            var y = [Float](repeating: 0, count: n)
            for i in 0..<n { y[i] = Float(sin(Double(i) * 0.3)) * 0.5 }
            let x = fx.extract(y)
            XCTAssertEqual(x.shape, [fx.config.channels, 1 + n / 512], "n = \(n)")
            XCTAssertTrue(x.data.allSatisfy { $0.isFinite }, "n = \(n)")
        }
    }

    func testBufferReuseGivesIdenticalResults() throws {
        let (_, fx, y) = try load(SharedData.fixture("librosa/voiced_vowel_22050.safetensors"))
        let first = fx.extract(y)
        _ = fx.extract(Array(y.prefix(3000)))
        XCTAssertEqual(fx.extract(y), first)
        // A second extractor (same shared FFTW plan) agrees bit for bit.
        XCTAssertEqual(FeatureExtractor(config: fx.config).extract(y), first)
    }
}
