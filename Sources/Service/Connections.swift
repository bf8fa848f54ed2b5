#if Service
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// The request context of the service: Hummingbird's core context and the connection's channel,
/// so a handler can tell whether its client is still there and tie its work to the connection.
public struct ServiceRequestContext: RequestContext {
    /// Hummingbird's per-request storage (logger, id, …).
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    public let channel: any Channel

    /// A context for a request arriving on `source.channel`.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// The open connections, with the limit on their number.
///
/// A connection is *busy* from the end of its request until the end of its response (its work
/// is queued or running), otherwise *open* (idle between requests, or still sending a request).
/// When a new connection arrives at the limit, the open connection that has gone longest
/// without traffic (one that never sent a request first) is closed to make room, so a flood of idle or slow connections cannot stop
/// `/healthz` or real requests from being accepted; only when every connection is busy is the
/// new one closed instead. Closing a connection, or the client closing its side of it, cancels
/// the work of its requests.
public final class ConnectionRegistry: @unchecked Sendable {
    /// A count of connections for `/healthz`.
    public struct Snapshot: Codable, Sendable, Equatable {
        /// Connections open now.
        public var open: Int
        /// Most connections open at once.
        public var limit: Int
        /// Connections closed to make room for new ones, so far.
        public var evicted: Int
        /// New connections closed at once because every connection was busy, so far.
        public var refused: Int
    }

    /// One connection.
    final class Record: @unchecked Sendable {
        let channel: any Channel
        // Guarded by the registry's lock.
        var busy = false
        var used = false
        var lastActivity: UInt64
        var tokens: [RequestToken] = []
        var closed = false

        init(channel: any Channel, now: UInt64) {
            self.channel = channel
            self.lastActivity = now
        }
    }

    private let lock = NSLock()
    private var records: [ObjectIdentifier: Record] = [:]
    private var evicted = 0
    private var refused = 0
    /// Most connections open at once.
    public let limit: Int
    let logger: Logger

    init(limit: Int, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The current counts.
    public var snapshot: Snapshot {
        lock.lock(); defer { lock.unlock() }
        return Snapshot(open: records.count, limit: limit, evicted: evicted, refused: refused)
    }

    /// Registers a new connection, closing another one (or this one) at the limit.
    func open(_ channel: any Channel) -> Record {
        let record = Record(channel: channel, now: Self.now())
        var victim: Record?
        var refuse = false
        lock.lock()
        if records.count >= limit {
            // The longest-idle connection that never sent a request, else the longest-idle one
            // (one pass, no allocation).
            var unused: Record?, any: Record?
            for r in records.values where !r.busy {
                if !r.used, unused.map({ r.lastActivity < $0.lastActivity }) ?? true { unused = r }
                if any.map({ r.lastActivity < $0.lastActivity }) ?? true { any = r }
            }
            victim = unused ?? any
            if let v = victim {
                records[ObjectIdentifier(v.channel)] = nil
                v.closed = true
                evicted += 1
            } else {
                refuse = true
                refused += 1
                record.closed = true
            }
        }
        if !refuse { records[ObjectIdentifier(channel)] = record }
        lock.unlock()
        if let v = victim {
            logger.debug("connection limit reached: closing the longest-idle connection", metadata: ["limit": "\(limit)"])
            close(v, why: .clientGone)
        }
        if refuse {
            logger.notice("connection limit reached and every connection is busy: refusing a new connection", metadata: ["limit": "\(limit)"])
            channel.close(promise: nil)
        }
        return record
    }

    /// Closes `record`'s channel and cancels its work.
    private func close(_ record: Record, why: RequestCancellation) {
        lock.lock()
        let tokens = record.tokens
        record.tokens = []
        lock.unlock()
        for t in tokens { t.cancel(why) }
        record.channel.close(promise: nil)
    }

    /// The connection closed: forget it and cancel the work of its requests.
    func closed(_ record: Record) {
        lock.lock()
        if let r = records[ObjectIdentifier(record.channel)], r === record { records[ObjectIdentifier(record.channel)] = nil }
        record.closed = true
        let tokens = record.tokens
        record.tokens = []
        lock.unlock()
        for t in tokens { t.cancel(.clientGone) }
    }

    /// The client hung up (closed its side): cancel the work of its requests.
    func cancelWork(of record: Record) {
        lock.lock()
        record.closed = true
        let tokens = record.tokens
        record.tokens = []
        lock.unlock()
        for t in tokens { t.cancel(.clientGone) }
    }

    /// Marks traffic on `record`, and whether its work is under way.
    func mark(_ record: Record, busy: Bool) {
        lock.lock()
        record.busy = busy
        record.used = true
        record.lastActivity = Self.now()
        lock.unlock()
    }

    /// Ties `token` to the connection on `channel`: the work is cancelled when it closes
    /// (at once when it already has).
    func attach(_ token: RequestToken, to channel: any Channel) {
        lock.lock()
        guard let r = records[ObjectIdentifier(channel)], !r.closed else {
            lock.unlock()
            token.cancel(.clientGone)
            return
        }
        r.tokens.append(token)
        lock.unlock()
    }

    /// Forgets `token` (its request is answered).
    func detach(_ token: RequestToken, from channel: any Channel) {
        lock.lock()
        if let r = records[ObjectIdentifier(channel)] { r.tokens.removeAll { $0 === token } }
        lock.unlock()
    }

    /// Closes every connection (the shutdown deadline); returns how many.
    @discardableResult
    func closeAll(_ why: RequestCancellation) -> Int {
        lock.lock()
        let all = Array(records.values)
        lock.unlock()
        for r in all { close(r, why: why) }
        return all.count
    }
}

/// The request arrived too slowly: its head was read but not its whole body within the read timeout.
public struct RequestReadTimeout: Error, CustomStringConvertible, Sendable {
    /// The read timeout in seconds.
    public var seconds: Double
    /// One line with the reason.
    public var description: String { "the request was not received within the read timeout of \(seconds) s" }
}

/// Per-connection guard in the HTTP pipeline (after HTTP decoding):
/// - registers the connection with the ``ConnectionRegistry`` (which enforces the limit) and
///   cancels its requests' work when it closes;
/// - gives each request ``ServiceConfiguration/readTimeout`` from its head to the end of its
///   body; a slower one is failed with ``RequestReadTimeout`` (the service answers 408);
/// - closes the connection after any response written before its request was fully received
///   (an early 413, 408 or 400), so a client that keeps sending cannot hold it.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let registry: ConnectionRegistry
    private let readTimeout: TimeAmount
    private let readTimeoutSeconds: Double
    private var record: ConnectionRegistry.Record?
    private var readTimer: Scheduled<Void>?
    private var requestOpen = false

