#if Service
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings of the HTTP service (`ser serve`).
///
/// Besides the bind address and the work queue, the configuration bounds what one client can
/// hold: how long a request may take to arrive (``readTimeout``), how long an idle connection is
/// kept (``idleTimeout``), how many connections are open at once (``maxConnections``), how long
/// the work for one request may run (``requestDeadline``), how small timeline windows may be
/// (``minWindow``, ``minHop``, ``maxWindows``), how many parts a multipart body may have
/// (``maxParts``), and how long a shutdown waits for requests in flight (``shutdownDeadline``).
public struct ServiceConfiguration: Sendable, Equatable {
    /// Address to bind (default 127.0.0.1: loopback only).
    public var host: String
    /// Port to bind; 0 picks a free one (see ``EmotionService/makeApplication(onServerRunning:)``).
    public var port: Int
    /// Largest request body accepted, in bytes (default 25 MiB); larger gives 413.
    public var maxBodyBytes: Int
    /// Longest audio accepted, in seconds (default 600); longer gives 413. `nil` for no limit.
    public var maxDuration: Double?
    /// Recognitions running at once (worker threads; default: the number of cores).
    public var concurrency: Int
    /// Recognitions waiting for a worker beyond those running (default 16); more gives 503.
    public var queueLength: Int
    /// Version reported by `GET /healthz`.
    public var version: String
    /// Value of the `Server` response header; `nil` for none.
    public var serverName: String?
    /// Seconds a request may take to arrive, from its head to the end of its body (default 60).
    /// A slower sender is answered 408 and its connection closed.
    public var readTimeout: Double
    /// Seconds a connection may stay without traffic, between requests or while its request
    /// head is still arriving (default 30); then it is closed.
    public var idleTimeout: Double
    /// Most connections open at once (default ``defaultMaxConnections``: 4096, or the open-file
    /// limit less ``reservedDescriptors`` when that is lower). A new connection beyond it closes
    /// the connection that has waited longest without a request being worked on (idle, or still
    /// sending its request; connections that never sent a request go first), so `/healthz` keeps
    /// answering; when every connection is waiting for its answer, the new one is closed. Must
    /// stay below the process's file-descriptor limit.
    public var maxConnections: Int
    /// Seconds the work for one request (decoding and recognition, waiting for a worker
    /// included) may take once its body has arrived (default 60); then it is answered 504 and
    /// the work stops at the next window.
    public var requestDeadline: Double
    /// Seconds a shutdown (SIGTERM/SIGINT) waits for requests in flight (default 10); then every
    /// connection is closed and the work still running is cancelled.
    public var shutdownDeadline: Double
    /// Shortest timeline window (`?window=`) in seconds (default 0.5).
    public var minWindow: Double
    /// Shortest timeline hop (`?hop=`) in seconds (default 0.25).
    public var minHop: Double
    /// Most windows one timeline request (`?segment=true`) may classify (default 1000); a timeline
    /// that would need more is answered 400 with the allowed range. (A whole-recording answer uses
    /// the recognizer's 3 s windows every 1.5 s, bounded by ``maxDuration``.)
    public var maxWindows: Int
    /// Most parts in a `multipart/form-data` body (default 16); more gives 400.
    public var maxParts: Int

