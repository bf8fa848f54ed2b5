#if Service
import Foundation
import SERCore
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import UnixSignals
import SERAudio
import SERRecognizer

/// The HTTP service of `ser serve`, on Hummingbird 2.
///
/// Endpoints:
/// - `POST /v1/recognize`: the audio as the raw body (any format the decoder reads) or as
///   `multipart/form-data` with one field, `file`. Answers an ``SERRecognizer/EmotionPrediction``
///   as JSON: leading and trailing non-speech trimmed, long speech combined over windows (see
///   ``SERRecognizer/EmotionRecognizer``), calibrated probabilities; a recording without speech is
///   answered 200 with `"speech": false` and `"emotion": null`. With `?segment=true` (optionally
///   `&window=S&hop=S`, at least ``ServiceConfiguration/minWindow`` and
///   ``ServiceConfiguration/minHop``) a ``SERRecognizer/Timeline``.
/// - `POST /v1/recognize/session`: session adaptation (a model trained with speaker
///   normalisation, e.g. `--model session`): several recordings of one voice as `file` parts of a
///   multipart body; answers each clip's prediction with the features z-scored by the statistics
///   of all of them, and names that normalisation (``SessionAnswer``).
/// - `GET /healthz`: status, version, the model's labels and sample rate, the limits, the open
///   connections and the load.
///
/// Errors are JSON `{"error": {"code": "…", "message": "…"}}` (see ``APIError``): 400 for an empty
/// body, bad/truncated audio, a bad parameter, a malformed multipart body or HTTP framing; 405
/// (with `Allow`) for a wrong method on a known path; 408 when the request does not arrive within
/// the read timeout; 413 for a body or recording over the limits; 415 for an unknown format; 503
/// when the work queue is full or the server is shutting down; 504 past the request deadline.
///
/// Nothing a client does can hold the service: decoding, multipart parsing and inference run on
/// a ``WorkQueue`` (`concurrency` threads, `queueLength` waiting), never on the event loops or
/// Swift's cooperative threads; each request's work is cancelled between windows when its client
/// goes away or its deadline passes; slow and idle connections are closed (read and idle
/// timeouts); the number of connections is bounded without locking out new ones (see
/// ``ConnectionRegistry``); and a shutdown closes whatever is still open after
/// ``ServiceConfiguration/shutdownDeadline``. Each request is logged once (request id, method,
/// path, status, duration in ms) and answered with an `X-Request-Id` header.
///
/// ```swift
/// let service = try EmotionService(configuration: .init(port: 0), recognizer: recognizer)
/// try await service.run { port in print("listening on \(port)") }   // until SIGINT/SIGTERM
/// ```
public final class EmotionService: Sendable {
    /// The version reported by `/healthz`.
    public static let version = SERVersion.current
    /// The paths served, with the methods each accepts (others are answered 405).
    static let routes: [String: [HTTPRequest.Method]] = ["/healthz": [.get], "/v1/recognize": [.post],
                                                          "/v1/recognize/session": [.post]]

    /// The settings.
    public let configuration: ServiceConfiguration
    /// The recognizer, with the configured duration limit.
    public let recognizer: EmotionRecognizer
    /// The bounded pool running decoding and inference.
    public let queue: WorkQueue
    /// The logger for requests and lifecycle events.
    public let logger: Logger
    /// The open connections and their limit.
    public let connections: ConnectionRegistry
    let active = ActiveRequests()
    private let shutdownRequests: (stream: AsyncStream<String>, continuation: AsyncStream<String>.Continuation)

    /// A service for `recognizer` (its classifier is reused with the configuration's duration limit).
    /// - Throws: ``ServiceError/invalidConfiguration(_:)``.
    public init(configuration: ServiceConfiguration, recognizer: EmotionRecognizer,
                logger: Logger = Logger(label: "ser.service")) throws {
        try configuration.validate()
        self.configuration = configuration
        var options = recognizer.options
        options.maxDuration = configuration.maxDuration
        self.recognizer = EmotionRecognizer(classifier: recognizer.classifier, options: options)
        self.queue = WorkQueue(workers: configuration.concurrency, queueLength: configuration.queueLength)
        self.logger = logger
        self.connections = ConnectionRegistry(limit: configuration.maxConnections, logger: logger)
        self.shutdownRequests = AsyncStream<String>.makeStream()
    }

