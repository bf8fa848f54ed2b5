import Foundation
import SEREncoder
import SERAudio
import SERCore
import SERRecognizer
import SERTestSupport
import XCTest

/// "loud" from the RMS of what it is given (so it notices any silence left in), and records the
/// lengths of the clips it classified.
final class LoudnessClassifier: ClipClassifier, @unchecked Sendable {
    let labels = ["loud", "soft"]
    let sampleRate = 16000
    private let lock = NSLock()
    private var seen: [Int] = []
    var lengths: [Int] { lock.lock(); defer { lock.unlock() }; return seen }
    func reset() { lock.lock(); seen = []; lock.unlock() }

    func probabilities(samples: [Float]) throws -> [Float] {
        lock.lock(); seen.append(samples.count); lock.unlock()
        var e = 0.0
        for x in samples { e += Double(x) * Double(x) }
        let rms = (e / Double(max(1, samples.count))).squareRoot()
        let loud = Float(rms / (rms + 0.1))
        return [loud, 1 - loud]
    }
}

/// A syllable-like test "voice": harmonics of 140 Hz under a 4 Hz amplitude envelope.
enum Voice {
    static func signal(seconds: Double, rate: Int, seed: UInt64 = 3) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<Int(seconds * Double(rate))).map { i in
            let t = Double(i) / Double(rate)
            let env = 0.55 + 0.45 * sin(2 * Double.pi * 4 * t)
            var v = 0.0
            for h in 1...12 { v += sin(2 * Double.pi * 140 * Double(h) * t + Double(h)) / Double(h) }
            return Float(0.12 * env * v) + rng.nextNormal() * 1e-3
        }
    }
}

final class WholeRecordingTests: XCTestCase {
    func testSilenceIsNoSpeechNotAnEmotion() throws {
        let recognizer = EmotionRecognizer(classifier: ToneClassifier())
        for (name, x) in [("digital silence", [Float](repeating: 0, count: 32000)), ("quiet noise", Signals.silence(seconds: 2))] {
            let p = try recognizer.recognize(samples: x, sampleRate: 16000)
            XCTAssertFalse(p.speech, name)
            XCTAssertNil(p.emotion, name)
            XCTAssertNil(p.confidence, name)
            XCTAssertTrue(p.probabilities.isEmpty, name)
            XCTAssertEqual(p.windows, 0, name)
            XCTAssertEqual(p.speechDuration, 0, name)
            XCTAssertEqual(p.duration, 2, accuracy: 1e-9, name)
            // JSON: "speech": false and an explicit null emotion; round trip.
            let data = try JSONEncoder().encode(p)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
            XCTAssertEqual(object["speech"] as? Bool, false)
            XCTAssertTrue(object["emotion"] is NSNull, "\(object)")
            XCTAssertTrue(object["confidence"] is NSNull)
            XCTAssertEqual(try JSONDecoder().decode(EmotionPrediction.self, from: data), p)
        }
        // Trimming off: the whole recording is classified, as before.
        let untrimmed = EmotionRecognizer(classifier: ToneClassifier(), options: .init(trimSilence: false))
        let q = try untrimmed.recognize(samples: Signals.silence(seconds: 1), sampleRate: 16000)
        XCTAssertTrue(q.speech)
        XCTAssertEqual(q.emotion, "quiet")
    }

    func testOlderPredictionJSONStillDecodes() throws {
        let old = #"{"source":"a.wav","emotion":"sad","confidence":0.6,"duration":3.5,"probabilities":[{"emotion":"sad","probability":0.6},{"emotion":"calm","probability":0.4}]}"#
        let p = try JSONDecoder().decode(EmotionPrediction.self, from: Data(old.utf8))
        XCTAssertTrue(p.speech)
        XCTAssertEqual(p.emotion, "sad")
        XCTAssertEqual(p.windows, 1)
        XCTAssertEqual(p.speechDuration, 3.5)
    }

