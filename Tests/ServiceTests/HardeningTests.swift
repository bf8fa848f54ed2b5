#if Service
import Foundation
import Logging
import SERRecognizer
import SERService
import XCTest

/// Classifies slowly (`delay` seconds per window) and counts its calls, to watch work stop.
final class SlowClassifier: ClipClassifier, @unchecked Sendable {
    let labels = ["low", "high"]
    let sampleRate = 16000
    let delay: Double
    private let lock = NSLock()
    private var count = 0
    init(delay: Double) { self.delay = delay }
    var calls: Int { lock.lock(); defer { lock.unlock() }; return count }
    func probabilities(samples: [Float]) throws -> [Float] {
        lock.lock(); count += 1; lock.unlock()
        Thread.sleep(forTimeInterval: delay)
        return [0.4, 0.6]
    }
}

/// Keeps every log record (message and metadata) for inspection.
final class CapturingLog: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []
    func append(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
        lock.lock(); records.append((level, message, metadata)); lock.unlock()
    }
    var all: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] { lock.lock(); defer { lock.unlock() }; return records }

    struct Handler: LogHandler {
        let log: CapturingLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            log.append(level, "\(message)", self.metadata.merging(metadata ?? [:]) { $1 })
        }
    }
}

/// The service under hostile clients (issue 14): window limits, deadlines and cancellation,
/// multipart limits, timeouts, the connection limit, framing errors, 405 and the shutdown deadline.
final class HardeningTests: XCTestCase {
    static func multipart(_ boundary: String, fields: [(name: String, data: Data)]) -> Data {
        var body = Data()
        for f in fields {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(f.name)\"\r\n\r\n".utf8))
            body.append(f.data)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return body
    }

    /// Waits up to `seconds` for `condition`.
    func eventually(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return condition()
    }

    // MARK: - Multipart

    /// 50,000 parts parse in linear time (the old parser took 22.7 s in release); with the
    /// default part limit the scan stops at once.
    func testMultipartWith50000PartsIsLinear() throws {
        let boundary = "b0undary"
        var body = Data()
        body.reserveCapacity(50_000 * 64)
        let part = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n".utf8)
        for _ in 0..<50_000 { body.append(part) }
        body.append(Data("--\(boundary)--\r\n".utf8))
        let t0 = Date()
        let parts = try MultipartFormData.parse(body, boundary: boundary, maxParts: 100_000)
        let all = Date().timeIntervalSince(t0)
        XCTAssertEqual(parts.count, 50_000)
        XCTAssertEqual(parts[49_999].data, Data("v".utf8))
        XCTAssertLessThan(all, 3.0, "50,000 parts took \(all) s")
        // Twice the parts take about twice the time, not four times (generous bound for a busy machine).
        var double = body.dropLast(Data("--\(boundary)--\r\n".utf8).count)
        for _ in 0..<50_000 { double.append(part) }
        double.append(Data("--\(boundary)--\r\n".utf8))
        let t1 = Date()
        XCTAssertEqual(try MultipartFormData.parse(Data(double), boundary: boundary, maxParts: 200_000).count, 100_000)
        let twice = Date().timeIntervalSince(t1)
        XCTAssertLessThan(twice, max(0.5, all * 3.5), "100,000 parts took \(twice) s against \(all) s for 50,000")

        let t2 = Date()
        XCTAssertThrowsError(try MultipartFormData.parse(body, boundary: boundary, maxParts: 16)) {
            XCTAssertEqual($0 as? MultipartError, .tooManyParts(limit: 16))
        }
        XCTAssertLessThan(Date().timeIntervalSince(t2), 0.5)
    }

    func testMultipartEdgeCases() throws {
        // Empty part, part without headers, a body full of CRs, boundaries too long.
        let b = "XX"
        let empty = Data("--XX\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\r\n--XX--".utf8)
        XCTAssertEqual(try MultipartFormData.parse(empty, boundary: b).first?.data, Data())
        let noHeaders = Data("--XX\r\n\r\nabc\r\n--XX--".utf8)
        XCTAssertEqual(try MultipartFormData.parse(noHeaders, boundary: b).first?.data, Data("abc".utf8))
        var crs = Data("--XX\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n".utf8)
        crs.append(Data(repeating: 13, count: 100_000))
        crs.append(Data("\r\n--XX--".utf8))
        XCTAssertEqual(try MultipartFormData.parse(crs, boundary: b).first?.data.count, 100_000)
        XCTAssertThrowsError(try MultipartFormData.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "a", count: 71)))
        var longHeaders = Data("--XX\r\nX: ".utf8)
        longHeaders.append(Data(repeating: 65, count: 20_000))
        XCTAssertThrowsError(try MultipartFormData.parse(longHeaders, boundary: b)) {
            XCTAssertEqual($0 as? MultipartError, .headersTooLong(limit: MultipartFormData.maxHeaderBytes))
        }
        // Only `file`.
        let file = MultipartPart(name: "file", filename: nil, contentType: nil, data: Data([1]))
        XCTAssertEqual(try MultipartFormData.filePart([file]), file)
        XCTAssertThrowsError(try MultipartFormData.filePart([file, file])) { XCTAssertEqual($0 as? MultipartError, .duplicateFile) }
        XCTAssertThrowsError(try MultipartFormData.filePart([MultipartPart(name: "audio", filename: "a.wav", contentType: nil, data: Data())])) {
            XCTAssertEqual($0 as? MultipartError, .unexpectedField(name: "audio"))
        }
    }

    func testTooManyPartsOverHTTP() async throws {
        let server = try await TestServer(ServiceConfiguration(maxParts: 4))
        defer { Task { await server.stop() } }
        let fields = (0..<10).map { (name: "file", data: Data("\($0)".utf8)) }
        let r = try await server.client.request("POST", "/v1/recognize", body: Self.multipart("bb", fields: fields),
                                                headers: ["Content-Type": "multipart/form-data; boundary=bb"])
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.errorCode, "too_many_parts")
        await server.stop()
    }

    // MARK: - Windows

    func testWindowAndHopLimits() async throws {
        let server = try await TestServer(ServiceConfiguration(maxWindows: 5))
        let client = server.client
        do {
            let audio = try ServiceTests.wav(ServiceTests.tone(220, seconds: 6))
            let tiny = try await client.request("POST", "/v1/recognize?segment=true&window=0.000001&hop=0.000001", body: audio)
            XCTAssertEqual(tiny.status, 400)
            XCTAssertEqual(tiny.errorCode, "invalid_parameter")
            let message = (tiny.json["error"] as? [String: Any])?["message"] as? String ?? ""
            XCTAssertTrue(message.contains("0.5...600"), message)
            let hop = try await client.request("POST", "/v1/recognize?segment=true&window=1&hop=0.01", body: audio)
            XCTAssertEqual(hop.status, 400)
            XCTAssertEqual(hop.errorCode, "invalid_parameter")
            let nan = try await client.request("POST", "/v1/recognize?segment=true&window=nan", body: audio)
            XCTAssertEqual(nan.status, 400)
            // SegmentOptions' own rule (hop <= window) still applies.
            let backwards = try await client.request("POST", "/v1/recognize?segment=true&window=1&hop=2", body: audio)
            XCTAssertEqual(backwards.status, 400)
            XCTAssertEqual(backwards.errorCode, "invalid_parameter")
            // 6 s at window 1, hop 0.5: 11 windows > 5 -> refused before decoding.
            let many = try await client.request("POST", "/v1/recognize?segment=true&window=1&hop=0.5", body: audio)
            XCTAssertEqual(many.status, 400, String(decoding: many.body, as: UTF8.self))
            XCTAssertEqual(many.errorCode, "too_many_windows")
            XCTAssertTrue(((many.json["error"] as? [String: Any])?["message"] as? String ?? "").contains("1...5"))
            // Within the limit: fine.
            let ok = try await client.request("POST", "/v1/recognize?segment=true&window=2&hop=2", body: audio)
            XCTAssertEqual(ok.status, 200, String(decoding: ok.body, as: UTF8.self))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    // MARK: - Deadlines and cancellation

    func testDeadlineAnswers504AndStopsTheWork() async throws {
        let slow = SlowClassifier(delay: 0.1)
        let server = try await TestServer(ServiceConfiguration(requestDeadline: 0.5), classifier: slow)
        let audio = try ServiceTests.wav(ServiceTests.tone(220, seconds: 30))
        let t0 = Date()
        let r = try await server.client.request("POST", "/v1/recognize?segment=true&window=1&hop=0.5", body: audio)
        let took = Date().timeIntervalSince(t0)
        XCTAssertEqual(r.status, 504, String(decoding: r.body, as: UTF8.self))
        XCTAssertEqual(r.errorCode, "deadline_exceeded")
        XCTAssertLessThan(took, 3)
        // The work stops within a window of the deadline: the count settles far below the 59 windows.
        try await Task.sleep(nanoseconds: 300_000_000)
        let settled = slow.calls
        try await Task.sleep(nanoseconds: 500_000_000)
        XCTAssertEqual(slow.calls, settled)
        XCTAssertLessThan(settled, 20)
        await server.stop()
    }

    func testClientGoingAwayCancelsTheWork() async throws {
        let slow = SlowClassifier(delay: 0.1)
        let server = try await TestServer(ServiceConfiguration(requestDeadline: 120), classifier: slow)
        let audio = try ServiceTests.wav(ServiceTests.tone(220, seconds: 30))
        let c = try RawConnection(port: server.client.port)
        c.send("POST /v1/recognize?segment=true&window=1&hop=0.5 HTTP/1.1\r\nHost: x\r\nContent-Length: \(audio.count)\r\n\r\n")
        c.send(audio)
        let started = await eventually(10) { slow.calls > 0 }
        XCTAssertTrue(started)
        c.hangUp()
        try await Task.sleep(nanoseconds: 500_000_000)
        let settled = slow.calls
        try await Task.sleep(nanoseconds: 600_000_000)
        XCTAssertEqual(slow.calls, settled, "work went on after the client left")
        XCTAssertLessThan(settled, 59)
        // The worker is free again.
        let freed = await eventually(5) { server.service.queue.load.running == 0 }
        XCTAssertTrue(freed)
        await server.stop()
    }

    // MARK: - Timeouts and connections

    func testSlowSenderIsCutOffWith408() async throws {
        let server = try await TestServer(ServiceConfiguration(readTimeout: 0.5))
        let c = try RawConnection(port: server.client.port)
        let t0 = Date()
        c.send("POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nRIFF")
        // Keep trickling so the idle timeout does not apply.
        let trickle = Task.detached { for _ in 0..<20 { try? await Task.sleep(nanoseconds: 100_000_000); c.send("x") } }
        let (data, closed) = c.receive(timeout: 5)
        trickle.cancel()
        let took = Date().timeIntervalSince(t0)
        XCTAssertTrue(closed, "the connection stays open")
        XCTAssertLessThan(took, 4)
        let reply = try LoopbackClient.parse(data)
        XCTAssertEqual(reply.status, 408)
        XCTAssertEqual(reply.errorCode, "request_timeout")
        await server.stop()
    }

    func testIdleAndSlowHeadConnectionsAreClosed() async throws {
        let server = try await TestServer(ServiceConfiguration(idleTimeout: 0.5))
        let idle = try RawConnection(port: server.client.port)
        let slowHead = try RawConnection(port: server.client.port)
        slowHead.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")   // never finished
        XCTAssertTrue(idle.receive(timeout: 4).closed)
        XCTAssertTrue(slowHead.receive(timeout: 4).closed)
        await server.stop()
    }

    func testConnectionLimitKeepsHealthzAnswering() async throws {
        let server = try await TestServer(ServiceConfiguration(maxConnections: 8))
        var held: [RawConnection] = []
        for _ in 0..<40 { held.append(try RawConnection(port: server.client.port)) }
        for _ in 0..<5 {
            let h = try await server.client.request("GET", "/healthz")
            XCTAssertEqual(h.status, 200)
            let connections = h.json["connections"] as? [String: Any]
            XCTAssertLessThanOrEqual(connections?["open"] as? Int ?? 99, 8)
            XCTAssertEqual(connections?["limit"] as? Int, 8)
        }
        let h = try await server.client.request("GET", "/healthz")
        XCTAssertGreaterThan((h.json["connections"] as? [String: Any])?["evicted"] as? Int ?? 0, 30)
        let limits = h.json["limits"] as? [String: Any]
        XCTAssertEqual(limits?["maxConnections"] as? Int, 8)
        XCTAssertEqual(limits?["readTimeoutSeconds"] as? Double, 60)
        XCTAssertEqual(limits?["minWindowSeconds"] as? Double, 0.5)
        held.forEach { $0.hangUp() }
        await server.stop()
    }

    /// At the limit, connections that never sent a request are closed before a keep-alive client's.
    func testEvictionSparesKeepAliveClients() async throws {
        let server = try await TestServer(ServiceConfiguration(maxConnections: 4))
        let keepAlive = try RawConnection(port: server.client.port)
        keepAlive.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = keepAlive.receive(timeout: 0.5)
        XCTAssertFalse(first.closed)
        XCTAssertTrue(String(decoding: first.data, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        var idle: [RawConnection] = []
        for _ in 0..<10 {
            idle.append(try RawConnection(port: server.client.port))
            try await Task.sleep(nanoseconds: 10_000_000)   // distinct arrival times
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        keepAlive.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let second = keepAlive.receive(timeout: 0.5)
        XCTAssertTrue(String(decoding: second.data, as: UTF8.self).hasPrefix("HTTP/1.1 200"), "the keep-alive client was evicted")
        XCTAssertTrue(idle[0].receive(timeout: 0.5).closed, "the oldest idle connection stays open")
        idle.forEach { $0.hangUp() }
        await server.stop()
    }

    /// A client that hangs up in the middle of its body is logged as such (499), not as 400 or 500.
    func testClientAbortIsLoggedAsSuch() async throws {
        let captured = CapturingLog()
        let logger = Logger(label: "ser.service.test") { _ in CapturingLog.Handler(log: captured) }
        let service = try EmotionService(configuration: ServiceConfiguration(host: "127.0.0.1", port: 0),
                                         recognizer: EmotionRecognizer(classifier: BandClassifier()), logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await service.run(signals: [], onServerRunning: { continuation.yield($0); continuation.finish() }) }
        var port = -1
        for await p in ports { port = p }
        let c = try RawConnection(port: port)
        c.send("POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nRIFF....")
        try await Task.sleep(nanoseconds: 100_000_000)
        c.hangUp()
        let logged = await eventually(5) { captured.all.contains { $0.message == "request abandoned by the client" } }
        XCTAssertTrue(logged, "\(captured.all.map(\.message))")
        let requests = captured.all.filter { $0.message.hasPrefix("request") }
        XCTAssertEqual(requests.first?.metadata["status"]?.description, "499")
        XCTAssertFalse(requests.contains { ["400", "500"].contains($0.metadata["status"]?.description ?? "") })
        task.cancel()
        _ = try? await task.value
    }

    // MARK: - Framing, methods

    func testMalformedFramingIs400() async throws {
        let server = try await TestServer(ServiceConfiguration(readTimeout: 1))
        do {
            let bad = try await server.client.request("POST", "/v1/recognize", body: Data("zz\r\nabc\r\n0\r\n\r\n".utf8),
                                                      headers: ["Transfer-Encoding": "chunked"])
            XCTAssertEqual(bad.status, 400, String(decoding: bad.body, as: UTF8.self))
            // A chunk that claims 2^64-1 bytes: answered (no hang), at the latest at the read timeout.
            let c = try RawConnection(port: server.client.port)
            let t0 = Date()
            c.send("POST /v1/recognize HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc\r\n0\r\n\r\n")
            let (data, closed) = c.receive(timeout: 6)
            XCTAssertTrue(closed)
            XCTAssertLessThan(Date().timeIntervalSince(t0), 5)
            let reply = try LoopbackClient.parse(data)
            XCTAssertTrue([400, 408, 413].contains(reply.status), "\(reply.status)")
            // The server still answers.
            let h = try await server.client.request("GET", "/healthz")
            XCTAssertEqual(h.status, 200)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func testWrongMethodIs405WithAllow() async throws {
        let server = try await TestServer()
        do {
            let get = try await server.client.request("GET", "/v1/recognize")
            XCTAssertEqual(get.status, 405)
            XCTAssertEqual(get.errorCode, "method_not_allowed")
            XCTAssertEqual(get.headers["allow"], "POST")
            let post = try await server.client.request("POST", "/healthz", body: Data("x".utf8))
            XCTAssertEqual(post.status, 405)
            XCTAssertEqual(post.headers["allow"], "GET")
            let delete = try await server.client.request("DELETE", "/v1/recognize")
            XCTAssertEqual(delete.status, 405)
            let missing = try await server.client.request("GET", "/nowhere")
            XCTAssertEqual(missing.status, 404)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    // MARK: - Shutdown

    func testShutdownDeadlineClosesAHalfSentBody() async throws {
        let server = try await TestServer(ServiceConfiguration(readTimeout: 600, idleTimeout: 600, shutdownDeadline: 1))
        let c = try RawConnection(port: server.client.port)
        c.send("POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nRIFF")
        try await Task.sleep(nanoseconds: 200_000_000)
        let t0 = Date()
        server.service.requestShutdown(reason: "test")
        _ = try? await server.task.value
        let took = Date().timeIntervalSince(t0)
        XCTAssertGreaterThanOrEqual(took, 0.9)
        XCTAssertLessThan(took, 4, "shutdown took \(took) s")
        XCTAssertTrue(c.receive(timeout: 2).closed)
    }

    func testConfigurationValidation() {
        XCTAssertNoThrow(try ServiceConfiguration().validate())
        for bad in [ServiceConfiguration(readTimeout: 0), ServiceConfiguration(idleTimeout: .nan), ServiceConfiguration(maxConnections: 0),
                    ServiceConfiguration(maxConnections: 100_000_000), ServiceConfiguration(requestDeadline: -1),
                    ServiceConfiguration(shutdownDeadline: .infinity), ServiceConfiguration(minWindow: 0),
                    ServiceConfiguration(minHop: 1e-9), ServiceConfiguration(maxWindows: 0), ServiceConfiguration(maxParts: 0)] {
            XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("not in"), "\($0)") }
        }
    }
}

#endif