    /// Stops the worker threads once their queued work is done (call after the application returns).
    public func shutdown() { queue.shutdown() }

    /// The router with the endpoints and the logging/error middleware (for in-process use).
    public func makeRouter() -> Router<ServiceRequestContext> {
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.get("healthz") { [self] _, _ in try json(health()) }
        router.post("v1/recognize") { [self] request, context in try await recognize(request, context: context) }
        router.post("v1/recognize/session") { [self] request, context in try await recognizeSession(request, context: context) }
        return router
    }

    /// The Hummingbird application; `onServerRunning` receives the bound port (useful with port 0).
    /// Each connection has the read and idle timeouts and counts towards the connection limit.
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let logger = self.logger
        return Application(
            router: makeRouter(),
            server: GuardedHTTP1.builder(registry: connections, configuration: configuration),
            // A short accept queue (Hummingbird's default, 256): under a connection flood a new
            // connection (a health probe) waits behind at most that many; with 1024 the `/healthz`
            // p99 under benchmarks/service/abuse.sh's flood was 635 ms, with 256 it was 12 ms.
            configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                 serverName: configuration.serverName, backlog: 256),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? -1
                logger.info("listening", metadata: ["host": "\(channel.localAddress?.ipAddress ?? "?")", "port": "\(port)"])
                await onServerRunning(port)
            },
            logger: logger)
    }

    /// Runs the service until `signals` (or ``requestShutdown(reason:)``) ask it to stop, then
    /// shuts down gracefully: no new connections, idle ones closed, requests in flight answered;
    /// after ``ServiceConfiguration/shutdownDeadline`` every connection still open is closed and
    /// the work still running cancelled, so the call returns shortly after the deadline whatever
    /// the clients do. `onShutdown` is called when the shutdown starts. Stops the worker threads
    /// before returning.
    public func run(signals: [UnixSignal] = [.sigterm, .sigint],
                    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
                    onShutdown: @escaping @Sendable () -> Void = {}) async throws {
        let app = makeApplication(onServerRunning: onServerRunning)
        var groupConfiguration = ServiceGroupConfiguration(services: [app], logger: logger)
        // Backstop: should closing the connections not end the server, it is cancelled.
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int64((configuration.shutdownDeadline + 2) * 1000))
        let group = ServiceGroup(configuration: groupConfiguration)
        let signalTask: Task<Void, Never>? = signals.isEmpty ? nil : Task { [self] in
            for await signal in await UnixSignalsSequence(trapping: signals) {
                requestShutdown(reason: "signal \(signal)")
                break
            }
        }
        let controller = Task { [self] in
            for await reason in shutdownRequests.stream {
                onShutdown()
                await shutDown(group, reason: reason)
                break
            }
        }
        defer {
            signalTask?.cancel()
            controller.cancel()
            queue.shutdown()
        }
        try await group.run()
        logger.info("stopped")
    }

    /// Asks a running ``run(signals:onServerRunning:onShutdown:)`` to shut down (as SIGTERM does).
    public func requestShutdown(reason: String = "requested") {
        shutdownRequests.continuation.yield(reason)
    }

    private func shutDown(_ group: ServiceGroup, reason: String) async {
        let deadline = configuration.shutdownDeadline
        logger.notice("shutting down", metadata: ["reason": "\(reason)", "deadline_s": "\(deadline)",
                                                  "connections": "\(connections.snapshot.open)"])
        await group.triggerGracefulShutdown()
        do { try await Task.sleep(nanoseconds: UInt64(deadline * 1e9)) } catch { return }   // finished in time
        let cancelled = active.cancelAll(.shuttingDown)
        let closed = connections.closeAll(.shuttingDown)
        logger.notice("shutdown deadline passed: closing the connections still open",
                      metadata: ["connections": "\(closed)", "cancelled_requests": "\(cancelled)"])
    }

    // MARK: - Endpoints

    /// The limits a client is held to, as `/healthz` reports them.
    public struct Limits: Codable, Sendable, Equatable {
        /// Largest body in bytes.
        public var maxBodyBytes: Int
        /// Longest audio in seconds, if limited.
        public var maxDurationSeconds: Double?
        /// Seconds to receive a request (head to end of body).
        public var readTimeoutSeconds: Double
        /// Seconds an idle connection is kept.
        public var idleTimeoutSeconds: Double
        /// Seconds of work per request.
        public var requestDeadlineSeconds: Double
        /// Seconds a shutdown waits for requests in flight.
        public var shutdownDeadlineSeconds: Double
        /// Most connections open at once.
        public var maxConnections: Int
        /// Shortest timeline window in seconds.
        public var minWindowSeconds: Double
        /// Shortest timeline hop in seconds.
        public var minHopSeconds: Double
        /// Most windows per request.
        public var maxWindows: Int
        /// Most parts in a multipart body.
        public var maxParts: Int
    }

    /// The `/healthz` answer.
    public struct Health: Codable, Sendable, Equatable {
        /// "ok".
        public var status: String
        /// ``EmotionService/version``.
        public var version: String
        /// The model's class names.
        public var labels: [String]
        /// The model's sample rate in Hz.
        public var sampleRate: Int
        /// Largest body in bytes.
        public var maxBodyBytes: Int
        /// Longest audio in seconds, if limited.
        public var maxDurationSeconds: Double?
        /// Every limit.
        public var limits: Limits
        /// Open connections.
        public var connections: ConnectionRegistry.Snapshot
        /// Current load of the work queue.
        public var load: WorkQueue.Load
        /// The processor, e.g. "Intel(R) Xeon(R) Processor (GenuineIntel family 6 model 207, AVX-512)".
        public var cpu: String
        /// The BLAS kernels in use and how they were chosen (``BLASKernel``).
        public var blas: String
    }

    /// The limits of this configuration.
    public var limits: Limits {
        let c = configuration
        return Limits(maxBodyBytes: c.maxBodyBytes, maxDurationSeconds: c.maxDuration, readTimeoutSeconds: c.readTimeout,
                      idleTimeoutSeconds: c.idleTimeout, requestDeadlineSeconds: c.requestDeadline,
                      shutdownDeadlineSeconds: c.shutdownDeadline, maxConnections: c.maxConnections,
                      minWindowSeconds: c.minWindow, minHopSeconds: c.minHop, maxWindows: c.maxWindows, maxParts: c.maxParts)
    }

    /// The current health report.
    public func health() -> Health {
        Health(status: "ok", version: configuration.version, labels: recognizer.labels,
               sampleRate: recognizer.classifier.sampleRate, maxBodyBytes: configuration.maxBodyBytes,
               maxDurationSeconds: configuration.maxDuration, limits: limits, connections: connections.snapshot,
               load: queue.load, cpu: CPUInfo.current.summary, blas: BLASKernel.active.summary)
    }

    /// The timeline options of a request's query, checked: the recognizer's own rules
    /// (``SERRecognizer/SegmentOptions/validate()``), then the service's minimum window and hop.
    /// - Throws: ``APIError`` 400 `invalid_parameter` naming the value and the allowed range.
    public func segmentOptions(window: String?, hop: String?) throws -> SegmentOptions {
        var options = SegmentOptions()
        let maxWindow = configuration.maxDuration ?? 86_400
        func seconds(_ text: String, _ name: String, min: Double) throws -> Double {
            guard let v = Double(text), v.isFinite else {
                throw APIError(status: 400, code: "invalid_parameter", message: "\(name) must be a number of seconds (got \"\(text.prefix(40))\")")
            }
            guard v >= min, v <= maxWindow else {
                throw APIError(status: 400, code: "invalid_parameter",
                               message: "\(name) \(v) s is outside the allowed range \(min)...\(maxWindow) s")
            }
            return v
        }
        if let w = window { options.window = try seconds(w, "window", min: configuration.minWindow) }
        if let h = hop { options.hop = try seconds(h, "hop", min: configuration.minHop) }
        do { try options.validate() } catch let e as RecognizerError {
            throw APIError(status: 400, code: "invalid_parameter", message: e.description)
        }
        return options
    }

    /// The most windows a timeline over `duration` seconds can need with `options` (one speech
    /// region covering it all).
    static func windowBound(duration: Double, options: SegmentOptions) -> Int {
        guard duration > options.window else { return 1 }
        return Int(((duration - options.window) / options.hop).rounded(.up)) + 1
    }

    /// Refuses a declared body over the limit before reading it.
    private func checkDeclaredLength(_ request: Request) throws {
        let limit = configuration.maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw APIError(status: 413, code: "body_too_large", message: "the body has \(declared) bytes, more than the limit of \(limit)")
        }
    }

    /// The whole body, up to the limit; a body that ends before its declared length (the client
    /// went away) is ``RequestCancellation/clientGone``.
    private func readBody(_ request: Request, context: ServiceRequestContext) async throws -> Data {
        let limit = configuration.maxBodyBytes
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw APIError(status: 413, code: "body_too_large", message: "the body is larger than the limit of \(limit) bytes")
        }
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, buffer.readableBytes != declared || !context.channel.isActive {
            throw RequestCancellation.clientGone
        }
        return Data(buffer.readableBytesView)
    }

    /// Runs `work` on the queue under a new request token: cancelled when the connection closes,
    /// at the request deadline, or at the shutdown deadline.
    private func runJob(context: ServiceRequestContext, _ work: @escaping @Sendable (RequestToken) throws -> Data) async throws -> Response {
        let token = RequestToken(deadline: configuration.requestDeadline)
        connections.attach(token, to: context.channel)
        active.add(token)
        defer {
            token.finish()
            active.remove(token)
            connections.detach(token, from: context.channel)
        }
        let answer = try await queue.run(token: token) { try work(token) }
        return jsonResponse(answer, status: .ok)
    }

    private func recognize(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        try checkDeclaredLength(request)
        // Query and content type first: a bad parameter is answered before the body is read.
        let query = request.uri.queryParameters
        let segment = query.get("segment").map { ["true", "1", "yes"].contains($0.lowercased()) } ?? false
        let segmentOptions = segment ? try self.segmentOptions(window: query.get("window"), hop: query.get("hop")) : SegmentOptions()
        let boundary = try request.headers[.contentType].flatMap { try MultipartFormData.boundary(contentType: $0) }
        let body = try await readBody(request, context: context)
        let (recognizer, maxWindows, maxParts) = (self.recognizer, configuration.maxWindows, configuration.maxParts)
        return try await runJob(context: context) { token in
            try RecognitionJob(recognizer: recognizer, token: token, maxWindows: maxWindows, maxParts: maxParts,
                               segment: segment ? segmentOptions : nil).run(body: body, boundary: boundary)
        }
    }

    /// The answer of `POST /v1/recognize/session`.
    public struct SessionAnswer: Codable, Sendable {
        /// The normalisation used for every clip, e.g. "speaker (session adaptation over 3 recordings)".
        public var normalization: String
        /// How many recordings the session's statistics come from.
        public var recordings: Int
        /// One prediction per `file` part, in order (`source`: the part's file name).
        public var predictions: [EmotionPrediction]
    }

    private func recognizeSession(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        try checkDeclaredLength(request)
        guard let boundary = try request.headers[.contentType].flatMap({ try MultipartFormData.boundary(contentType: $0) }) else {
            throw APIError(status: 400, code: "multipart_required",
                           message: "a session is several recordings of one voice: send them as multipart/form-data, each in a field named \"file\"")
        }
        let body = try await readBody(request, context: context)
        let (recognizer, maxParts) = (self.recognizer, configuration.maxParts)
        return try await runJob(context: context) { token in
            try SessionJob(recognizer: recognizer, token: token, maxParts: maxParts)
                .run(body: body, boundary: boundary)
        }
    }
}

