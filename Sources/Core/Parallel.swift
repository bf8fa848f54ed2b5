import Foundation

/// Runs work items on several threads, each thread with its own worker state.
public enum Parallel {
    /// Calls `body(worker, item)` for every item in `0..<count`, using `threads` threads.
    /// Items are handed out one at a time (dynamic scheduling); `worker` is in `0..<threads`,
    /// so per-thread state (an FFT plan, scratch buffers) can be indexed by it.
    public static func forEach(count: Int, threads: Int, _ body: @Sendable (_ worker: Int, _ item: Int) -> Void) {
        let n = max(1, min(threads, count))
        if n == 1 { for i in 0..<count { body(0, i) }; return }
        let next = Counter()
        DispatchQueue.concurrentPerform(iterations: n) { worker in
            while true {
                let i = next.take()
                if i >= count { break }
                body(worker, i)
            }
        }
    }

    /// Number of cores available.
    public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func take() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value - 1 }
    }
}

/// A lock-protected box for collecting results from parallel work.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    /// A box holding `value`.
    public init(_ value: Value) { self.value = value }
    /// Runs `body` with exclusive access to the value.
    @discardableResult
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(&value)
    }
}

/// Hands per-thread, non-Sendable state (one element per worker) to `Parallel.forEach`.
///
/// Sound only when each worker touches its own element and nothing else shares it.
public struct PerWorker<T>: @unchecked Sendable {
    /// The wrapped state.
    public let value: T
    /// Wraps `value`.
    public init(_ value: T) { self.value = value }
}
