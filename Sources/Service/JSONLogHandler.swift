#if Service
import Foundation
import Logging

/// A swift-log handler writing one JSON object per line to standard error:
/// `{"ts":"2025-01-01T12:00:00.000Z","level":"info","label":"ser.service","msg":"request","status":"200",…}`
/// with the metadata as string fields, for log collectors (`ser serve --log-format json`).
public struct JSONLogHandler: LogHandler {
    /// The logger label.
    public let label: String
    /// Metadata attached to every record.
    public var metadata: Logger.Metadata = [:]
    /// Lowest level written.
    public var logLevel: Logger.Level = .info
    private static let lock = NSLock()

    /// A handler for `label`.
    public init(label: String) { self.label = label }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one record.
    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[k] = "\(v)" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        fields["ts"] = formatter.string(from: Date())
        fields["level"] = event.level.rawValue
        fields["label"] = label
        fields["msg"] = "\(event.message)"
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? e.encode(fields) else { return }
        line.append(0x0A)
        Self.lock.lock(); defer { Self.lock.unlock() }
        FileHandle.standardError.write(line)
    }
}

#endif