/// Session adaptation for one request (issue 12): several recordings of one voice, each in a
/// `file` part; the features of every clip are z-scored with the statistics of all of them
/// (``SERRecognizer/SessionClassifier``), as a speaker-normalised model was trained, and each clip
/// is answered with its prediction. Needs a model trained with speaker normalisation
/// (`ser serve --model session`).
struct SessionJob: Sendable {
    let recognizer: EmotionRecognizer
    let token: RequestToken
    let maxParts: Int

    func run(body: Data, boundary: String) throws -> Data {
        guard let base = recognizer.classifier as? STACNNClassifier, base.adaptsToSessions else {
            throw APIError(status: 400, code: "session_unsupported",
                           message: "this server's model was not trained with speaker normalisation and cannot adapt to a session; start it with --model session")
        }
        let parts = try MultipartFormData.parse(body, boundary: boundary, maxParts: maxParts)
        guard !parts.isEmpty else { throw MultipartError.missingFile }
        for p in parts where p.name != "file" { throw MultipartError.unexpectedField(name: p.name) }
        let audio = AudioOptions(sampleRate: base.sampleRate, maxDuration: recognizer.options.maxDuration,
                                 blockFrames: recognizer.options.blockFrames)
        var clips: [[Float]] = []
        var names: [String] = []
        var total = 0.0
        for (i, p) in parts.enumerated() {
            try token.check()
            let name = p.filename ?? "file \(i + 1)"
            guard !p.data.isEmpty else { throw APIError(status: 400, code: "empty_audio", message: "\(name): the part is empty") }
            let clip: AudioClip
            do { clip = try AudioDecoder.load(data: p.data, name: name, options: audio) } catch { throw APIError.from(error, body: p.data) }
            total += Double(clip.samples.count) / Double(base.sampleRate)
            if let limit = recognizer.options.maxDuration, total > limit {
                throw APIError(status: 413, code: "audio_too_long",
                               message: "the session's recordings last more than \(limit) s together (the limit per request)")
            }
            clips.append(clip.samples)
            names.append(name)
        }
        try token.check()
        let windows = WindowCounter(limit: Int.max)   // the recognizer's own windows, bounded by the duration limit
        do {
            let session = try SessionClassifier(base: base, clips: clips)
            let adapted = EmotionRecognizer(classifier: GuardedClassifier(base: session, token: token, windows: windows),
                                            options: recognizer.options)
            var predictions: [EmotionPrediction] = []
            for (clip, name) in zip(clips, names) {
                var p = try adapted.recognize(samples: clip, sampleRate: base.sampleRate)
                p.source = name
                predictions.append(p)
            }
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return try e.encode(EmotionService.SessionAnswer(normalization: session.normalization, recordings: clips.count,
                                                             predictions: predictions))
        } catch let e as APIError {
            throw e
        } catch {
            if let why = token.cancellation { throw why }
            throw APIError.from(error)
        }
    }
}

