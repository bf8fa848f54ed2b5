import Foundation
import XCTest
import SERAudio
import SERCore
import SERExperiments
import SERFeatures
import SERModel
import SERTestSupport

/// A `seconds`-long sine of `hz` at 22050 Hz.
private func sine(_ hz: Double, seconds: Double = 1, amplitude: Float = 0.5) -> [Float] {
    (0..<Int(22050 * seconds)).map { amplitude * Float(sin(2 * Double.pi * hz * Double($0) / 22050)) }
}

/// Upward zero crossings per second over the middle half of `x` (22050 Hz).
private func frequency(_ x: [Float]) -> Double {
    let a = x.count / 4, b = 3 * x.count / 4
    let ups = (a + 1..<b).filter { x[$0 - 1] < 0 && x[$0] >= 0 }
    guard let first = ups.first, let last = ups.last, last > first else { return 0 }
    return Double(ups.count - 1) / (Double(last - first) / 22050)
}

final class WaveformAugmentationTests: XCTestCase {
    func testSpeedPerturbationChangesTempoAndPitchTogether() throws {
        let x = sine(441)
        for factor in [0.9, 1.1] {
            let y = try AudioPerturbation.speed(factor).apply(x, sampleRate: 22050, seed: 0)
            XCTAssertEqual(y.count, Resampler.outputLength(inputFrames: x.count, from: Int(22050 * factor), to: 22050))
            XCTAssertEqual(Double(y.count), Double(x.count) / factor, accuracy: 1)
            XCTAssertEqual(frequency(y), 441 * factor, accuracy: 441 * factor * 0.002, "speed \(factor)")
        }
    }

    func testNoiseIsAddedAtTheAskedSNRAndSeededByTheFile() throws {
        let x = sine(300)
        let y = try AudioPerturbation.noise(snrDB: 20).apply(x, sampleRate: 22050, seed: 7)
        let signal = x.reduce(0.0) { $0 + Double($1 * $1) }
        let noise = zip(x, y).reduce(0.0) { $0 + Double(($1.1 - $1.0) * ($1.1 - $1.0)) }
        XCTAssertEqual(10 * log10(signal / noise), 20, accuracy: 0.2)
        XCTAssertEqual(try AudioPerturbation.noise(snrDB: 20).apply(x, sampleRate: 22050, seed: 7), y)
        XCTAssertNotEqual(try AudioPerturbation.noise(snrDB: 20).apply(x, sampleRate: 22050, seed: 8), y)
        let silence = [Float](repeating: 0, count: 100)
        XCTAssertEqual(try AudioPerturbation.noise(snrDB: 20).apply(silence, sampleRate: 22050, seed: 7), silence)
    }

