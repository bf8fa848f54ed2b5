import Foundation
import XCTest
import SERAudio
import SERCore
import SERCorpora
import SERExperiments
import SERFeatures
import SERModel
import SERTestSupport

/// Synthetic two-class clips: class 1 has a rising ramp in the first channels, class 0 a falling one.
private func synthetic(_ n: Int, channels: Int = 6, seed: UInt64) -> LabelledClips {
    var rng = SeededRandom(seed: seed)
    var xs: [Tensor] = [], ys: [Int] = []
    for i in 0..<n {
        let y = i % 2, t = 12 + Int(rng.next() % 8)
        var x = Tensor(shape: [channels, t])
        for c in 0..<channels { for j in 0..<t {
            let ramp = Float(j) / Float(t) - 0.5
            x[c, j] = (c < 3 ? (y == 1 ? ramp : -ramp) * 2 : 0) + 0.3 * rng.nextNormal()
        } }
        xs.append(x); ys.append(y)
    }
    return LabelledClips(features: xs, labels: ys)
}

/// Feature settings with the synthetic clips' 6 channels (5 MFCC + ZCR), so saved models validate.
private func sixChannels() -> FeatureConfig {
    var f = FeatureConfig(); f.blocks = [.mfcc, .zcr]; f.nMFCC = 5; return f
}

private func smallModel() -> STACNNConfig {
    var m = STACNNConfig(inputChannels: 6, numClasses: 2)
    m.convChannels = [8, 8, 8]; m.lstmHidden = 4; m.heads = 2; m.dropout = 0.1
    return m
}

final class TrainerTests: XCTestCase {
    func testResumedRunEqualsUninterruptedRun() throws {
        try resumedRunEqualsUninterruptedRun(weightAverage: nil)
    }

    func testResumedRunWithWeightAverageEqualsUninterruptedRun() throws {
        try resumedRunEqualsUninterruptedRun(weightAverage: 0.9)
    }

    private func resumedRunEqualsUninterruptedRun(weightAverage: Float?) throws {
        let train = synthetic(24, seed: 1), val = synthetic(8, seed: 2)
        var cfg = TrainingConfig(); cfg.epochs = 4; cfg.batchSize = 8; cfg.learningRate = 3e-3; cfg.seed = 5
        cfg.weightAverageDecay = weightAverage
        let a = try SharedData.temporaryDirectory(), b = try SharedData.temporaryDirectory()
        func trainer(_ d: URL) -> Trainer {
            Trainer(directory: d, modelConfig: smallModel(), config: cfg, featureConfig: sixChannels(), labels: ["down", "up"])
        }
        let whole = try trainer(a).train(train: train, validation: val, progress: false)
        // "Killed" after epoch 2, then resumed from the checkpoint by a fresh trainer.
        _ = try trainer(b).train(train: train, validation: val, progress: false, epochLimit: 2)
        let firstPart = try SafeTensorsFile(contentsOf: b.appendingPathComponent("checkpoint.safetensors"))
        XCTAssertTrue(firstPart.metadata["history"]?.contains("\"epoch\":2") ?? false)
        XCTAssertFalse(firstPart.metadata["history"]?.contains("\"epoch\":3") ?? true)
        let resumed = try trainer(b).train(train: train, validation: val, resume: true, progress: false)
        XCTAssertEqual(resumed.history.epochs.count, 4)
        XCTAssertEqual(resumed.history.epochs.map(\.trainLoss), whole.history.epochs.map(\.trainLoss))
        XCTAssertEqual(resumed.model.weights, whole.model.weights)
        let ckA = try SafeTensorsFile(contentsOf: a.appendingPathComponent("checkpoint.safetensors"))
        let ckB = try SafeTensorsFile(contentsOf: b.appendingPathComponent("checkpoint.safetensors"))
        XCTAssertEqual(ckA.tensors, ckB.tensors)   // weights, Adam moments and the weight average
        XCTAssertEqual(ckA.tensors.keys.contains { $0.hasPrefix("average.") }, weightAverage != nil)
        XCTAssertEqual(ckB.metadata["average_updates"], weightAverage.map { _ in "12" })   // 4 epochs of 3 batches
    }