/// One request's work on a worker thread: multipart parsing, decoding, recognition and the JSON
/// answer, stopping between windows when the request is cancelled.
struct RecognitionJob: Sendable {
    let recognizer: EmotionRecognizer
    let token: RequestToken
    let maxWindows: Int
    let maxParts: Int
    /// The timeline options, or nil for one prediction.
    let segment: SegmentOptions?

    func run(body: Data, boundary: String?) throws -> Data {
        var data = body
        var name = "upload"
        if let boundary {
            let part = try MultipartFormData.filePart(MultipartFormData.parse(body, boundary: boundary, maxParts: maxParts))
            data = part.data
            name = part.filename ?? name
        }
        guard !data.isEmpty else { throw APIError(status: 400, code: "empty_body", message: "the request has no audio (empty body)") }
        try token.check()
        // The cap is for timelines, whose window and hop the client chooses; a whole-recording
        // answer uses the recognizer's own (3 s every 1.5 s), bounded by the duration limit.
        let windows = WindowCounter(limit: segment == nil ? Int.max : maxWindows)
        let guarded = EmotionRecognizer(classifier: GuardedClassifier(base: recognizer.classifier, token: token, windows: windows),
                                        options: recognizer.options)
        do {
            if let segment {
                // A recording whose header already says it needs too many windows is refused before decoding.
                if let info = try? AudioDecoder.info(data: data, name: name), let frames = info.frames, info.sampleRate > 0 {
                    let duration = Double(frames) / Double(info.sampleRate)
                    let bound = EmotionService.windowBound(duration: duration, options: segment)
                    if bound > maxWindows { throw tooManyWindows(duration: duration, options: segment, needed: bound) }
                }
                return try encode(guarded.timeline(data: data, name: name, options: segment))
            }
            return try encode(guarded.recognize(data: data, name: name))
        } catch let e as APIError {
            throw e
        } catch {
            if let why = token.cancellation { throw why }
            if windows.exceeded { throw tooManyWindows(duration: nil, options: segment ?? SegmentOptions(), needed: nil) }
            throw APIError.from(error, body: data)
        }
    }