    init(registry: ConnectionRegistry, readTimeout: Double) {
        self.registry = registry
        self.readTimeoutSeconds = readTimeout
        self.readTimeout = .nanoseconds(Int64(readTimeout * 1e9))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        record = registry.open(context.channel)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        readTimer?.cancel()
        readTimer = nil
        if let record { registry.closed(record) }
        record = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        readTimer?.cancel()
        readTimer = nil
        if let record { registry.closed(record) }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client closed its side (the channel allows half-closure): as nginx does, a request
        // still being worked on is treated as abandoned and its work cancelled.
        if case ChannelEvent.inputClosed = event, let record { registry.cancelWork(of: record) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head:
            requestOpen = true
            if let record { registry.mark(record, busy: false) }
            readTimer?.cancel()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            readTimer = context.eventLoop.scheduleTask(in: readTimeout) {
                let (handler, context) = loopBound.value
                handler.readTimedOut(context: context)
            }
        case .body:
            if let record { registry.mark(record, busy: false) }
        case .end:
            requestOpen = false
            readTimer?.cancel()
            readTimer = nil
            if let record { registry.mark(record, busy: true) }
        }
        context.fireChannelRead(data)
    }

    private func readTimedOut(context: ChannelHandlerContext) {
        readTimer = nil
        guard requestOpen else { return }
        // The body stream fails with the timeout; the handler answers 408 and the connection is
        // closed after that answer (see write).
        context.fireErrorCaught(RequestReadTimeout(seconds: readTimeoutSeconds))
        // Should the answer not come (no handler reading), close anyway a little later.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .seconds(2)) { loopBound.value.close(promise: nil) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        if requestOpen {
            // Answered before the request was fully received: the rest is not worth reading.
            context.writeAndFlush(data, promise: promise)
            context.close(promise: nil)
        } else {
            if let record { registry.mark(record, busy: false) }
            context.write(data, promise: promise)
        }
    }
}

/// Hummingbird's HTTP/1 child channel with a ``ConnectionGuard`` in each connection's pipeline
/// and an idle timeout.
struct GuardedHTTP1 {
    /// The server builder for `Application(server:)`.
    static func builder(registry: ConnectionRegistry, configuration: ServiceConfiguration) -> HTTPServerBuilder {
        let readTimeout = configuration.readTimeout
        let idle = TimeAmount.nanoseconds(Int64(configuration.idleTimeout * 1e9))
        return .http1(configuration: .init(
            additionalChannelHandlers: [ConnectionGuard(registry: registry, readTimeout: readTimeout)],
            idleTimeout: idle))
    }
}

#endif