    func testWeightAverageIsWhatIsValidatedAndSaved() throws {
        let train = synthetic(24, seed: 1), val = synthetic(8, seed: 2)
        var cfg = TrainingConfig(); cfg.epochs = 1; cfg.batchSize = 8; cfg.learningRate = 3e-3; cfg.seed = 5
        cfg.weightAverageDecay = 0.5
        let d = try SharedData.temporaryDirectory()
        // One epoch: it is the best epoch, so the saved model is that epoch's average.
        let outcome = try Trainer(directory: d, modelConfig: smallModel(), config: cfg, featureConfig: sixChannels(), labels: ["a", "b"])
            .train(train: train, validation: val, progress: false)
        let ck = try SafeTensorsFile(contentsOf: d.appendingPathComponent("checkpoint.safetensors"))
        var averaged: [String: Tensor] = [:], live: [String: Tensor] = [:]
        for (k, v) in ck.tensors where !k.hasPrefix("adam.") {
            if k.hasPrefix("average.") { averaged[String(k.dropFirst(8))] = v } else { live[k] = v }
        }
        XCTAssertFalse(averaged.isEmpty)
        XCTAssertEqual(outcome.model.weights, averaged)
        XCTAssertNotEqual(outcome.model.weights, live)
        // The validation loss recorded is the averaged model's.
        let saved = try SavedModel.read(from: d.appendingPathComponent("model.safetensors"))
        let (loss, _) = try Evaluation.run(try saved.makeModel(), val.features.map(saved.standardizer.applied(to:)), labels: val.labels)
        XCTAssertEqual(loss, outcome.history.epochs[0].validationLoss ?? .nan, accuracy: 1e-9)
    }

    func testWeightAverageDecayIsValidatedAndOldConfigsStayEqual() throws {
        for bad: Float in [0, 1, -0.5, .nan] {
            var cfg = TrainingConfig(); cfg.weightAverageDecay = bad
            XCTAssertThrowsError(try cfg.validate()) { e in
                guard case ExperimentError.invalidSetup(let m) = e else { return XCTFail("\(e)") }
                XCTAssertTrue(m.contains("decay"), m)
            }
        }
        let encoded = String(decoding: try JSONEncoder().encode(TrainingConfig()), as: UTF8.self)
        XCTAssertFalse(encoded.contains("weightAverage"))   // the key appears only when set
        let old = encoded.data(using: .utf8)!
        XCTAssertEqual(try JSONDecoder().decode(TrainingConfig.self, from: old), TrainingConfig())
    }

    func testResumeRefusesOtherSettings() throws {
        let train = synthetic(8, seed: 1), val = synthetic(4, seed: 2)
        var cfg = TrainingConfig(); cfg.epochs = 1; cfg.batchSize = 4
        let d = try SharedData.temporaryDirectory()
        _ = try Trainer(directory: d, modelConfig: smallModel(), config: cfg, featureConfig: sixChannels(), labels: ["a", "b"])
            .train(train: train, validation: val, progress: false)
        cfg.learningRate = 1
        XCTAssertThrowsError(try Trainer(directory: d, modelConfig: smallModel(), config: cfg, featureConfig: sixChannels(), labels: ["a", "b"])
            .train(train: train, validation: val, resume: true, progress: false)) { e in
            guard case ExperimentError.runMismatch = e else { return XCTFail("\(e)") }
        }
    }

    func testNonFiniteInputsAndLossesStopTrainingWithATypedError() throws {
        var train = synthetic(8, seed: 1)
        let val = synthetic(4, seed: 2)
        var cfg = TrainingConfig(); cfg.epochs = 2; cfg.batchSize = 4
        train.features[3].data[5] = .nan
        XCTAssertThrowsError(try Trainer(directory: try SharedData.temporaryDirectory(), modelConfig: smallModel(), config: cfg,
                                         featureConfig: sixChannels(), labels: ["a", "b"]).train(train: train, validation: val, progress: false)) { e in
            guard case ExperimentError.diverged(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("training clip 3 has non-finite"), m)
        }
        // A learning rate far too large blows the weights up: the loss is reported, not written as JSON.
        cfg.learningRate = 1e37; cfg.clipNorm = nil; cfg.epochs = 5
        let d = try SharedData.temporaryDirectory()
        XCTAssertThrowsError(try Trainer(directory: d, modelConfig: smallModel(), config: cfg, featureConfig: sixChannels(), labels: ["a", "b"])
            .train(train: synthetic(8, seed: 1), validation: val, progress: false)) { e in
            guard case ExperimentError.diverged(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("epoch 1"), m)
        }
    }

