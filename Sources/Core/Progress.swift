import Foundation

/// A text progress bar on standard error: count, percentage, rate, ETA and a free-form status.
///
/// Safe to call from many threads. When standard error is not a terminal it prints a plain line
/// at most every few seconds instead of redrawing, so logs stay readable.
///
/// ```swift
/// let bar = ProgressBar(total: files.count, label: "features")
/// for f in files { work(f); bar.advance() }
/// bar.finish()
/// ```
public final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private let label: String
    private let unit: String
    private let enabled: Bool
    private let isTTY: Bool
    private let start = Date()
    private var done = 0
    private var status = ""
    private var lastDraw = Date.distantPast

    /// - Parameters:
    ///   - total: number of steps (0 hides the percentage).
    ///   - label: shown before the bar.
    ///   - unit: what one step is, for the rate ("files", "batches").
    ///   - enabled: set false to silence (e.g. `--quiet`).
    public init(total: Int, label: String, unit: String = "it", enabled: Bool = true) {
        self.total = total
        self.label = label
        self.unit = unit
        self.enabled = enabled
        self.isTTY = isatty(STDERR_FILENO) != 0
    }

    /// Steps done so far.
    public var completed: Int { lock.lock(); defer { lock.unlock() }; return done }

    /// Marks `n` more steps done and optionally replaces the status text.
    public func advance(by n: Int = 1, status: String? = nil) {
        lock.lock(); defer { lock.unlock() }
        done += n
        if let status { self.status = status }
        draw(force: done >= total)
    }

    /// Replaces the status text without advancing.
    public func setStatus(_ s: String) {
        lock.lock(); defer { lock.unlock() }
        status = s
        draw(force: false)
    }

    /// Draws the final state and ends the line.
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        draw(force: true)
        if enabled && isTTY { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw(force: Bool) {
        guard enabled else { return }
        let now = Date()
        let minGap = isTTY ? 0.1 : 5.0
        guard force || now.timeIntervalSince(lastDraw) >= minGap else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var line = "\(label) "
        if total > 0 {
            let frac = min(1, Double(done) / Double(total))
            let width = 24
            let filled = Int(frac * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            line += "\(done)/\(total) \(String(format: "%3.0f%%", frac * 100)) "
            let eta = rate > 0 ? Double(total - done) / rate : 0
            line += String(format: "%.1f %@/s ETA %@ ", rate, unit, Self.clock(eta))
        } else {
            line += "\(done) " + String(format: "%.1f %@/s ", rate, unit)
        }
        line += "elapsed \(Self.clock(elapsed))"
        if !status.isEmpty { line += "  " + status }
        let out = isTTY ? "\r\u{1B}[K" + line : line + "\n"
        FileHandle.standardError.write(Data(out.utf8))
    }

    /// Seconds as `m:ss` or `h:mm:ss`.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
