#if Service
import ArgumentParser
import Foundation
import Logging
import SERCore
import SERRecognizer
import SERService
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ser serve`: the HTTP recognition service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve emotion recognition over HTTP (POST /v1/recognize, GET /healthz).",
        discussion: """
        POST /v1/recognize takes the audio as the raw body (any format `ser predict` reads) or as \
        multipart/form-data with one field, "file"; ?segment=true returns a timeline (&window=S&hop=S, at \
        least --min-window-s and --min-hop-s, at most --max-windows windows). POST /v1/recognize/session takes \
        several recordings of one voice as "file" parts and answers each with the session's normalisation (a \
        model trained with speaker normalisation: --model session). Answers are JSON; errors are \
        {"error": {"code", "message"}} with 400 (empty or bad audio, bad parameter, other multipart fields, \
        malformed HTTP framing), 405 (wrong method; see the Allow header), 408 (request not received within \
        --read-timeout-s), 413 (too large or too long), 415 (unknown format), 503 (busy: all workers busy and \
        the queue full; or shutting down) or 504 (work past --request-deadline-s). GET /healthz reports the \
        model's labels, the version, every limit, the open connections and the load.

        Limits that keep one client from holding the service: a request must arrive within \
        --read-timeout-s; an idle connection is closed after --idle-timeout-s; at most --max-connections are \
        open (a new one closes the longest-idle one, so /healthz keeps answering); the work of a request \
        stops between windows when its client disconnects or after --request-deadline-s. SIGINT/SIGTERM \
        stop the server gracefully (requests in flight are answered); after --shutdown-deadline-s the \
        connections still open are closed and the process exits.

        Example:
          ser serve --model model.safetensors --port 8080 &
          curl --data-binary @clip.wav http://127.0.0.1:8080/v1/recognize
          curl -F file=@talk.flac 'http://127.0.0.1:8080/v1/recognize?segment=true'
        """)

    /// Log output formats.
    enum LogFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    /// The library's defaults, which the options below show and start from.
    static let defaults = ServiceConfiguration()

    @Option(help: "Address to bind.") var host = Self.defaults.host
    @Option(help: "Port to bind (0: any free port, printed in the log).") var port = Self.defaults.port
    @Option(help: "Model file, or a bundled model by name: default (Whisper-base encoder + STA-CNN head), handmade (STA-CNN on the paper's hand-made features, no encoder) or session (speaker normalisation, for /v1/recognize/session). Default: default.") var model: String?
    @Option(name: .customLong("max-body-mb"), help: "Largest request body in MiB.") var maxBodyMB = Double(Self.defaults.maxBodyBytes) / 1_048_576
    @Option(name: .customLong("max-duration-s"), help: "Longest audio in seconds (0: no limit).") var maxDurationS = Self.defaults.maxDuration ?? 0
    @Option(help: "Recognitions running at once (default: all cores).") var concurrency: Int = Parallel.cores
    @Option(help: "Recognitions allowed to wait for a worker; more are answered 503.") var queue = Self.defaults.queueLength
    @Option(name: .customLong("read-timeout-s"), help: "Seconds a request may take to arrive, head to end of body; slower is answered 408 and closed.")
    var readTimeoutS = Self.defaults.readTimeout
    @Option(name: .customLong("idle-timeout-s"), help: "Seconds a connection may stay silent (between requests, or while its head arrives) before it is closed.")
    var idleTimeoutS = Self.defaults.idleTimeout
    @Option(name: .customLong("max-connections"), help: "Most connections open at once; a new one closes the longest-idle one. Below the open-file limit (ulimit -n, raised to its hard limit when needed) less 64. Default: 4096, or less under a lower hard limit.")
    var maxConnections: Int = ServeCommand.defaultMaxConnections

    /// 4096, or what the hard open-file limit allows.
    static var defaultMaxConnections: Int {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0, r.rlim_max < rlim_t(Int.max) else { return 4096 }
        return max(1, min(4096, Int(clamping: r.rlim_max) - ServiceConfiguration.reservedDescriptors))
    }
    @Option(name: .customLong("request-deadline-s"), help: "Seconds of work (queue wait, decoding, recognition) per request; then 504 and the work stops.")
    var requestDeadlineS = Self.defaults.requestDeadline
    @Option(name: .customLong("shutdown-deadline-s"), help: "Seconds SIGTERM/SIGINT waits for requests in flight before closing every connection.")
    var shutdownDeadlineS = Self.defaults.shutdownDeadline
    @Option(name: .customLong("min-window-s"), help: "Shortest timeline window (?window=) in seconds.") var minWindowS = Self.defaults.minWindow
    @Option(name: .customLong("min-hop-s"), help: "Shortest timeline hop (?hop=) in seconds.") var minHopS = Self.defaults.minHop
    @Option(name: .customLong("max-windows"), help: "Most windows classified for one request.") var maxWindows = Self.defaults.maxWindows
    @Option(name: .customLong("max-parts"), help: "Most parts in a multipart/form-data body.") var maxParts = Self.defaults.maxParts
    @Option(name: .customLong("log-format"), help: "Log lines as text or json (one object per line).") var logFormat: LogFormat = .text
    @Option(name: .customLong("log-level"), help: "Lowest log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel: String = "info"

    /// The service settings from the options.
    var serviceConfiguration: ServiceConfiguration {
        ServiceConfiguration(host: host, port: port, maxBodyBytes: Int(min(maxBodyMB, 4096) * 1_048_576),
                             maxDuration: maxDurationS > 0 ? maxDurationS : nil,
                             concurrency: concurrency, queueLength: queue,
                             readTimeout: readTimeoutS, idleTimeout: idleTimeoutS, maxConnections: maxConnections,
                             requestDeadline: requestDeadlineS, shutdownDeadline: shutdownDeadlineS,
                             minWindow: minWindowS, minHop: minHopS, maxWindows: maxWindows, maxParts: maxParts)
    }

    func validate() throws {
        guard maxBodyMB > 0, maxBodyMB.isFinite, maxBodyMB <= 4096 else { throw ValidationError("--max-body-mb \(maxBodyMB) is not in (0, 4096]") }
        guard maxDurationS >= 0, maxDurationS.isFinite else { throw ValidationError("--max-duration-s must be a number >= 0") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        Self.raiseFileLimit(to: maxConnections + ServiceConfiguration.reservedDescriptors)
        do { try serviceConfiguration.validate() } catch let e as ServiceError { throw ValidationError(e.description) }
    }

    /// Raises the soft open-file limit towards `wanted` (up to the hard limit), so the connection
    /// limit fits in it.
    static func raiseFileLimit(to wanted: Int) {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0, r.rlim_cur < rlim_t(Int.max), Int(clamping: r.rlim_cur) < wanted else { return }
        r.rlim_cur = r.rlim_max >= rlim_t(Int.max) ? rlim_t(wanted) : min(r.rlim_max, rlim_t(wanted))
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &r)
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = logFormat == .json
        LoggingSystem.bootstrap { label in
            var h: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "ser.service")
        let classifier = try loadClassifier(modelPath: model)
        if concurrency > 1 { BLAS.setThreads(1) }
        let config = serviceConfiguration
        let service = try EmotionService(configuration: config, recognizer: EmotionRecognizer(classifier: classifier),
                                         logger: logger)
        let l = service.limits
        logger.info("starting", metadata: ["labels": "\(classifier.labels.joined(separator: ","))",
                                           "concurrency": "\(concurrency)", "queue": "\(queue)",
                                           "max_body_bytes": "\(config.maxBodyBytes)",
                                           "max_duration_s": "\(config.maxDuration.map { "\($0)" } ?? "none")",
                                           "read_timeout_s": "\(l.readTimeoutSeconds)", "idle_timeout_s": "\(l.idleTimeoutSeconds)",
                                           "max_connections": "\(l.maxConnections)", "request_deadline_s": "\(l.requestDeadlineSeconds)",
                                           "shutdown_deadline_s": "\(l.shutdownDeadlineSeconds)"])
        let deadline = config.shutdownDeadline
        try await service.run(onShutdown: {
            // Last resort: the service closes every connection at the deadline and should return
            // at once; should anything still hold it 5 s later, the process ends anyway.
            DispatchQueue.global().asyncAfter(deadline: .now() + deadline + 5) {
                logger.critical("shutdown did not finish \(deadline + 5) s after the signal; exiting")
                Foundation.exit(1)
            }
        })
    }
}

#endif