    func testTrainingLearnsTheSyntheticTaskAndKeepsBestModel() throws {
        let train = synthetic(48, seed: 3), val = synthetic(16, seed: 4), test = synthetic(16, seed: 9)
        var cfg = TrainingConfig(); cfg.epochs = 25; cfg.batchSize = 8; cfg.learningRate = 5e-3; cfg.masking = .none
        let d = try SharedData.temporaryDirectory()
        let out = try Trainer(directory: d, modelConfig: smallModel(), config: cfg, featureConfig: sixChannels(), labels: ["down", "up"])
            .train(train: train, validation: val, progress: false)
        let best = try XCTUnwrap(out.history.bestEpoch)
        let bestAcc = try XCTUnwrap(out.history.epochs[best - 1].validationAccuracy)
        XCTAssertEqual(bestAcc, out.history.epochs.compactMap(\.validationAccuracy).max())
        let m = try ExperimentRunner.test(out.model, test, labels: ["down", "up"])
        XCTAssertGreaterThanOrEqual(m.accuracy ?? 0, 0.9, "held-out accuracy on an easy synthetic task")
    }
}

final class BaselineAndMaskingTests: XCTestCase {
    func testBaselineSeparatesClassesByStatistics() {
        let tr = synthetic(40, seed: 11), va = synthetic(10, seed: 12), te = synthetic(20, seed: 13)
        // Classes that differ in level are separated by utterance means.
        func shifted(_ c: LabelledClips) -> [Tensor] {
            zip(c.features, c.labels).map { x, y in var x = x; for i in 0..<x.count { x.data[i] += Float(y) }; return x }
        }
        let m2 = LinearBaseline(train: shifted(tr), trainLabels: tr.labels, validation: shifted(va), validationLabels: va.labels, classes: 2)
        let acc2 = Double(zip(m2.predict(shifted(te)), te.labels).filter { $0 == $1 }.count) / 20
        XCTAssertEqual(acc2, 1.0)
    }

    func testMaskingZeroesSpansDeterministically() {
        var x = Tensor(shape: [30, 40], data: [Float](repeating: 1, count: 1200)), y = x
        var r1 = SeededRandom(seed: 3), r2 = SeededRandom(seed: 3)
        var m = FeatureMasking(); m.maxChannels = 10
        m.apply(&x, rng: &r1); m.apply(&y, rng: &r2)
        XCTAssertEqual(x, y)
        XCTAssertTrue(x.data.allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertGreaterThan(x.data.filter { $0 == 0 }.count, 0)
        var z = Tensor(shape: [30, 40], data: [Float](repeating: 1, count: 1200))
        FeatureMasking.none.apply(&z, rng: &r1)
        XCTAssertTrue(z.data.allSatisfy { $0 == 1 })
    }
}

final class FeatureCacheTests: XCTestCase {
    func testCacheIsKeyedByContentAndReportsBadFiles() throws {
        let dir = try SharedData.temporaryDirectory()
        let a = dir.appendingPathComponent("a.wav"), bad = dir.appendingPathComponent("bad.wav")
        let tone = (0..<11025).map { Float(sin(Double($0) * 0.1)) * 0.3 }
        try AudioEncoder.writeWAV(tone, sampleRate: 22050, to: a)
        try Data("not audio".utf8).write(to: bad)
        var cfg = FeatureConfig(); cfg.blocks = [.mfcc, .zcr]
        let cache = FeatureCache(root: dir.appendingPathComponent("cache"), config: cfg)
        let f1 = try cache.features(for: [a], threads: 1, progress: false)
        XCTAssertEqual(f1[0].shape, [41, 1 + 11025 / 512])
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache.folder.path)
        XCTAssertEqual(entries.count, 1)
        // Same bytes again: served from the cache, identical.
        XCTAssertEqual(try cache.features(for: [a], threads: 1, progress: false), f1)
        // New content under the same name: a new entry.
        try AudioEncoder.writeWAV(tone.map { $0 * 0.5 }, sampleRate: 22050, to: a)
        let f2 = try cache.features(for: [a], threads: 1, progress: false)
        XCTAssertNotEqual(f2, f1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.folder.path).count, 2)
        XCTAssertThrowsError(try cache.features(for: [a, bad], threads: 2, progress: false)) { e in
            guard case ExperimentError.featureExtractionFailed(let list) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(list.count, 1)
            XCTAssertTrue(list[0].contains("bad.wav"))
        }
 
    }

    func testDamagedEntryIsRebuilt() throws {
        let dir = try SharedData.temporaryDirectory()
        let a = dir.appendingPathComponent("a.wav")
        try AudioEncoder.writeWAV((0..<11025).map { Float(sin(Double($0) * 0.07)) * 0.3 }, sampleRate: 22050, to: a)
        var cfg = FeatureConfig(); cfg.blocks = [.mfcc]
        let cache = FeatureCache(root: dir.appendingPathComponent("cache"), config: cfg)
        let f1 = try cache.features(for: [a], threads: 1, progress: false)
        let name = try FileManager.default.contentsOfDirectory(atPath: cache.folder.path)[0]
        let entry = cache.folder.appendingPathComponent(name)
        var bytes = [UInt8](try Data(contentsOf: entry))
        bytes[bytes.count - 7] ^= 0x04                                   // a flipped bit in the feature values
        try Data(bytes).write(to: entry)
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: entry)) { e in
            XCTAssertEqual(e as? SafeTensorsError, .damaged(path: entry.path))
        }
        XCTAssertEqual(try cache.features(for: [a], threads: 1, progress: false), f1)   // recomputed, not the damaged values
        XCTAssertNoThrow(try SafeTensorsFile(contentsOf: entry))                         // and rewritten
    }
}

