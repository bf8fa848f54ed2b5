#if Service
import Foundation
import SERRecognizer

/// Why a request's work was stopped before it finished.
public enum RequestCancellation: Error, CustomStringConvertible, Sendable, Equatable {
    /// The client closed its connection; nobody is waiting for the answer.
    case clientGone
    /// The work ran past the request deadline (`seconds`).
    case deadline(seconds: Double)
    /// The server is shutting down and its deadline passed.
    case shuttingDown

    /// One line with the reason.
    public var description: String {
        switch self {
        case .clientGone: return "the client closed the connection"
        case let .deadline(s): return "the request took longer than its deadline of \(s) s"
        case .shuttingDown: return "the server is shutting down"
        }
    }
}

/// The cancellation state of one request's work: cancelled explicitly (client gone, shutdown)
/// or by its deadline. Checked by the work between windows (``GuardedClassifier``) and by the
/// ``WorkQueue`` before a queued job starts. Thread-safe.
public final class RequestToken: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: RequestCancellation?
    private var handlers: [@Sendable (RequestCancellation) -> Void] = []
    private var timer: DispatchWorkItem?
    /// The deadline in seconds from creation.
    public let seconds: Double

    /// A token that cancels itself `seconds` from now (nil: no deadline).
    public init(deadline seconds: Double?) {
        self.seconds = seconds ?? .infinity
        if let seconds, seconds.isFinite {
            let item = DispatchWorkItem { [weak self] in self?.cancel(.deadline(seconds: seconds)) }
            timer = item
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: item)
        }
    }

    deinit { timer?.cancel() }

    /// Cancels the work (the first reason wins) and runs the handlers once.
    public func cancel(_ why: RequestCancellation) {
        lock.lock()
        guard reason == nil else { lock.unlock(); return }
        reason = why
        let run = handlers
        handlers = []
        let t = timer
        timer = nil
        lock.unlock()
        t?.cancel()
        for h in run { h(why) }
    }

    /// Why the work was cancelled, or nil while it may go on.
    public var cancellation: RequestCancellation? {
        lock.lock(); defer { lock.unlock() }
        return reason
    }

    /// Throws the ``RequestCancellation`` once cancelled.
    public func check() throws {
        if let r = cancellation { throw r }
    }

    /// Runs `handler` when the token is cancelled (at once when it already is).
    public func onCancel(_ handler: @escaping @Sendable (RequestCancellation) -> Void) {
        lock.lock()
        if let r = reason { lock.unlock(); handler(r); return }
        handlers.append(handler)
        lock.unlock()
    }

    /// Marks the work finished: the deadline timer stops and the handlers are dropped.
    public func finish() {
        lock.lock()
        handlers = []
        let t = timer
        timer = nil
        lock.unlock()
        t?.cancel()
    }
}

/// The tokens of the requests being worked on, so that a shutdown can cancel them all.
final class ActiveRequests: @unchecked Sendable {
    private let lock = NSLock()
    private var tokens: [ObjectIdentifier: RequestToken] = [:]

    func add(_ t: RequestToken) { lock.lock(); tokens[ObjectIdentifier(t)] = t; lock.unlock() }
    func remove(_ t: RequestToken) { lock.lock(); tokens[ObjectIdentifier(t)] = nil; lock.unlock() }
    /// Cancels every token; returns how many.
    @discardableResult
    func cancelAll(_ why: RequestCancellation) -> Int {
        lock.lock(); let all = Array(tokens.values); lock.unlock()
        for t in all { t.cancel(why) }
        return all.count
    }
}

/// The window count of one request, with its limit.
final class WindowCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private(set) var exceeded = false
    /// Most windows allowed.
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts one more window; false once past the limit.
    func next() -> Bool {
        lock.lock(); defer { lock.unlock() }
        count += 1
        if count > limit { exceeded = true }
        return !exceeded
    }
}

/// Thrown by ``GuardedClassifier`` past the window limit.
struct WindowLimitReached: Error, CustomStringConvertible {
    var limit: Int
    var description: String { "more than \(limit) windows" }
}

/// A classifier that stops a request's work between windows: before each window it checks the
/// request's ``RequestToken`` (client gone, deadline, shutdown) and the window limit, then asks
/// the model. The recognizer calls it once per window, so cancelled work ends within one window.
struct GuardedClassifier: ClipClassifier {
    let base: any ClipClassifier
    let token: RequestToken
    let windows: WindowCounter

    var labels: [String] { base.labels }
    var sampleRate: Int { base.sampleRate }
    var normalization: String { base.normalization }

    func probabilities(samples: [Float]) throws -> [Float] {
        try token.check()
        guard windows.next() else { throw WindowLimitReached(limit: windows.limit) }
        return try base.probabilities(samples: samples)
    }
}

#endif
