#if Service
import Foundation
import SERRecognizer
import SERService
import XCTest

final class NoSpeechServiceTests: XCTestCase {
    /// A silent upload is answered 200 with `"speech": false` and a null emotion; speech padded
    /// with silence is answered with the speech fields filled in.
    func testSilenceIsAnsweredWithSpeechFalse() async throws {
        let server = try await TestServer()
        do {
            let silent = try await server.client.request("POST", "/v1/recognize",
                                                         body: ServiceTests.wav([Float](repeating: 0, count: 32000)))
            XCTAssertEqual(silent.status, 200, String(decoding: silent.body, as: UTF8.self))
            XCTAssertEqual(silent.json["speech"] as? Bool, false)
            XCTAssertTrue(silent.json["emotion"] is NSNull, "\(silent.json)")
            XCTAssertTrue(silent.json["confidence"] is NSNull)
            XCTAssertEqual((silent.json["probabilities"] as? [String: Any])?.count, 0)
            XCTAssertEqual(silent.json["windows"] as? Int, 0)

            let zeros = [Float](repeating: 0, count: 16000)
            let padded = try await server.client.request("POST", "/v1/recognize",
                                                         body: ServiceTests.wav(zeros + ServiceTests.tone(1760, seconds: 1.5) + zeros))
            XCTAssertEqual(padded.status, 200)
            let p = try JSONDecoder().decode(EmotionPrediction.self, from: padded.body)
            XCTAssertTrue(p.speech)
            XCTAssertEqual(p.emotion, "high")
            XCTAssertEqual(p.windows, 1)
            XCTAssertEqual(p.duration, 3.5, accuracy: 1e-3)
            XCTAssertEqual(p.speechDuration, 1.5, accuracy: 0.05)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}

#endif