final class NormalizationExperimentTests: XCTestCase {
    func testSpecWithoutNormalizationReadsAsGlobal() throws {
        let spec = ExperimentSpec(corpus: .emodb, data: "x", protocolKind: .loso)
        let json = try JSONEncoder().encode(spec)
        XCTAssertFalse(String(decoding: json, as: UTF8.self).contains("normalization"))   // old spec.json files stay equal
        let back = try JSONDecoder().decode(ExperimentSpec.self, from: json)
        XCTAssertEqual(back, spec)
        XCTAssertEqual(back.effectiveNormalization, .global)
        var s = spec; s.normalization = .speaker
        XCTAssertEqual(try JSONDecoder().decode(ExperimentSpec.self, from: JSONEncoder().encode(s)).effectiveNormalization, .speaker)
    }

    /// Three speakers whose recording levels differ by 30 dB; the class is the pitch of a tone.
    /// Leave-one-speaker-out with speaker normalisation runs end to end through the manifest
    /// loader, the feature cache and the baseline, and records the setting in its report.
    func testSpeakerNormalisedLOSOBaselineRuns() throws {
        let dir = try SharedData.temporaryDirectory("norm-exp")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try ToneCorpus.write(to: dir, speakers: [("a", 0.9), ("b", 0.03), ("c", 0.3)], clips: 8, samples: 8000,
                                            sadHz: 220, angryHz: 1760, step: 0.02, amplitude: 0.5, noise: 0.01, seed: 5)
        var spec = ExperimentSpec(corpus: .manifest, data: manifest.path, protocolKind: .loso)
        spec.normalization = .speaker
        var runner = ExperimentRunner(spec: spec, directory: dir.appendingPathComponent("run"),
                                      cacheDirectory: dir.appendingPathComponent("cache"))
        runner.progress = false
        runner.log = { _ in }
        let report = try runner.runBaseline()
        XCTAssertEqual(report.folds.count, 3)
        XCTAssertEqual(report.settings["normalization"], "speaker")
        let accuracy = try XCTUnwrap(report.aggregate.accuracy?.mean)
        XCTAssertGreaterThan(accuracy, 0.9, "pitch separates the classes once levels are normalised")
        // The baseline's report has calibration records too (temperature fitted on validation clips).
        XCTAssertEqual(report.calibration?.pooledBefore.count, report.aggregate.pooled.count)
    }

