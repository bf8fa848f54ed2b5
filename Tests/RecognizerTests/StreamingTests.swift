import Foundation
import SERAudio
import SERCore
import SERRecognizer
import SERTestSupport
import XCTest

/// Files longer than ``RecognizerOptions/inMemoryDuration`` are decoded as a stream of blocks,
/// two or three times, instead of into memory: the answers must not change.
final class StreamingTests: XCTestCase {
    private func file(_ samples: [Float], _ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ser-stream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(name)
        try AudioEncoder.writeWAV(samples, sampleRate: 16000, to: url, float: true)
        return url
    }

    /// Small decode blocks, so that ranges straddle blocks; `stream` forces the streamed path.
    private func recognizer(_ c: any ClipClassifier, stream: Bool, trim: Bool = true) -> EmotionRecognizer {
        EmotionRecognizer(classifier: c, options: .init(blockFrames: 1000, trimSilence: trim, inMemoryDuration: stream ? 0 : 1e9))
    }

    func testStreamedFilesGiveTheSameAnswersAsFilesInMemory() throws {
        let quiet = Signals.silence(seconds: 2.3)
        let recordings: [(String, [Float])] = [
            ("short speech between silences (one clip with its margin)", quiet + Voice.signal(seconds: 1.7, rate: 16000) + quiet),
            ("speech just over a window (refinement decides)", quiet + Voice.signal(seconds: 3.02, rate: 16000) + quiet),
            ("long speech with a pause (windows)", Signals.tone(220, seconds: 6) + quiet + Signals.tone(1760, seconds: 4.4)),
            ("speech at the very start and end", Voice.signal(seconds: 2, rate: 16000)),
            ("silence", quiet),
        ]
        for (name, x) in recordings {
            let url = try file(x, "a.wav")
            for classifier in [LoudnessClassifier(), ToneClassifier()] as [any ClipClassifier] {
                for trim in [true, false] {
                    let inMemory = try recognizer(classifier, stream: false, trim: trim).recognize(file: url)
                    let streamed = try recognizer(classifier, stream: true, trim: trim).recognize(file: url)
                    XCTAssertEqual(streamed, inMemory, "\(name), trim \(trim)")
                    // And the same as the samples given directly.
                    var fromSamples = try recognizer(classifier, stream: false, trim: trim).recognize(samples: x, sampleRate: 16000)
                    fromSamples.source = url.path
                    XCTAssertEqual(fromSamples, inMemory, "\(name), trim \(trim)")
                }
            }
            let data = try Data(contentsOf: url)
            XCTAssertEqual(try recognizer(ToneClassifier(), stream: true).recognize(data: data, name: "up.wav"),
                           try recognizer(ToneClassifier(), stream: false).recognize(data: data, name: "up.wav"), name)
        }
    }

    func testStreamedRecognitionKeepsOnlyWhatTheWindowsNeed() throws {
        // 60 s: speech, 50 s of silence, speech. The classifier sees windows of at most 3 s.
        let fake = LoudnessClassifier()
        let x = Signals.tone(220, seconds: 5) + [Float](repeating: 0, count: 50 * 16000) + Signals.tone(440, seconds: 5)
        let url = try file(x, "long.wav")
        let p = try recognizer(fake, stream: true).recognize(file: url)
        XCTAssertTrue(p.speech)
        XCTAssertEqual(p.duration, 60, accuracy: 1e-6)
        XCTAssertGreaterThan(p.windows, 2)
        XCTAssertLessThanOrEqual(try XCTUnwrap(fake.lengths.max()), 3 * 16000)
        XCTAssertEqual(p.speechDuration, 10.25, accuracy: 0.1)    // 2 × 5 s + the first one's 0.25 s hangover
    }

    func testTruncationFoundLateInAStreamIsStillAnError() throws {
        let url = try file(Voice.signal(seconds: 4, rate: 16000), "cut.wav")
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 20000).write(to: url)
        XCTAssertThrowsError(try recognizer(ToneClassifier(), stream: true).recognize(file: url)) { e in
            guard case RecognizerError.audio(.truncated) = e else { return XCTFail("\(e)") }
        }
    }
}