    func testSettingsAreValidatedAndOldSpecsStayEqual() throws {
        XCTAssertNoThrow(try WaveformAugmentation(speeds: [0.9, 1.1], noiseSNRs: [20]).validate())
        XCTAssertEqual(WaveformAugmentation(speeds: [0.9], noiseSNRs: [20]).perturbations.map(\.tag), ["speed0.9", "noise20"])
        XCTAssertEqual(WaveformAugmentation(speeds: [1.1], pitchShifts: [-1, 1.5], noiseSNRs: [20]).perturbations.map(\.tag),
                       ["speed1.1", "pitch-1", "pitch1.5", "noise20"])
        for bad in [WaveformAugmentation(speeds: [1]), WaveformAugmentation(speeds: [3]), WaveformAugmentation(speeds: [.nan]),
                    WaveformAugmentation(speeds: [0.9, 0.9]), WaveformAugmentation(noiseSNRs: [.infinity]),
                    WaveformAugmentation(pitchShifts: [0]), WaveformAugmentation(pitchShifts: [13]),
                    WaveformAugmentation(pitchShifts: [.nan]), WaveformAugmentation(pitchShifts: [1, 1])] {
            XCTAssertThrowsError(try bad.validate(), "\(bad)") { e in
                guard case ExperimentError.invalidSetup = e else { return XCTFail("\(e)") }
            }
        }
        let spec = ExperimentSpec(corpus: .savee, data: "x", protocolKind: .holdout)
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(spec), as: UTF8.self).contains("augmentation"))
        // Specs written before pitch shifts existed decode (and encode) as they were.
        let older = #"{"speeds":[0.9,1.1],"noiseSNRs":[20]}"#
        let decoded = try JSONDecoder().decode(WaveformAugmentation.self, from: Data(older.utf8))
        XCTAssertEqual(decoded, WaveformAugmentation(speeds: [0.9, 1.1], noiseSNRs: [20]))
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(decoded), as: UTF8.self).contains("pitch"))
        let withPitch = WaveformAugmentation(pitchShifts: [-1, 1])
        XCTAssertEqual(try JSONDecoder().decode(WaveformAugmentation.self, from: try JSONEncoder().encode(withPitch)), withPitch)
        // A run with bad settings stops before it writes anything into its folder.
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var bad = spec
        bad.augmentation = WaveformAugmentation(speeds: [1])
        XCTAssertThrowsError(try ExperimentRunner(spec: bad, directory: dir.appendingPathComponent("run"),
                                                  cacheDirectory: dir.appendingPathComponent("cache")).run(resume: false)) { e in
            guard case ExperimentError.invalidSetup = e else { return XCTFail("\(e)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/spec.json").path))
    }

    func testCacheKeepsPerturbedCopiesApart() throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.wav")
        try AudioEncoder.writeWAV(sine(440), sampleRate: 22050, to: a)
        var cfg = FeatureConfig(); cfg.blocks = [.mfcc, .zcr]
        let cache = FeatureCache(root: dir.appendingPathComponent("cache"), config: cfg)
        let plain = try cache.features(for: [a], threads: 1, progress: false)[0]
        let fast = try cache.features(for: [a], perturbation: .speed(1.1), threads: 1, progress: false)[0]
        XCTAssertEqual(plain.shape[1], 1 + 22050 / 512)
        XCTAssertEqual(fast.shape[1], 1 + Resampler.outputLength(inputFrames: 22050, from: 24255, to: 22050) / 512)
        let lower = try cache.features(for: [a], perturbation: .pitch(semitones: -1), threads: 1, progress: false)[0]
        XCTAssertEqual(lower.shape, plain.shape)                      // pitch shift keeps the duration
        XCTAssertNotEqual(lower, plain)
        let names = try FileManager.default.contentsOfDirectory(atPath: cache.folder.path).sorted()
        XCTAssertEqual(names.count, 3)
        XCTAssertEqual(names.filter { $0.hasSuffix("-speed1.1.safetensors") }.count, 1)
        XCTAssertEqual(names.filter { $0.hasSuffix("-pitch-1.safetensors") }.count, 1)
        XCTAssertEqual(try cache.features(for: [a], perturbation: .speed(1.1), threads: 1, progress: false)[0], fast)
        XCTAssertEqual(try cache.features(for: [a], threads: 1, progress: false)[0], plain)
    }

    /// Augmentation reaches training only: perturbed copies are made of training files alone,
    /// the report says so, and re-evaluating the run without any augmentation (as `ser evaluate`
    /// does) gives the same test metrics, so validation and test features are the originals'.
    func testAugmentedRunPerturbsTrainingClipsOnly() throws {
        let dir = try SharedData.temporaryDirectory("aug-exp")
        defer { try? FileManager.default.removeItem(at: dir) }
        var csv = "path,label,speaker\n"
        var rng = SeededRandom(seed: 3)
        for s in ["a", "b"] {
            for i in 0..<10 {
                let label = i % 2 == 0 ? "sad" : "angry"
                let f = (label == "sad" ? 220 : 1760) * (1 + 0.02 * Float(i))
                let y = (0..<6000).map { n in 0.5 * sin(2 * Float.pi * f * Float(n) / 16000) + 0.01 * rng.nextNormal() }
                try AudioEncoder.writeWAV(y, sampleRate: 16000, to: dir.appendingPathComponent("\(s)\(i).wav"))
                csv += "\(s)\(i).wav,\(label),\(s)\n"
            }
        }
        let manifest = dir.appendingPathComponent("corpus.csv")
        try csv.write(to: manifest, atomically: true, encoding: .utf8)
        var spec = ExperimentSpec(corpus: .manifest, data: manifest.path, protocolKind: .holdout)
        spec.normalization = .speaker
        spec.augmentation = WaveformAugmentation(speeds: [1.1], noiseSNRs: [15])
        spec.features.blocks = [.mfcc, .zcr]; spec.features.nMFCC = 5
        spec.model.convChannels = [8, 8, 8]; spec.model.lstmHidden = 4; spec.model.heads = 2
        spec.training.epochs = 3; spec.training.batchSize = 8; spec.training.learningRate = 3e-3
        spec.training.epochClipsOriginals = true          // an epoch: as many draws as there are original training clips
        let cacheDir = dir.appendingPathComponent("cache")
        var runner = ExperimentRunner(spec: spec, directory: dir.appendingPathComponent("run"), cacheDirectory: cacheDir)
        runner.progress = false
        runner.log = { _ in }
        let report = try runner.run(resume: false)
        XCTAssertEqual(report.settings["augmentation"], "speed1.1, noise15")
        XCTAssertTrue(report.notes.contains { $0.contains("validation and test clips were not") })
        XCTAssertTrue(report.notes.contains { $0.contains("Each epoch drew as many training clips as the fold has originals") })
        let fold = try XCTUnwrap(report.folds.first)
        let trainCount = try XCTUnwrap(fold.trainCount), validationCount = try XCTUnwrap(fold.validationCount)
        XCTAssertEqual(trainCount + validationCount + fold.metrics.confusion.total, 20)
        let names = try FileManager.default.contentsOfDirectory(atPath: FeatureCache(root: cacheDir, config: spec.features).folder.path)
        XCTAssertEqual(names.filter { $0.hasSuffix("-speed1.1.safetensors") }.count, trainCount)
        XCTAssertEqual(names.filter { $0.hasSuffix("-noise15.safetensors") }.count, trainCount)
        XCTAssertEqual(names.count, 20 + 2 * trainCount)
        let again = try runner.evaluate()
        XCTAssertEqual(again.folds.first?.metrics, fold.metrics)
    }
}
