#if Service
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal blocking HTTP/1.1 client for tests against a server on 127.0.0.1 (one request per
/// connection, `Connection: close`). Runs on its own thread so it never blocks Swift concurrency.
struct LoopbackClient {
    struct Reply {
        var status: Int
        var headers: [String: String]   // lower-cased names
        var body: Data
        /// The body as a JSON object.
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        /// `error.code` of a JSON error body.
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    let port: Int

    func request(_ method: String, _ path: String, body: Data = Data(), headers: [String: String] = [:]) async throws -> Reply {
        try await withCheckedThrowingContinuation { c in
            let t = Thread {
                do { c.resume(returning: try self.requestBlocking(method, path, body: body, headers: headers)) } catch { c.resume(throwing: error) }
            }
            t.start()
        }
    }

    /// A TCP socket connected to 127.0.0.1:`port` (the caller closes it).
    static func connectLoopback(port: Int) throws -> Int32 {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { close(fd); throw Failure(description: "connect to 127.0.0.1:\(port) failed (errno \(errno))") }
        return fd
    }

    func requestBlocking(_ method: String, _ path: String, body: Data, headers: [String: String]) throws -> Reply {
        let fd = try Self.connectLoopback(port: port)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        var h = headers
        if h["Content-Length"] == nil && h["Transfer-Encoding"] == nil && (method == "POST" || !body.isEmpty) { h["Content-Length"] = "\(body.count)" }
        for (k, v) in h.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        var request = Data(head.utf8)
        request.append(body)
        try request.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                #if os(Linux)
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                #else
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, 0)
                #endif
                if n <= 0 { break }   // the server may answer early (413) and stop reading; read its reply
                sent += n
            }
        }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        return try Self.parse(response)
    }

    static func parse(_ data: Data) throws -> Reply {
        guard let split = data.range(of: Data("\r\n\r\n".utf8)) else { throw Failure(description: "no HTTP head in \(data.count) bytes") }
        let lines = String(decoding: data[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure(description: "bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for l in lines.dropFirst() {
            guard let colon = l.firstIndex(of: ":") else { continue }
            headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(data[split.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var out = Data(), rest = body
            while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
                let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16) ?? 0
                if size == 0 { break }
                let start = lineEnd.upperBound
                out.append(rest[start..<(start + size)])
                rest = Data(rest[(start + size + 2)...])
            }
            body = out
        }
        return Reply(status: status, headers: headers, body: body)
    }
}

/// A raw TCP connection to 127.0.0.1 for tests that send partial or malformed requests, hold
/// connections open, or hang up early. Blocking; use from a thread (``LoopbackClient`` style) or
/// with short timeouts.
final class RawConnection: @unchecked Sendable {
    let fd: Int32
    private var open = true

    init(port: Int) throws {
        fd = try LoopbackClient.connectLoopback(port: port)
    }

    deinit { if open { close(fd) } }

    /// Sends `data`; false when the server has closed the connection.
    @discardableResult
    func send(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                #if os(Linux)
                let n = Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                #else
                let n = Darwin.send(fd, raw.baseAddress! + sent, raw.count - sent, 0)
                #endif
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
    }

    func send(_ text: String) { send(Data(text.utf8)) }

    /// Reads until the server closes the connection or `timeout` seconds pass; returns what came
    /// and whether the connection was closed by the server.
    func receive(timeout: Double) -> (data: Data, closed: Bool) {
        let end = Date().addingTimeInterval(timeout)
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < end {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, end.timeIntervalSinceNow * 1000))
            let r = poll(&p, 1, min(ms, 100))
            if r <= 0 { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return (out, true) }
            out.append(contentsOf: buffer[0..<n])
        }
        return (out, false)
    }

    /// Closes the connection.
    func hangUp() {
        if open { close(fd); open = false }
    }
}

#endif