    /// The baseline takes the same waveform augmentation as `ser train`: one perturbed copy of every
    /// training clip per setting (the copies are cached under their own tag), the report names the
    /// perturbations, and each fold records the validation accuracy its L2 was chosen by.
    func testAugmentedBaselineTrainsOnTheCopiesAndReportsValidationAccuracy() throws {
        let dir = try SharedData.temporaryDirectory("aug-baseline")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try ToneCorpus.write(to: dir, speakers: [("a", 0.5), ("b", 0.2), ("c", 0.3)], clips: 6, samples: 8000,
                                            sadHz: 220, angryHz: 1760, step: 0.02, amplitude: 0.5, noise: 0.01, seed: 9)
        var spec = ExperimentSpec(corpus: .manifest, data: manifest.path, protocolKind: .loso)
        spec.augmentation = WaveformAugmentation(gainsDB: [-6])
        spec.robustness = WaveformAugmentation(gainsDB: [-6], telephone: [.band])   // -6 also augments: shared tag
        var runner = ExperimentRunner(spec: spec, directory: dir.appendingPathComponent("run"),
                                      cacheDirectory: dir.appendingPathComponent("cache"))
        runner.progress = false
        runner.log = { _ in }
        let report = try runner.runBaseline()
        XCTAssertEqual(report.settings["augmentation"], "gain-6")
        XCTAssertTrue(report.notes.contains { $0.contains("augmented") })
        for fold in report.folds {
            let v = try XCTUnwrap(fold.validationAccuracy, fold.name)
            XCTAssert((0...1).contains(v))
        }
        XCTAssertTrue(report.markdown().contains("Validation accuracy"))
        // Robustness: every fold scored clean and under each condition; the clean score is the
        // validation accuracy the L2 was chosen by.
        for fold in report.folds {
            let r = try XCTUnwrap(fold.robustness, fold.name)
            XCTAssertEqual(Set(r.keys), ["", "gain-6", "telephone"])
            XCTAssertEqual(try XCTUnwrap(r[""]), try XCTUnwrap(fold.validationAccuracy), accuracy: 1e-12)
        }
        XCTAssertEqual(report.settings["robustness"], "gain-6, telephone")
        XCTAssertTrue(report.markdown().contains("## Robustness"))
        // The perturbed copies were extracted: the cache holds more entries than there are clips.
        let cached = try FileManager.default.subpathsOfDirectory(atPath: dir.appendingPathComponent("cache").path)
            .filter { !$0.hasSuffix("/") && $0.contains("gain-6") }
        XCTAssertFalse(cached.isEmpty, "the gain copies are cached under their tag")
    }

    /// A run that cannot start (no corpus folder, a protocol the corpus cannot satisfy) leaves
    /// nothing behind, so the corrected command is not refused as "another run in this folder".
    func testFailedSetupLeavesTheRunFolderEmpty() throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run")
        func attempt(_ spec: ExperimentSpec) -> Error? {
            var runner = ExperimentRunner(spec: spec, directory: run, cacheDirectory: dir.appendingPathComponent("cache"))
            runner.progress = false; runner.log = { _ in }
            do { _ = try runner.run(resume: false); return nil } catch { return error }
        }
        XCTAssertNotNil(attempt(ExperimentSpec(corpus: .savee, data: dir.appendingPathComponent("missing").path, protocolKind: .holdout)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("spec.json").path))
        // One speaker: leave-one-speaker-out is not applicable.
        var csv = "path,label,speaker\n"
        for i in 0..<4 {
            let name = "x\(i).wav"
            try AudioEncoder.writeWAV([Float](repeating: 0.1, count: 1600), sampleRate: 16000, to: dir.appendingPathComponent(name))
            csv += "\(name),\(i % 2 == 0 ? "sad" : "angry"),s\n"
        }
        let manifest = dir.appendingPathComponent("corpus.csv")
        try csv.write(to: manifest, atomically: true, encoding: .utf8)
        let e = attempt(ExperimentSpec(corpus: .manifest, data: manifest.path, protocolKind: .loso))
        guard case SplitError.notApplicable? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run.path), [])
    }

    /// `--resume` on a folder that holds no run is an error, not a fresh start.
    func testResumeWithoutARunIsAnError() throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("no-such-run")
        var runner = ExperimentRunner(spec: ExperimentSpec(corpus: .savee, data: dir.path, protocolKind: .holdout),
                                      directory: run, cacheDirectory: dir.appendingPathComponent("cache"))
        runner.progress = false; runner.log = { _ in }
        XCTAssertThrowsError(try runner.run(resume: true)) { e in
            guard case ExperimentError.runMismatch(_, let reason)? = e as? ExperimentError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("no run to resume"), reason)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path))
    }
}