    func testLeadingAndTrailingSilenceIsTrimmed() throws {
        let fake = LoudnessClassifier()
        let recognizer = EmotionRecognizer(classifier: fake, options: .init(margin: 0))   // cut tight
        let clip = Voice.signal(seconds: 1.6, rate: 16000)
        let bare = try recognizer.recognize(samples: clip, sampleRate: 16000)
        for pad in [[Float](repeating: 0, count: 16000), Signals.silence(seconds: 1)] {
            fake.reset()
            let padded = try recognizer.recognize(samples: pad + clip + pad, sampleRate: 16000)
            XCTAssertTrue(padded.speech)
            XCTAssertEqual(padded.duration, 3.6, accuracy: 1e-9)
            XCTAssertEqual(padded.windows, 1)
            // What was classified is the clip, give or take a few 10 ms frames.
            XCTAssertEqual(padded.speechDuration, 1.6, accuracy: 0.05)
            XCTAssertEqual(Double(try XCTUnwrap(fake.lengths.first)), 1.6 * 16000, accuracy: 0.05 * 16000)
            for (a, b) in zip(padded.probabilityVector, bare.probabilityVector) { XCTAssertEqual(a, b, accuracy: 0.01) }
        }
        // With the default 1 s margin: 1 s of the recording kept on each side of the speech, and
        // silence beyond that dropped.
        fake.reset()
        let long = [Float](repeating: 0, count: 40000)            // 2.5 s
        let withMargin = try EmotionRecognizer(classifier: fake).recognize(samples: long + clip + long, sampleRate: 16000)
        XCTAssertEqual(withMargin.speechDuration, 1.6, accuracy: 0.05)
        XCTAssertEqual(Double(try XCTUnwrap(fake.lengths.first)), 3.6 * 16000, accuracy: 0.05 * 16000)
        fake.reset()
        _ = try EmotionRecognizer(classifier: fake).recognize(samples: Array(long.prefix(8000)) + clip, sampleRate: 16000)
        XCTAssertEqual(Double(try XCTUnwrap(fake.lengths.first)), 2.1 * 16000, accuracy: 0.05 * 16000)   // clipped to the recording
        // Untrimmed, the silence would have been averaged in.
        let untrimmed = EmotionRecognizer(classifier: LoudnessClassifier(), options: .init(trimSilence: false))
        let zeros = [Float](repeating: 0, count: 16000)
        let diluted = try untrimmed.recognize(samples: zeros + clip + zeros, sampleRate: 16000)
        XCTAssertLessThan(diluted.probabilityVector[0], bare.probabilityVector[0] - 0.05)
    }

    func testLongSpeechIsTheSpeechWeightedMeanOfItsWindows() throws {
        let rate = 16000
        // 8 s of continuous "speech": 6 s at 220 Hz, then 2 s at 1760 Hz.
        let x = Signals.tone(220, seconds: 6) + Signals.tone(1760, seconds: 2)
        let tone = ToneClassifier()
        let p = try EmotionRecognizer(classifier: tone).recognize(samples: x, sampleRate: rate)
        XCTAssertTrue(p.speech)
        let plan = WindowPlanner.plan(regions: [TimeRange(start: 0, end: 8)], duration: 8, window: 3, hop: 1.5)
        XCTAssertEqual(p.windows, plan.count)
        XCTAssertGreaterThan(p.windows, 1)
        XCTAssertEqual(p.speechDuration, 8, accuracy: 0.05)
        // The combination, computed here from the windows directly.
        var expected = [Double](repeating: 0, count: 3), total = 0.0
        for w in plan {
            let a = Int((w.audio.start * Double(rate)).rounded()), b = min(x.count, Int((w.audio.end * Double(rate)).rounded()))
            let q = try tone.probabilities(samples: Array(x[a..<b]))
            let s = q.reduce(0, +)
            for k in 0..<3 { expected[k] += w.span.duration * Double(q[k] / s) }
            total += w.span.duration
        }
        for k in 0..<3 { XCTAssertEqual(Double(p.probabilityVector[k]), expected[k] / total, accuracy: 2e-3) }
        XCTAssertEqual(p.emotion, "low")
        XCTAssertEqual(p.probabilityVector.reduce(0, +), 1, accuracy: 1e-5)

        // Two 2.5 s utterances 3 s apart: the pause between them counts for nothing.
        let gap = Signals.silence(seconds: 3)
        let two = Signals.tone(220, seconds: 2.5) + gap + Signals.tone(1760, seconds: 2.5)
        let q = try EmotionRecognizer(classifier: tone).recognize(samples: two, sampleRate: rate)
        XCTAssertEqual(q.windows, 2)
        XCTAssertLessThan(q.speechDuration, 5.6)       // 2 × (2.5 s + at most the 0.25 s hangover)
        XCTAssertGreaterThan(q.speechDuration, 4.9)
        XCTAssertEqual(q.probabilityVector[0], q.probabilityVector[1], accuracy: 0.05)
    }

