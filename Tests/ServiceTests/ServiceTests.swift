#if Service
import Foundation
import Logging
import SERAudio
import SERRecognizer
import SERService
import SERTestSupport
import XCTest

/// "low"/"high" from the energy share below ~500 Hz; deterministic.
struct BandClassifier: ClipClassifier {
    let labels = ["low", "high"]
    let sampleRate = 16000
    func probabilities(samples: [Float]) throws -> [Float] {
        let a = Float(exp(-2 * Double.pi * 500 / 16000))
        var y1: Float = 0, y2: Float = 0, total = 0.0, low = 0.0
        for x in samples {
            y1 = (1 - a) * x + a * y1; y2 = (1 - a) * y1 + a * y2
            total += Double(x * x); low += Double(y2 * y2)
        }
        let share = total > 0 ? min(1, low / total) : 0.5
        return [Float(share), Float(1 - share)]
    }
}

/// Blocks every call until the test opens the gate, signalling when a call has started.
final class GatedClassifier: ClipClassifier, @unchecked Sendable {
    let labels = ["low", "high"]
    let sampleRate = 16000
    let gate = DispatchSemaphore(value: 0)
    let entered = DispatchSemaphore(value: 0)
    func probabilities(samples: [Float]) throws -> [Float] {
        entered.signal()
        gate.wait()
        return [0.25, 0.75]
    }
}

/// A server on 127.0.0.1 with an ephemeral port, run in a task.
final class TestServer: @unchecked Sendable {
    let service: EmotionService
    let task: Task<Void, any Error>
    let client: LoopbackClient

    init(_ config: ServiceConfiguration = .init(), classifier: any ClipClassifier = BandClassifier()) async throws {
        var c = config
        c.host = "127.0.0.1"
        c.port = 0
        var logger = Logger(label: "ser.service.test")
        logger.logLevel = .critical   // cancelling the server task logs an error by design
        let service = try EmotionService(configuration: c, recognizer: EmotionRecognizer(classifier: classifier), logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        self.service = service
        self.task = Task { try await service.run(signals: [], onServerRunning: { port in continuation.yield(port); continuation.finish() }) }
        var port = -1
        for await p in ports { port = p }
        guard port > 0 else { throw LoopbackClient.Failure(description: "the server did not start") }
        self.client = LoopbackClient(port: port)
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
        service.shutdown()
    }
}

final class ServiceTests: XCTestCase {
    static func wav(_ samples: [Float], rate: Int = 16000) throws -> Data {
        let dir = try SharedData.temporaryDirectory("service")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("a.wav")
        try AudioEncoder.writeWAV(samples, sampleRate: rate, to: url)
        return try Data(contentsOf: url)
    }

    static func tone(_ hz: Double, seconds: Double, rate: Int = 16000) -> [Float] {
        (0..<Int(seconds * Double(rate))).map { 0.3 * Float(sin(2 * Double.pi * hz * Double($0) / Double(rate))) }
    }

