import ArgumentParser
import Foundation
import Logging
import SERCore
import SERRecognizer
import SERService

/// `ser serve`: the HTTP recognition service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve emotion recognition over HTTP (POST /v1/recognize, GET /healthz).",
        discussion: """
        POST /v1/recognize takes the audio as the raw body (any format `ser predict` reads) or as \
        multipart/form-data (field "file"); ?segment=true returns a timeline (&window=S&hop=S). Answers are \
        JSON; errors are {"error": {"code", "message"}} with 400 (empty or bad audio), 413 (too large or too \
        long), 415 (unknown format) or 503 (busy: all workers busy and the queue full). GET /healthz reports \
        the model's labels, the version, the limits and the load. SIGINT/SIGTERM stop the server gracefully \
        (requests in flight are finished).

        Example:
          ser serve --model model.safetensors --port 8080 &
          curl --data-binary @clip.wav http://127.0.0.1:8080/v1/recognize
          curl -F file=@talk.flac 'http://127.0.0.1:8080/v1/recognize?segment=true'
        """)

    /// Log output formats.
    enum LogFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0: any free port, printed in the log).") var port = 8080
    @Option(help: "Model file, or a bundled model by name: default (Whisper-base encoder + STA-CNN head) or handmade (STA-CNN on the paper's hand-made features, no encoder). Default: default.") var model: String?
    @Option(name: .customLong("max-body-mb"), help: "Largest request body in MiB.") var maxBodyMB: Double = 25
    @Option(name: .customLong("max-duration-s"), help: "Longest audio in seconds (0: no limit).") var maxDurationS: Double = 600
    @Option(help: "Recognitions running at once (default: all cores).") var concurrency: Int = Parallel.cores
    @Option(help: "Recognitions allowed to wait for a worker; more are answered 503.") var queue: Int = 16
    @Option(name: .customLong("log-format"), help: "Log lines as text or json (one object per line).") var logFormat: LogFormat = .text
    @Option(name: .customLong("log-level"), help: "Lowest log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel: String = "info"

    func validate() throws {
        guard maxBodyMB > 0 else { throw ValidationError("--max-body-mb must be positive") }
        guard maxDurationS >= 0 else { throw ValidationError("--max-duration-s must not be negative") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard queue >= 0 else { throw ValidationError("--queue must not be negative") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
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
        let config = ServiceConfiguration(host: host, port: port, maxBodyBytes: Int(maxBodyMB * 1_048_576),
                                          maxDuration: maxDurationS > 0 ? maxDurationS : nil,
                                          concurrency: concurrency, queueLength: queue)
        let service = try EmotionService(configuration: config, recognizer: EmotionRecognizer(classifier: classifier),
                                         logger: logger)
        logger.info("starting", metadata: ["labels": "\(classifier.labels.joined(separator: ","))",
                                           "concurrency": "\(concurrency)", "queue": "\(queue)",
                                           "max_body_bytes": "\(config.maxBodyBytes)",
                                           "max_duration_s": "\(config.maxDuration.map { "\($0)" } ?? "none")"])
        let app = service.makeApplication()
        try await app.runService()
        service.shutdown()
        logger.info("stopped")
    }
}