    func testInvalidWindowIsATypedError() {
        let r = EmotionRecognizer(classifier: ToneClassifier(), options: .init(window: 1, hop: 2))
        XCTAssertThrowsError(try r.recognize(samples: Signals.tone(220, seconds: 1), sampleRate: 16000)) {
            guard case .invalidOptions? = $0 as? RecognizerError else { return XCTFail("\($0)") }
        }
    }

    // MARK: - With the bundled model

    /// The bundled hand-made model: it needs no encoder download, so these tests run on a fresh clone.
    static var defaultModel: URL { SharedData.packageRoot.appendingPathComponent("models/handmade.safetensors") }

    func testBundledModelIgnoresSilencePaddingAndSaysNoSpeechForSilence() throws {
        guard FileManager.default.fileExists(atPath: Self.defaultModel.path) else {
            throw XCTSkip("models/handmade.safetensors is absent")
        }
        let classifier = try STACNNClassifier(contentsOf: Self.defaultModel)
        let recognizer = EmotionRecognizer(classifier: classifier)
        let rate = classifier.sampleRate
        // A "recording": 1 s of room noise, 2 s of voice, 1 s of room noise (RAVDESS clips have
        // pauses like these around the sentence).
        let room = { (seed: UInt64) -> [Float] in
            var g = SeededRandom(seed: seed); return (0..<rate).map { _ in 3e-4 * g.nextNormal() }
        }
        var clips: [(String, [Float])] = [("synthetic voice", room(1) + Voice.signal(seconds: 2, rate: rate) + room(2))]
        if let wav = SharedData.path("corpora/ravdess/Actor_01/03-01-05-01-01-01-01.flac") {
            clips.append(("RAVDESS angry clip", try AudioDecoder.load(contentsOf: wav, options: AudioOptions(sampleRate: rate)).samples))
        }
        let second = [Float](repeating: 0, count: rate)
        for (name, clip) in clips {
            // Digital silence added around the recording is dropped: with the 1 s margin the model
            // sees the same clip.
            let bare = try recognizer.recognize(samples: clip, sampleRate: rate)
            let padded = try recognizer.recognize(samples: second + clip + second, sampleRate: rate)
            XCTAssertTrue(bare.speech && padded.speech, name)
            XCTAssertEqual(padded.speechDuration, bare.speechDuration, accuracy: 0.05, name)
            let diff = zip(bare.probabilityVector, padded.probabilityVector).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThan(diff, 0.05, "\(name): \(bare.probabilityVector) vs \(padded.probabilityVector)")
            XCTAssertEqual(bare.emotion, padded.emotion, name)
        }
        let silent = try recognizer.recognize(samples: [Float](repeating: 0, count: 3 * rate), sampleRate: rate)
        XCTAssertFalse(silent.speech)
        XCTAssertNil(silent.emotion)
    }

