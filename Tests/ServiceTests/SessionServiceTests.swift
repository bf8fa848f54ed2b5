#if Service
import Foundation
import SERFeatures
import SERModel
import SERRecognizer
import SERService
import XCTest

/// `POST /v1/recognize/session`: several recordings of one voice, each answered with the
/// session's normalisation (issue 12).
final class SessionServiceTests: XCTestCase {
    /// A small untrained STA-CNN on MFCC + ZCR features with the given normalisation.
    static func classifier(_ normalization: FeatureNormalization) throws -> STACNNClassifier {
        var fc = FeatureConfig()
        fc.blocks = [.mfcc, .zcr]; fc.nMFCC = 4; fc.sampleRate = 16_000
        var c = STACNNConfig(inputChannels: fc.channels, numClasses: 2)
        c.convChannels = [6, 6, 8]; c.lstmHidden = 4; c.heads = 2; c.dropout = 0
        let std = Standardizer(mean: [Float](repeating: 0, count: fc.channels), std: [Float](repeating: 1, count: fc.channels))
        let saved = SavedModel(model: try STACNN(config: c, seed: 3), labels: ["low", "high"], featureConfig: fc,
                               standardizer: std, normalization: normalization)
        return try STACNNClassifier(model: saved)
    }

    static func body(_ boundary: String, files: [(name: String, filename: String, data: Data)]) -> Data {
        var body = Data()
        for f in files {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(f.name)\"; filename=\"\(f.filename)\"\r\n\r\n".utf8))
            body.append(f.data)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return body
    }

    func testSessionAnswersEachClipWithTheSessionNormalisation() async throws {
        let base = try Self.classifier(.speaker)
        let server = try await TestServer(classifier: base)
        do {
            let tones = [ServiceTests.tone(220, seconds: 1.5), ServiceTests.tone(440, seconds: 1.5).map { $0 * 0.2 },
                         ServiceTests.tone(330, seconds: 1.5)]
            let files = try tones.enumerated().map { (name: "file", filename: "clip\($0.offset).wav", data: try ServiceTests.wav($0.element)) }
            let r = try await server.client.request("POST", "/v1/recognize/session", body: Self.body("sb", files: files),
                                                    headers: ["Content-Type": "multipart/form-data; boundary=sb"])
            XCTAssertEqual(r.status, 200, String(decoding: r.body, as: UTF8.self))
            let answer = try JSONDecoder().decode(EmotionService.SessionAnswer.self, from: r.body)
            XCTAssertEqual(answer.recordings, 3)
            XCTAssertEqual(answer.normalization, "speaker (session adaptation over 3 recordings)")
            XCTAssertEqual(answer.predictions.map(\.source), ["clip0.wav", "clip1.wav", "clip2.wav"])
            // Each clip's answer is what the library gives with the same session.
            let session = try SessionClassifier(base: base, clips: tones)
            let expected = try EmotionRecognizer(classifier: session).recognize(samples: tones[1], sampleRate: 16000)
            // (Decoded from JSON, probabilities are a {label: p} map: compare by label.)
            let got = Dictionary(uniqueKeysWithValues: answer.predictions[1].probabilities.map { ($0.emotion, $0.probability) })
            XCTAssertEqual(Set(got.keys), Set(expected.probabilities.map(\.emotion)))
            for b in expected.probabilities {
                XCTAssertEqual(got[b.emotion] ?? -1, b.probability, accuracy: 1e-4, b.emotion)
            }
            XCTAssertEqual(answer.predictions[1].normalization, "speaker (session adaptation over 3 recordings)")

            // Another field is refused, naming it; a raw body is refused.
            var mixed = files
            mixed.append((name: "note", filename: "n.txt", data: Data("x".utf8)))
            let bad = try await server.client.request("POST", "/v1/recognize/session", body: Self.body("sb", files: mixed),
                                                      headers: ["Content-Type": "multipart/form-data; boundary=sb"])
            XCTAssertEqual(bad.status, 400)
            XCTAssertEqual(bad.errorCode, "unexpected_field")
            let raw = try await server.client.request("POST", "/v1/recognize/session", body: files[0].data)
            XCTAssertEqual(raw.status, 400)
            XCTAssertEqual(raw.errorCode, "multipart_required")
            let get = try await server.client.request("GET", "/v1/recognize/session")
            XCTAssertEqual(get.status, 405)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func testModelsWithoutSpeakerNormalisationRefuseSessions() async throws {
        let server = try await TestServer(classifier: try Self.classifier(.global))
        do {
            let files = [(name: "file", filename: "a.wav", data: try ServiceTests.wav(ServiceTests.tone(220, seconds: 1)))]
            let r = try await server.client.request("POST", "/v1/recognize/session", body: Self.body("sb", files: files),
                                                    headers: ["Content-Type": "multipart/form-data; boundary=sb"])
            XCTAssertEqual(r.status, 400)
            XCTAssertEqual(r.errorCode, "session_unsupported")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}

#endif
