import Foundation

/// Settings of the HTTP service (`ser serve`).
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

    /// Defaults: 127.0.0.1:8080, 25 MiB bodies, 600 s audio, one worker per core, 16 waiting.
    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 25 << 20, maxDuration: Double? = 600,
                concurrency: Int = ProcessInfo.processInfo.activeProcessorCount, queueLength: Int = 16,
                version: String = EmotionService.version, serverName: String? = "ser") {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxDuration = maxDuration
        self.concurrency = concurrency
        self.queueLength = queueLength
        self.version = version
        self.serverName = serverName
    }

    /// Throws ``ServiceError/invalidConfiguration(_:)`` for unusable values.
    public func validate() throws {
        guard !host.isEmpty else { throw ServiceError.invalidConfiguration("host is empty") }
        guard (0...65535).contains(port) else { throw ServiceError.invalidConfiguration("port \(port) is not in 0...65535") }
        guard maxBodyBytes > 0 else { throw ServiceError.invalidConfiguration("the body limit must be positive") }
        if let d = maxDuration { guard d > 0, d.isFinite else { throw ServiceError.invalidConfiguration("the duration limit must be positive") } }
        guard concurrency >= 1 else { throw ServiceError.invalidConfiguration("concurrency must be at least 1") }
        guard queueLength >= 0 else { throw ServiceError.invalidConfiguration("the queue length must not be negative") }
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