    // MARK: - The `ser predict` command

    func testPredictCommandReportsNoSpeechAndSpeechFields() throws {
        let ser = SharedData.packageRoot.appendingPathComponent(".build/debug/ser")
        guard FileManager.default.isExecutableFile(atPath: ser.path) else {
            throw XCTSkip("no .build/debug/ser (run `swift build --build-tests` first)")
        }
        guard FileManager.default.fileExists(atPath: Self.defaultModel.path) else { throw XCTSkip("models/handmade.safetensors is absent") }
        let dir = try SharedData.temporaryDirectory("predict-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let silent = dir.appendingPathComponent("silent.wav"), voice = dir.appendingPathComponent("voice.wav")
        try AudioEncoder.writeWAV([Float](repeating: 0, count: 22050 * 2), sampleRate: 22050, to: silent)
        try AudioEncoder.writeWAV(Voice.signal(seconds: 2, rate: 22050), sampleRate: 22050, to: voice)
        func run(_ args: [String]) throws -> (status: Int32, out: String) {
            let p = Process()
            p.executableURL = ser
            p.arguments = ["predict"] + args + ["--model", Self.defaultModel.path, "--quiet", "--threads", "1"]
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardError = FileHandle.nullDevice
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let jsonl = try run([silent.path, voice.path, "--format", "jsonl"])
        XCTAssertEqual(jsonl.status, 0, jsonl.out)
        let rows = try jsonl.out.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0]["speech"] as? Bool, false)
        XCTAssertTrue(rows[0]["emotion"] is NSNull)
        XCTAssertEqual(rows[1]["speech"] as? Bool, true)
        XCTAssertNotNil(rows[1]["emotion"] as? String)
        XCTAssertEqual(rows[1]["windows"] as? Int, 1)

        let csv = try run([silent.path, voice.path, "--format", "csv"])
        XCTAssertEqual(csv.status, 0)
        let lines = csv.out.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(lines.first?.first, "file")
        XCTAssertEqual(lines.first?[4], "speech")
        XCTAssertEqual(lines.first?[5], "emotion")
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[1][4], "false")
        XCTAssertEqual(lines[1][5], "")                      // no emotion
        XCTAssertEqual(lines[2][4], "true")
        XCTAssertFalse(lines[2][5].isEmpty)

        let table = try run([silent.path])
        XCTAssertEqual(table.status, 0)
        XCTAssertTrue(table.out.contains("(no speech)"), table.out)
    }

    /// The bundled default model (Whisper-base encoder + STA-CNN head) loads and classifies, when
    /// the encoder is installed (`ser encoder install base`); otherwise the test says so and skips.
    func testBundledEncoderModelRunsWhenTheEncoderIsInstalled() throws {
        let url = SharedData.packageRoot.appendingPathComponent("models/default.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("models/default.safetensors is absent") }
        let classifier: STACNNClassifier
        do { classifier = try STACNNClassifier(contentsOf: url) } catch let e as EncoderError {
            guard case .notInstalled = e else { throw e }
            throw XCTSkip("the default model's encoder is not installed (\(e))")
        }
        XCTAssertEqual(classifier.sampleRate, 16_000)
        XCTAssertEqual(classifier.labels, ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"])
        let recognizer = EmotionRecognizer(classifier: classifier)
        let p = try recognizer.recognize(samples: Voice.signal(seconds: 2, rate: 16_000), sampleRate: 16_000)
        XCTAssertTrue(p.speech)
        XCTAssertEqual(p.probabilityVector.reduce(0, +), 1, accuracy: 1e-4)
        XCTAssertEqual(p.normalization, "global")
        let silent = try recognizer.recognize(samples: [Float](repeating: 0, count: 32_000), sampleRate: 16_000)
        XCTAssertFalse(silent.speech)
    }
}