    func testRecognizeHealthAndErrors() async throws {
        let server = try await TestServer(ServiceConfiguration(maxBodyBytes: 256 << 10, maxDuration: 4, concurrency: 2, queueLength: 4))
        let client = server.client
        do {
            // Health.
            let health = try await client.request("GET", "/healthz")
            XCTAssertEqual(health.status, 200)
            XCTAssertEqual(health.json["labels"] as? [String], ["low", "high"])
            XCTAssertEqual(health.json["status"] as? String, "ok")
            XCTAssertEqual(health.json["version"] as? String, EmotionService.version)
            XCTAssertNotNil(health.headers["x-request-id"])

            // Good WAV (22.05 kHz, resampled by the decoder to the classifier's 16 kHz).
            let good = try await client.request("POST", "/v1/recognize", body: Self.wav(Self.tone(1760, seconds: 1.5, rate: 22050), rate: 22050),
                                                headers: ["Content-Type": "audio/wav"])
            XCTAssertEqual(good.status, 200, String(decoding: good.body, as: UTF8.self))
            XCTAssertTrue(good.headers["content-type"]?.hasPrefix("application/json") ?? false)
            let p = try JSONDecoder().decode(EmotionPrediction.self, from: good.body)
            XCTAssertEqual(p.emotion, "high")
            XCTAssertEqual(Set(p.probabilities.map(\.emotion)), ["low", "high"])     // a JSON map: no order
            XCTAssertEqual(p.duration, 1.5, accuracy: 1e-3)

            // Garbage: no known format -> 415.
            let garbage = try await client.request("POST", "/v1/recognize", body: Data((0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }))
            XCTAssertEqual(garbage.status, 415)
            XCTAssertEqual(garbage.errorCode, "unsupported_format")
            XCTAssertNotNil((garbage.json["error"] as? [String: Any])?["message"] as? String)

            // Truncated WAV -> 400.
            let whole = try Self.wav(Self.tone(220, seconds: 1))
            let truncated = try await client.request("POST", "/v1/recognize", body: whole.prefix(whole.count / 2))
            XCTAssertEqual(truncated.status, 400)
            XCTAssertEqual(truncated.errorCode, "truncated_audio")

            // A WAV header with garbage inside -> 400 (known container, bad content).
            var damaged = Data("RIFF".utf8)
            damaged.append(Data(repeating: 0xAB, count: 200))
            let bad = try await client.request("POST", "/v1/recognize", body: damaged)
            XCTAssertEqual(bad.status, 400)
            XCTAssertEqual(bad.errorCode, "bad_audio")

            // Empty body -> 400.
            let empty = try await client.request("POST", "/v1/recognize")
            XCTAssertEqual(empty.status, 400)
            XCTAssertEqual(empty.errorCode, "empty_body")

            // Oversize body, declared by Content-Length -> 413 without reading it.
            let big = Data(repeating: 1, count: 300 << 10)
            let oversize = try await client.request("POST", "/v1/recognize", body: big)
            XCTAssertEqual(oversize.status, 413)
            XCTAssertEqual(oversize.errorCode, "body_too_large")

            // Oversize body, chunked (no length) -> 413 while reading it.
            var chunked = Data()
            for _ in 0..<5 { chunked.append(Data("10000\r\n".utf8)); chunked.append(Data(repeating: 2, count: 0x10000)); chunked.append(Data("\r\n".utf8)) }
            chunked.append(Data("0\r\n\r\n".utf8))
            let oversizeChunked = try await client.request("POST", "/v1/recognize", body: chunked, headers: ["Transfer-Encoding": "chunked"])
            XCTAssertEqual(oversizeChunked.status, 413)
            XCTAssertEqual(oversizeChunked.errorCode, "body_too_large")

            // Audio longer than the duration limit (4 s) -> 413.
            let long = try await client.request("POST", "/v1/recognize", body: Self.wav(Self.tone(220, seconds: 5)))
            XCTAssertEqual(long.status, 413)
            XCTAssertEqual(long.errorCode, "audio_too_long")

            // Unknown route -> 404 as JSON.
            let missing = try await client.request("GET", "/v2/nothing")
            XCTAssertEqual(missing.status, 404)
            XCTAssertEqual(missing.errorCode, "not_found")

            // Bad query parameter -> 400.
            let badWindow = try await client.request("POST", "/v1/recognize?segment=true&window=abc", body: Self.wav(Self.tone(220, seconds: 1)))
            XCTAssertEqual(badWindow.status, 400)
            XCTAssertEqual(badWindow.errorCode, "invalid_parameter")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func testMultipartAndSegments() async throws {
        let server = try await TestServer()
        let client = server.client
        do {
            let audio = try Self.wav(Self.tone(220, seconds: 1.2))
            let boundary = "----ser-test-boundary-7MA4YWxk"
            var body = Data("preamble\r\n".utf8)
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip.wav\"\r\nContent-Type: audio/wav\r\n\r\n".utf8))
            body.append(audio)
            body.append(Data("\r\n--\(boundary)--\r\n".utf8))
            let reply = try await client.request("POST", "/v1/recognize", body: body,
                                                 headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"])
            XCTAssertEqual(reply.status, 200, String(decoding: reply.body, as: UTF8.self))
            let p = try JSONDecoder().decode(EmotionPrediction.self, from: reply.body)
            XCTAssertEqual(p.emotion, "low")
            XCTAssertEqual(p.source, "clip.wav")

            // Multipart with another field -> 400 naming it.
            let other = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ny\r\n--\(boundary)--\r\n".utf8)
            let r2 = try await client.request("POST", "/v1/recognize", body: other, headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"])
            XCTAssertEqual(r2.status, 400)
            XCTAssertEqual(r2.errorCode, "unexpected_field")
            XCTAssertTrue(((r2.json["error"] as? [String: Any])?["message"] as? String ?? "").contains("\"a\""), "\(r2.json)")
            // A file field beside another field -> 400 too.
            var mixed = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n".utf8)
            mixed.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip.wav\"\r\n\r\n".utf8))
            mixed.append(audio)
            mixed.append(Data("\r\n--\(boundary)--\r\n".utf8))
            let r3 = try await client.request("POST", "/v1/recognize", body: mixed, headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"])
            XCTAssertEqual(r3.status, 400)
            XCTAssertEqual(r3.errorCode, "unexpected_field")
            // No parts at all -> missing_file.
            let none = Data("--\(boundary)--\r\n".utf8)
            let r4 = try await client.request("POST", "/v1/recognize", body: none, headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"])
            XCTAssertEqual(r4.status, 400)
            XCTAssertEqual(r4.errorCode, "missing_file")

            // Segments: low tone, silence, high tone.
            let silence = [Float](repeating: 0, count: 32000)
            let talk = try Self.wav(Self.tone(220, seconds: 4) + silence + Self.tone(1760, seconds: 4))
            let seg = try await client.request("POST", "/v1/recognize?segment=true&window=2&hop=1", body: talk)
            XCTAssertEqual(seg.status, 200, String(decoding: seg.body, as: UTF8.self))
            let t = try JSONDecoder().decode(Timeline.self, from: seg.body)
            XCTAssertEqual(t.segments.map(\.emotion), ["low", "high"])
            XCTAssertEqual(t.options.window, 2)
            XCTAssertEqual(t.segments[0].start, 0, accuracy: 1)
            XCTAssertEqual(t.segments[1].start, 6, accuracy: 1)
            XCTAssertEqual(t.segments[1].end, 10, accuracy: 1)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func testFullQueueAnswers503() async throws {
        let gated = GatedClassifier()
        let server = try await TestServer(ServiceConfiguration(concurrency: 1, queueLength: 1), classifier: gated)
        let client = server.client
        let audio = try Self.wav(Self.tone(220, seconds: 0.5))
        // A runs (blocked in the classifier), B waits in the queue, C is refused.
        let a = Task { try await client.request("POST", "/v1/recognize", body: audio) }
        XCTAssertEqual(gated.entered.wait(timeout: .now() + 30), .success, "A reached the classifier")
        let b = Task { try await client.request("POST", "/v1/recognize", body: audio) }
        var queued = 0
        for _ in 0..<300 {
            let load = try await client.request("GET", "/healthz").json["load"] as? [String: Any]
            queued = load?["queued"] as? Int ?? 0
            if queued == 1 { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        XCTAssertEqual(queued, 1, "B is queued")
        let c = try await client.request("POST", "/v1/recognize", body: audio)
        XCTAssertEqual(c.status, 503)
        XCTAssertEqual(c.errorCode, "overloaded")
        XCTAssertEqual(c.headers["retry-after"], "1")
        gated.gate.signal()
        gated.gate.signal()
        let ra = try await a.value, rb = try await b.value
        XCTAssertEqual(ra.status, 200)
        XCTAssertEqual(rb.status, 200)
        XCTAssertEqual(ra.json["emotion"] as? String, "high")
        // The worker marks itself idle just after handing back its answer: allow it a moment.
        var after: [String: Any]? = nil
        for _ in 0..<100 {
            after = try await client.request("GET", "/healthz").json["load"] as? [String: Any]
            if after?["running"] as? Int == 0 { break }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertEqual(after?["rejected"] as? Int, 1)
        XCTAssertEqual(after?["running"] as? Int, 0)
        await server.stop()
    }
}

final class ServicePartsTests: XCTestCase {
    func testMultipartParser() throws {
        XCTAssertNil(try MultipartFormData.boundary(contentType: "audio/wav"))
        XCTAssertEqual(try MultipartFormData.boundary(contentType: "multipart/form-data; boundary=\"a b\""), "a b")
        XCTAssertThrowsError(try MultipartFormData.boundary(contentType: "multipart/form-data"))
        let body = Data("preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.wav\"\r\n\r\nab\r\ncd\r\n--XX--\r\n".utf8)
        let parts = try MultipartFormData.parse(body, boundary: "XX")
        XCTAssertEqual(parts.count, 1)
        XCTAssertEqual(parts[0].name, "file")
        XCTAssertEqual(parts[0].filename, "x.wav")
        XCTAssertEqual(parts[0].data, Data("ab\r\ncd".utf8))
        XCTAssertThrowsError(try MultipartFormData.parse(Data("--XX\r\nno end".utf8), boundary: "XX"))
    }

    func testErrorMapping() {
        XCTAssertEqual(APIError.from(RecognizerError.audio(.truncated(path: "u", expectedFrames: 10, availableFrames: 5))).status, 400)
        XCTAssertEqual(APIError.from(RecognizerError.audio(.notAudio(path: "u", reason: "x")), body: Data("junk".utf8)).status, 415)
        XCTAssertEqual(APIError.from(RecognizerError.audio(.notAudio(path: "u", reason: "x")), body: Data("fLaC....".utf8)).status, 400)
        XCTAssertEqual(APIError.from(RecognizerError.audio(.unsupportedEncoding(path: "u", encoding: "x"))).status, 415)
        XCTAssertEqual(APIError.from(RecognizerError.tooLong(source: "u", duration: 9, limit: 1)).status, 413)
        XCTAssertEqual(APIError.from(WorkQueueError.full(running: 1, queued: 1)).status, 503)
        XCTAssertEqual(APIError.from(RecognizerError.classifier(source: "u", reason: "x")).status, 500)
        let json = try? JSONSerialization.jsonObject(with: APIError(status: 400, code: "c", message: "m \"q\"").json) as? [String: Any]
        XCTAssertEqual((json?["error"] as? [String: Any])?["message"] as? String, "m \"q\"")
    }

    func testWorkQueueBoundsAndRuns() async throws {
        let q = WorkQueue(workers: 2, queueLength: 0)
        defer { q.shutdown() }
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<2 { group.addTask { try await q.run { i * 10 } } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(results.sorted(), [0, 10])
        XCTAssertThrowsError(try ServiceConfiguration(concurrency: 0).validate())
        XCTAssertThrowsError(try ServiceConfiguration(port: 70000).validate())
    }
}

#endif