    private func tooManyWindows(duration: Double?, options: SegmentOptions, needed: Int?) -> APIError {
        var message = "the timeline needs more than \(maxWindows) windows"
        if let duration, let needed {
            message = String(format: "a %.1f s recording with window %g s and hop %g s needs up to %d windows", duration, options.window, options.hop, needed)
        }
        message += "; allowed: 1...\(maxWindows) windows per request (use a longer hop)"
        return APIError(status: 400, code: "too_many_windows", message: message)
    }

    private func encode<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try e.encode(value)
    }
}

/// Encodes `value` as a JSON response (200).
func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return jsonResponse(try e.encode(value), status: status)
}

func jsonResponse(_ data: Data, status: HTTPResponse.Status) -> Response {
    Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
             body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Answers wrong methods on known paths with 405 and an `Allow` header, logs every request once,
/// and turns every error into a JSON error response. A request whose client went away is logged
/// as such (status 499, nothing sent), not as a server error.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        var failure: APIError?
        var clientGone = false
        do {
            let path = request.uri.path.count > 1 && request.uri.path.hasSuffix("/") ? String(request.uri.path.dropLast()) : request.uri.path
            if let allowed = EmotionService.routes[path], !allowed.contains(request.method) {
                let list = allowed.map(\.rawValue).joined(separator: ", ")
                var r = jsonResponse(APIError(status: 405, code: "method_not_allowed",
                                              message: "\(request.method.rawValue) is not allowed on \(path); use \(list)").json,
                                     status: .methodNotAllowed)
                r.headers[.allow] = list
                failure = APIError(status: 405, code: "method_not_allowed", message: "\(request.method.rawValue) on \(path)")
                response = r
            } else {
                response = try await next(request, context)
            }
        } catch {
            let e = APIError.from(error)
            clientGone = e.status == 499 || !context.channel.isActive
            failure = e
            response = jsonResponse(e.json, status: HTTPResponse.Status(code: e.status))
            if e.status == 503 { response.headers[.retryAfter] = "1" }
        }
        response.headers[.init("X-Request-Id")!] = context.id  // a valid constant field name
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
            "status": "\(clientGone ? 499 : Int(response.status.code))", "duration_ms": "\(String(format: "%.1f", ms))",
        ]
        if clientGone {
            metadata["error"] = "client_closed_request: the client closed the connection before the answer"
            context.logger.log(level: .info, "request abandoned by the client", metadata: metadata)
            return response
        }
        if let failure { metadata["error"] = "\(failure.code): \(failure.message)" }
        let level: Logger.Level = response.status.code == 503 ? .notice : (response.status.code >= 500 ? .warning : .info)
        context.logger.log(level: level, "request", metadata: metadata)
        return response
    }
}

#endif
