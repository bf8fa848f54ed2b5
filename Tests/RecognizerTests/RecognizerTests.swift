import Foundation
import SERAudio
import SERRecognizer
import SERTestSupport
import XCTest

final class RecognizerTests: XCTestCase {
    let recognizer = EmotionRecognizer(classifier: ToneClassifier())

    func testSamplesGiveTopEmotionAndEveryProbability() throws {
        let low = try recognizer.recognize(samples: Signals.tone(220, seconds: 2), sampleRate: 16000)
        XCTAssertEqual(low.emotion, "low")
        XCTAssertEqual(low.probabilities.map(\.emotion), ["low", "high", "quiet"])
        XCTAssertEqual(low.probabilities.map(\.probability).reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertEqual(low.confidence, low.probabilities.map(\.probability).max())
        XCTAssertEqual(low.duration, 2, accuracy: 1e-9)
        XCTAssertNil(low.source)
        let high = try recognizer.recognize(samples: Signals.tone(1760, seconds: 1.5), sampleRate: 16000)
        XCTAssertEqual(high.emotion, "high")
        XCTAssertGreaterThan(high.confidence ?? 0, 0.9)
        // Near-silence is not classified: no speech, no emotion.
        let quiet = try recognizer.recognize(samples: Signals.silence(seconds: 1), sampleRate: 16000)
        XCTAssertFalse(quiet.speech)
        XCTAssertNil(quiet.emotion)
    }

    func testSamplesAtAnotherRateAreResampled() throws {
        let p = try recognizer.recognize(samples: Signals.tone(1760, seconds: 2, rate: 44100), sampleRate: 44100)
        XCTAssertEqual(p.emotion, "high")
        XCTAssertEqual(p.duration, 2, accuracy: 1e-3)
    }

    func testFileAndDataGiveTheSamePrediction() throws {
        let dir = try SharedData.temporaryDirectory("recognizer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("low.wav")
        try AudioEncoder.writeWAV(Signals.tone(220, seconds: 1.25, rate: 22050), sampleRate: 22050, to: url)
        let fromFile = try recognizer.recognize(file: url)
        XCTAssertEqual(fromFile.source, url.path)
        XCTAssertEqual(fromFile.emotion, "low")
        XCTAssertEqual(fromFile.duration, 1.25, accuracy: 1e-3)
        let fromData = try recognizer.recognize(data: try Data(contentsOf: url), name: "upload.wav")
        XCTAssertEqual(fromData.source, "upload.wav")
        XCTAssertEqual(fromData.probabilities, fromFile.probabilities)
        // JSON round trip.
        // A JSON map has no order: the probabilities decode in alphabetical label order.
        let decoded = try JSONDecoder().decode(EmotionPrediction.self, from: JSONEncoder().encode(fromData))
        var alphabetical = fromData
        alphabetical.probabilities.sort { $0.emotion < $1.emotion }
        XCTAssertEqual(decoded, alphabetical)
    }

    func testErrorsAreTypedAndNameTheSource() throws {
        XCTAssertThrowsError(try recognizer.recognize(samples: [], sampleRate: 16000)) {
            XCTAssertEqual($0 as? RecognizerError, .empty(source: "<samples>"))
        }
        XCTAssertThrowsError(try recognizer.recognize(samples: [0, .nan], sampleRate: 16000)) {
            XCTAssertEqual($0 as? RecognizerError, .nonFiniteSample(source: "<samples>", index: 1))
        }
        XCTAssertThrowsError(try recognizer.recognize(samples: [0.1], sampleRate: 0)) {
            XCTAssertEqual($0 as? RecognizerError, .invalidSampleRate(source: "<samples>", sampleRate: 0))
        }
        XCTAssertThrowsError(try recognizer.recognize(data: Data("hello, not audio".utf8), name: "junk.bin")) {
            guard case .audio(.notAudio(let path, _))? = $0 as? RecognizerError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, "junk.bin")
            XCTAssertTrue("\($0)".contains("junk.bin"))
        }
        let missing = URL(fileURLWithPath: "/nonexistent/x.wav")
        XCTAssertThrowsError(try recognizer.recognize(file: missing)) {
            XCTAssertEqual($0 as? RecognizerError, .audio(.fileNotFound(path: missing.path)))
        }
        let limited = EmotionRecognizer(classifier: ToneClassifier(), options: .init(maxDuration: 1))
        XCTAssertThrowsError(try limited.recognize(samples: Signals.tone(220, seconds: 2), sampleRate: 16000)) {
            XCTAssertEqual($0 as? RecognizerError, .tooLong(source: "<samples>", duration: 2, limit: 1))
        }
        let dir = try SharedData.temporaryDirectory("recognizer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("long.wav")
        try AudioEncoder.writeWAV(Signals.tone(220, seconds: 3), sampleRate: 16000, to: url)
        XCTAssertThrowsError(try limited.recognize(file: url)) {
            guard case .tooLong(let source, let d, 1)? = $0 as? RecognizerError else { return XCTFail("\($0)") }
            XCTAssertEqual(source, url.path)
            XCTAssertEqual(d, 3, accuracy: 1e-6)
        }
    }

    func testClassifierOutputIsChecked() throws {
        let x = Signals.tone(220, seconds: 0.5)
        let wrongCount = EmotionRecognizer(classifier: FixedClassifier(labels: ["a", "b"], output: [1]))
        XCTAssertThrowsError(try wrongCount.recognize(samples: x, sampleRate: 16000)) {
            guard case .invalidOutput? = $0 as? RecognizerError else { return XCTFail("\($0)") }
        }
        let negative = EmotionRecognizer(classifier: FixedClassifier(labels: ["a", "b"], output: [1.5, -0.5]))
        XCTAssertThrowsError(try negative.recognize(samples: x, sampleRate: 16000))
        let unnormalised = EmotionRecognizer(classifier: FixedClassifier(labels: ["a", "b"], output: [1, 3]))
        let p = try unnormalised.recognize(samples: x, sampleRate: 16000)
        XCTAssertEqual(p.emotion, "b")
        XCTAssertEqual(p.confidence ?? 0, 0.75, accuracy: 1e-6)
        let failing = EmotionRecognizer(classifier: FailingClassifier())
        XCTAssertThrowsError(try failing.recognize(samples: x, sampleRate: 16000)) {
            XCTAssertEqual($0 as? RecognizerError, .classifier(source: "<samples>", reason: "boom"))
        }
    }
}