    /// Defaults: 127.0.0.1:8080, 25 MiB bodies, 600 s audio, one worker per core, 16 waiting,
    /// 60 s to read a request, 30 s idle, 4096 connections (fewer under a low open-file limit), 60 s per request, 10 s to shut down,
    /// windows of at least 0.5 s every 0.25 s or more and at most 1000 of them, 16 multipart parts.
    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 25 << 20, maxDuration: Double? = 600,
                concurrency: Int = ProcessInfo.processInfo.activeProcessorCount, queueLength: Int = 16,
                version: String = EmotionService.version, serverName: String? = "ser",
                readTimeout: Double = 60, idleTimeout: Double = 30, maxConnections: Int = ServiceConfiguration.defaultMaxConnections,
                requestDeadline: Double = 60, shutdownDeadline: Double = 10,
                minWindow: Double = 0.5, minHop: Double = 0.25, maxWindows: Int = 1000, maxParts: Int = 16) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxDuration = maxDuration
        self.concurrency = concurrency
        self.queueLength = queueLength
        self.version = version
        self.serverName = serverName
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.requestDeadline = requestDeadline
        self.shutdownDeadline = shutdownDeadline
        self.minWindow = minWindow
        self.minHop = minHop
        self.maxWindows = maxWindows
        self.maxParts = maxParts
    }

    /// The process's soft limit on open files, or nil when unknown.
    public static var fileDescriptorLimit: Int? {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0 else { return nil }
        return r.rlim_cur >= rlim_t(Int.max) ? nil : Int(clamping: r.rlim_cur)
    }

    /// File descriptors kept free beyond ``maxConnections`` (listening socket, model, logs, uploads).
    public static let reservedDescriptors = 64

    /// 4096 connections, or the open-file limit less ``reservedDescriptors`` when that is lower
    /// (an idle connection costs a descriptor and a few tens of KiB).
    public static var defaultMaxConnections: Int {
        min(4096, max(1, (fileDescriptorLimit ?? 1_000_000) - reservedDescriptors))
    }

    /// Throws ``ServiceError/invalidConfiguration(_:)`` for unusable values, naming the value and
    /// the allowed range.
    public func validate() throws {
        func bad(_ s: String) -> ServiceError { .invalidConfiguration(s) }
        func seconds(_ v: Double, _ name: String, _ range: ClosedRange<Double>) throws {
            guard v.isFinite, range.contains(v) else {
                throw bad("\(name) \(v) s is not in \(range.lowerBound)...\(range.upperBound) s")
            }
        }
        guard !host.isEmpty else { throw bad("host is empty") }
        guard (0...65535).contains(port) else { throw bad("port \(port) is not in 0...65535") }
        guard maxBodyBytes > 0 else { throw bad("the body limit \(maxBodyBytes) must be positive") }
        if let d = maxDuration { guard d > 0, d.isFinite else { throw bad("the duration limit \(d) must be positive") } }
        guard (1...1024).contains(concurrency) else { throw bad("concurrency \(concurrency) is not in 1...1024") }
        guard (0...1_000_000).contains(queueLength) else { throw bad("the queue length \(queueLength) is not in 0...1000000") }
        try seconds(readTimeout, "the read timeout", 0.1...86_400)
        try seconds(idleTimeout, "the idle timeout", 0.1...86_400)
        try seconds(requestDeadline, "the request deadline", 0.1...86_400)
        try seconds(shutdownDeadline, "the shutdown deadline", 0...3600)
        let fdCap = Self.fileDescriptorLimit.map { max(1, $0 - Self.reservedDescriptors) } ?? 1_000_000
        guard (1...fdCap).contains(maxConnections) else {
            throw bad("the connection limit \(maxConnections) is not in 1...\(fdCap) (the open-file limit less \(Self.reservedDescriptors); raise `ulimit -n` for more)")
        }
        try seconds(minWindow, "the minimum window", 0.01...3600)
        try seconds(minHop, "the minimum hop", 0.01...3600)
        guard (1...1_000_000).contains(maxWindows) else { throw bad("the window limit \(maxWindows) is not in 1...1000000") }
        guard (1...10_000).contains(maxParts) else { throw bad("the multipart part limit \(maxParts) is not in 1...10000") }
    }
}

/// Errors of setting up the service.
public enum ServiceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A ``ServiceConfiguration`` value is unusable.
    case invalidConfiguration(String)

    /// One line with the reason.
    public var description: String {
        switch self {
        case let .invalidConfiguration(r): return "invalid service configuration: \(r)"
        }
    }
}

#endif
