import Foundation
import SERCore
import Hummingbird
import Logging
import SERAudio
import SERRecognizer

/// The HTTP service of `ser serve`, on Hummingbird 2.
///
/// Endpoints:
/// - `POST /v1/recognize`: the audio as the raw body (any format the decoder reads) or as
///   `multipart/form-data` (field `file` or `audio`, or the first file part). Answers an
///   ``SERRecognizer/EmotionPrediction`` as JSON: leading and trailing non-speech trimmed, long
///   speech combined over windows (see ``SERRecognizer/EmotionRecognizer``), calibrated
///   probabilities; a recording without speech is answered 200 with `"speech": false` and
///   `"emotion": null`. With `?segment=true` (optionally `&window=S&hop=S`) a ``SERRecognizer/Timeline``.
/// - `GET /healthz`: status, version, the model's labels and sample rate, limits and current load.
///
/// Errors are JSON `{"error": {"code": "…", "message": "…"}}` (see ``APIError``): 400 for an empty
/// body or bad/truncated audio, 413 for a body or recording over the limits, 415 for an unknown
/// format, 503 when the work queue is full. Decoding and inference run on a ``WorkQueue``
/// (`concurrency` threads, `queueLength` waiting), never on the event loops. Each request is logged
/// once (request id, method, path, status, duration in ms) and answered with an `X-Request-Id` header.
///
/// ```swift
/// let service = try EmotionService(configuration: .init(port: 0), recognizer: recognizer)
/// let app = service.makeApplication { port in print("listening on \(port)") }
/// try await app.runService()   // until SIGINT/SIGTERM
/// service.shutdown()
/// ```
public final class EmotionService: Sendable {
    /// The version reported by `/healthz`.
    public static let version = SERVersion.current

    /// The settings.
    public let configuration: ServiceConfiguration
    /// The recognizer, with the configured duration limit.
    public let recognizer: EmotionRecognizer
    /// The bounded pool running decoding and inference.
    public let queue: WorkQueue
    /// The logger for requests and lifecycle events.
    public let logger: Logger

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
    }

    /// Stops the worker threads once their queued work is done (call after the application returns).
    public func shutdown() { queue.shutdown() }

    /// The router with the endpoints and the logging/error middleware (for in-process use).
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.get("healthz") { [self] _, _ in try json(health()) }
        router.post("v1/recognize") { [self] request, context in try await recognize(request, context: context) }
        return router
    }

    /// The Hummingbird application; `onServerRunning` receives the bound port (useful with port 0).
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let logger = self.logger
        return Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                 serverName: configuration.serverName),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? -1
                logger.info("listening", metadata: ["host": "\(channel.localAddress?.ipAddress ?? "?")", "port": "\(port)"])
                await onServerRunning(port)
            },
            logger: logger)
    }

    // MARK: - Endpoints

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
        /// Current load of the work queue.
        public var load: WorkQueue.Load
        /// The processor, e.g. "Intel(R) Xeon(R) Processor (GenuineIntel family 6 model 207, AVX-512)".
        public var cpu: String
        /// The BLAS kernels in use and how they were chosen (``BLASKernel``).
        public var blas: String
    }

    /// The current health report.
    public func health() -> Health {
        Health(status: "ok", version: configuration.version, labels: recognizer.labels,
               sampleRate: recognizer.classifier.sampleRate, maxBodyBytes: configuration.maxBodyBytes,
               maxDurationSeconds: configuration.maxDuration, load: queue.load,
               cpu: CPUInfo.current.summary, blas: BLASKernel.active.summary)
    }

    private func recognize(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let limit = configuration.maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw APIError(status: 413, code: "body_too_large", message: "the body has \(declared) bytes, more than the limit of \(limit)")
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw APIError(status: 413, code: "body_too_large", message: "the body is larger than the limit of \(limit) bytes")
        }
        var data = Data(buffer.readableBytesView)
        var name = "upload"
        if let type = request.headers[.contentType], let boundary = try MultipartFormData.boundary(contentType: type) {
            let parts = try MultipartFormData.parse(data, boundary: boundary)
            guard let part = MultipartFormData.filePart(parts) else {
                throw APIError(status: 400, code: "missing_file", message: "the multipart body has no file part (name it \"file\")")
            }
            data = part.data
            name = part.filename ?? part.name ?? name
        }
        guard !data.isEmpty else { throw APIError(status: 400, code: "empty_body", message: "the request has no audio (empty body)") }

        let query = request.uri.queryParameters
        let segment = query.get("segment").map { ["true", "1", "yes"].contains($0.lowercased()) } ?? false
        var options = SegmentOptions()
        if let w = query.get("window") {
            guard let v = Double(w) else { throw APIError(status: 400, code: "invalid_parameter", message: "window must be a number of seconds") }
            options.window = v
        }
        if let h = query.get("hop") {
            guard let v = Double(h) else { throw APIError(status: 400, code: "invalid_parameter", message: "hop must be a number of seconds") }
            options.hop = v
        }
        let recognizer = self.recognizer
        let upload = data, uploadName = name, segmentOptions = options
        do {
            if segment {
                let t = try await queue.run { try recognizer.timeline(data: upload, name: uploadName, options: segmentOptions) }
                return try json(t)
            }
            let p = try await queue.run { try recognizer.recognize(data: upload, name: uploadName) }
            return try json(p)
        } catch {
            throw APIError.from(error, body: upload)
        }
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

/// Logs every request once and turns every error into a JSON error response.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        var failure: APIError?
        do {
            response = try await next(request, context)
        } catch {
            let e = APIError.from(error)
            failure = e
            response = jsonResponse(e.json, status: HTTPResponse.Status(code: e.status))
            if e.status == 503 { response.headers[.retryAfter] = "1" }
        }
        response.headers[.init("X-Request-Id")!] = context.id  // a valid constant field name
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
            "status": "\(response.status.code)", "duration_ms": "\(String(format: "%.1f", ms))",
        ]
        if let failure { metadata["error"] = "\(failure.code): \(failure.message)" }
        let level: Logger.Level = response.status.code == 503 ? .notice : (response.status.code >= 500 ? .warning : .info)
        context.logger.log(level: level, "request", metadata: metadata)
        return response
    }
}
