#if Service
import Foundation

/// Why ``WorkQueue`` refused work.
public enum WorkQueueError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Every worker is busy and the queue holds `queued` jobs already.
    case full(running: Int, queued: Int)
    /// The queue was shut down.
    case shutDown

    /// One line with the reason.
    public var description: String {
        switch self {
        case let .full(running, queued): return "the server is busy (\(running) running, \(queued) waiting)"
        case .shutDown: return "the server is shutting down"
        }
    }
}

/// A bounded pool for CPU-bound work kept off the event loops: `workers` threads and at most
/// `queueLength` jobs waiting for one. ``run(_:)`` refuses work beyond that at once (no waiting),
/// so an overloaded service answers 503 quickly instead of piling up requests.
public final class WorkQueue: @unchecked Sendable {
    /// A snapshot of the queue.
    public struct Load: Codable, Sendable, Equatable {
        /// Jobs running now.
        public var running: Int
        /// Jobs waiting for a worker.
        public var queued: Int
        /// Worker threads.
        public var workers: Int
        /// Most jobs allowed to wait.
        public var queueLength: Int
        /// Jobs refused so far because the queue was full.
        public var rejected: Int
    }

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var running = 0
    private var rejected = 0
    private var stopped = false
    private var alive = 0
    /// Worker threads.
    public let workers: Int
    /// Most jobs allowed to wait.
    public let queueLength: Int

    /// Starts `workers` threads (at least 1) with room for `queueLength` waiting jobs.
    public init(workers: Int, queueLength: Int, stackSize: Int = 8 << 20) {
        self.workers = max(1, workers)
        self.queueLength = max(0, queueLength)
        for i in 0..<self.workers {
            let t = Thread { [self] in self.loop() }
            t.name = "ser-worker-\(i)"
            t.stackSize = stackSize
            alive += 1
            t.start()
        }
    }

    /// The current load.
    public var load: Load {
        condition.lock(); defer { condition.unlock() }
        return Load(running: running, queued: jobs.count - head, workers: workers, queueLength: queueLength, rejected: rejected)
    }

    /// Enqueues `job` unless the pool is saturated; returns whether it was accepted.
    public func trySubmit(_ job: @escaping @Sendable () -> Void) throws {
        condition.lock(); defer { condition.unlock() }
        if stopped { throw WorkQueueError.shutDown }
        let queued = jobs.count - head
        guard running + queued < workers + queueLength else {
            rejected += 1
            throw WorkQueueError.full(running: running, queued: queued)
        }
        jobs.append(job)
        condition.signal()
    }

    /// Runs `body` on a worker thread and returns its result.
    /// - Throws: ``WorkQueueError/full(running:queued:)`` at once when saturated, or what `body` throws.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            do {
                try trySubmit {
                    do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
                }
            } catch {
                c.resume(throwing: error)
            }
        }
    }

    /// Runs `body` on a worker thread for a request that may be cancelled: the answer is
    /// ``RequestCancellation`` as soon as `token` is cancelled (client gone, deadline, shutdown),
    /// without waiting for `body`; a job still queued then is skipped when its turn comes, and a
    /// running one stops at its next check of `token`.
    /// - Throws: ``WorkQueueError/full(running:queued:)`` at once when saturated, the token's
    ///   ``RequestCancellation``, or what `body` throws.
    public func run<T: Sendable>(token: RequestToken, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let once = ResumeOnce(c)
            do {
                try trySubmit {
                    if let why = token.cancellation { once.resume(.failure(why)); return }
                    do { once.resume(.success(try body())) } catch { once.resume(.failure(token.cancellation ?? error)) }
                }
            } catch {
                once.resume(.failure(error))
                return
            }
            token.onCancel { once.resume(.failure($0)) }
        }
    }

    /// Refuses new work; the workers finish the queued jobs and exit. Does not wait.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while head == jobs.count && !stopped { condition.wait() }
            if head == jobs.count {
                alive -= 1
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head > 64 && head * 2 > jobs.count { jobs.removeFirst(head); head = 0 }
            running += 1
            condition.unlock()
            job()
            condition.lock()
            running -= 1
            condition.unlock()
        }
    }
}

/// Resumes a continuation once; later results are dropped.
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?

    init(_ c: CheckedContinuation<T, any Error>) { continuation = c }

    func resume(_ result: Result<T, any Error>) {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(with: result)
    }
}

#endif
