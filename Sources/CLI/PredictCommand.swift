import ArgumentParser
import Foundation
import SERAudio
import SERCore
import SERRecognizer

/// `ser predict`: the emotion of audio files (or their timeline with `--segment`).
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Recognise the emotion of audio files, folders or standard input.",
        discussion: """
        Prints, per file, the most probable emotion, its confidence and every class probability. The \
        probabilities are calibrated (softmax temperature fitted on validation data, stored in the model \
        file). Leading and trailing non-speech is trimmed with an energy-based voice activity detector; a \
        file without speech is reported as "no speech" (JSON "speech": false, "emotion": null; CSV column \
        speech = false; table "(no speech)") and is not an error. Speech longer than 3 s is classified in \
        3 s windows every 1.5 s and the windows' probabilities are averaged, weighted by the seconds of \
        speech each window stands for. \
        Folders are searched recursively for audio files (wav, flac, ogg, opus, mp3, aiff); `-` reads one \
        file's bytes from standard input. With --segment, long recordings are cut into sliding windows over \
        the speech found by an energy-based voice activity detector and the result is a timeline of emotion \
        segments; --svg also draws it. A file that cannot be read gives an error line naming it, the others \
        are still processed, and the exit status is 1.

        Examples:
          ser predict clip.wav --model model.safetensors
          ser predict corpus/ --format csv > predictions.csv
          ser predict talk.flac --segment --window 3 --hop 1.5 --svg talk.svg
          cat clip.wav | ser predict - --format jsonl
        """)

    /// Output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, jsonl, csv
    }

    @Argument(help: "Audio files, folders (searched recursively), or - for standard input.") var inputs: [String]
    @Option(help: "Model file, or a bundled model by name: default (Whisper-base encoder + STA-CNN head) or handmade (STA-CNN on the paper's hand-made features, no encoder). Default: default.") var model: String?
    @Option(help: "Output format: table, jsonl or csv.") var format: Format = .table
    @Flag(help: "Emotion timeline over sliding windows of speech instead of one emotion per file.") var segment = false
    @Option(help: "Window length in seconds (timeline windows; without --segment, longer speech is split into such windows).")
    var window: Double = 3
    @Option(help: "Hop between windows in seconds.") var hop: Double = 1.5
    @Option(name: .customLong("margin"),
            help: "Seconds of audio kept before and after the speech of a file classified as one clip (0: cut tight).")
    var margin: Double = 1
    @Flag(name: .customLong("keep-silence"),
          help: "Do not skip silent stretches: with --segment the whole recording is speech; without it the whole file is classified as one clip, untrimmed.")
    var keepSilence = false
    @Option(help: "Write the timeline as SVG (implies --segment): a file for one input, a folder for several.")
    var svg: String?
    @Option(help: "Worker threads (default: all cores).") var threads: Int = Parallel.cores
    @Option(name: .customLong("max-duration"), help: "Refuse recordings longer than this (seconds).") var maxDuration: Double?
    @Flag(help: ArgumentHelp("Session adaptation: the inputs are recordings of one voice; z-score every clip's features with the statistics of all of them.",
                             discussion: "Needs a model trained with --normalization speaker; without --model, the bundled `session` model. The output names the normalisation."))
    var session = false
    @Flag(help: "No progress bar.") var quiet = false

    /// One input to recognise.
    struct Job: Sendable {
        var name: String            // as shown in the output
        var url: URL?               // nil: standard input
        var svgName: String         // relative name for --svg folders
    }

    /// What happened to one input.
    enum Outcome: Sendable {
        case prediction(EmotionPrediction)
        case timeline(Timeline)
        case failure(String)
    }

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one file, folder or -") }
        guard inputs.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("- (standard input) can be given once") }
        guard window > 0, hop > 0, hop <= window else { throw ValidationError("need 0 < --hop <= --window") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard margin >= 0, margin.isFinite else { throw ValidationError("--margin must be >= 0 seconds") }
    }

    func run() throws {
        let segmenting = segment || svg != nil
        var jobs: [Job] = []
        var failures: [(String, String)] = []
        for input in inputs {
            if input == "-" { jobs.append(Job(name: "-", url: nil, svgName: "stdin")); continue }
            do {
                var isDir: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: input, isDirectory: &isDir)
                let items = try AudioFiles.collect([input])
                if isDir.boolValue && items.isEmpty { failures.append((input, "\(input): no audio files found")) }
                for item in items {
                    let name = isDir.boolValue ? (input as NSString).appendingPathComponent(item.relativePath) : input
                    jobs.append(Job(name: name, url: item.url, svgName: item.relativePath))
                }
            } catch {
                failures.append((input, "\(error)"))
            }
        }
        let stdinData: Data? = jobs.contains { $0.url == nil } ? (FileHandle.standardInput.readDataToEndOfFile()) : nil
        var classifier = try loadClassifier(modelPath: model ?? (session ? "session" : nil))
        if session {
            guard let base = classifier as? STACNNClassifier else { throw ValidationError("--session needs an STA-CNN model file") }
            // The session's statistics, over every input that decodes (one that does not is
            // reported below, when it is classified).
            let audio = AudioOptions(sampleRate: base.sampleRate, maxDuration: maxDuration)
            var clips: [[Float]] = []
            for job in jobs {
                if let url = job.url { if let c = try? AudioDecoder.load(contentsOf: url, options: audio) { clips.append(c.samples) } }
                else if let data = stdinData, let c = try? AudioDecoder.load(data: data, name: "<stdin>", options: audio) { clips.append(c.samples) }
            }
            guard !clips.isEmpty else { throw ValidationError("--session: none of the inputs could be decoded") }
            classifier = try SessionClassifier(base: base, clips: clips)
        } else if let base = classifier as? STACNNClassifier, base.adaptsToSessions {
            FileHandle.standardError.write(Data(("warning: this model was trained with speaker normalisation; without --session "
                + "each file is normalised by its own statistics alone, which it was not trained for (much lower accuracy). "
                + "Give several recordings of one voice with --session.\n").utf8))
        }
        let recognizer = EmotionRecognizer(classifier: classifier, options: RecognizerOptions(
            maxDuration: maxDuration, trimSilence: !keepSilence, window: window, hop: hop, margin: margin))
        let options = SegmentOptions(window: window, hop: hop, skipSilence: !keepSilence)

        let workers = max(1, min(threads, jobs.count))
        if workers > 1 { BLAS.setThreads(1) }
        let outcomes = Locked([Outcome?](repeating: nil, count: jobs.count))
        let bar = ProgressBar(total: jobs.count, label: "predict", unit: "files", enabled: !quiet && jobs.count > 1)
        let allJobs = jobs
        Parallel.forEach(count: allJobs.count, threads: workers) { _, i in
            let job = allJobs[i]
            let outcome: Outcome
            do {
                switch (job.url, segmenting) {
                case let (url?, false): outcome = .prediction(try recognizer.recognize(file: url))
                case let (url?, true): outcome = .timeline(try recognizer.timeline(file: url, options: options))
                case (nil, false): outcome = .prediction(try recognizer.recognize(data: stdinData ?? Data(), name: "<stdin>"))
                case (nil, true): outcome = .timeline(try recognizer.timeline(data: stdinData ?? Data(), name: "<stdin>", options: options))
                }
            } catch {
                outcome = .failure("\(error)")
            }
            outcomes.withLock { $0[i] = outcome }
            bar.advance()
        }
        bar.finish()

        let results = outcomes.withLock { $0 }
        var printer = PredictionPrinter(format: format, labels: recognizer.labels)
        for (job, outcome) in zip(jobs, results) {
            switch outcome {
            case .prediction(var p)?: p.source = job.name; printer.add(p)
            case .timeline(var t)?:
                t.source = job.name
                printer.add(t)
                if let svg {
                    do { try writeSVG(t, job: job, to: svg, single: jobs.count == 1) } catch {
                        failures.append((job.name, "\(error)"))
                    }
                }
            case .failure(let reason)?: failures.append((job.name, reason))
            case nil: failures.append((job.name, "not processed"))
            }
        }
        print(printer.render(), terminator: "")
        for (name, reason) in failures {
            let line = reason.hasPrefix(name) || (job(named: name, in: jobs).map { reason.hasPrefix($0) } ?? false)
                ? reason : "\(name): \(reason)"
            FileHandle.standardError.write(Data("error: \(line)\n".utf8))
        }
        if !failures.isEmpty {
            FileHandle.standardError.write(Data("predict: \(failures.count) of \(jobs.count + failures.filter { f in !jobs.contains { $0.name == f.0 } }.count) inputs failed\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The decoded path of a job (errors from the decoder name the absolute path).
    private func job(named name: String, in jobs: [Job]) -> String? {
        jobs.first { $0.name == name }.map { $0.url?.path ?? "<stdin>" }
    }

    private func writeSVG(_ t: Timeline, job: Job, to out: String, single: Bool) throws {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: out, isDirectory: &isDir)
        let url: URL
        if single && !(exists && isDir.boolValue) && !out.hasSuffix("/") {
            url = URL(fileURLWithPath: out)
        } else {
            url = URL(fileURLWithPath: out).appendingPathComponent(job.svgName).deletingPathExtension().appendingPathExtension("svg")
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try TimelineSVG.render(t).write(to: url, atomically: true, encoding: .utf8)
    }
}

/// Formats predictions and timelines as a table, JSON lines or CSV.
struct PredictionPrinter {
    let format: PredictCommand.Format
    let labels: [String]
    private var rows: [[String]] = []
    private var lines: [String] = []
    private var segmentRows = false

    init(format: PredictCommand.Format, labels: [String]) {
        self.format = format
        self.labels = labels
    }

    mutating func add(_ p: EmotionPrediction) {
        switch format {
        case .jsonl: lines.append(Self.json(p))
        case .table, .csv:
            // Without speech: "(no speech)" in the table, an empty emotion in CSV; blank probabilities.
            let emotion = p.emotion ?? (format == .table ? "(no speech)" : "")
            let probs = p.speech ? p.probabilities.map { Self.num($0.probability) } : labels.map { _ in "" }
            rows.append([p.source ?? "-", emotion, p.confidence.map(Self.num) ?? ""] + probs
                        + (format == .csv ? [p.speech ? "true" : "false"] : []))
        }
    }

    mutating func add(_ t: Timeline) {
        segmentRows = true
        switch format {
        case .jsonl: lines.append(Self.json(t))
        case .table, .csv:
            for s in t.segments {
                rows.append([t.source ?? "-", String(format: "%.2f", s.start), String(format: "%.2f", s.end), s.emotion,
                             Self.num(s.confidence)] + s.probabilities.map { Self.num($0.probability) })
            }
            if t.segments.isEmpty {
                rows.append([t.source ?? "-", "", "", "(no speech)", ""] + labels.map { _ in "" })
            }
        }
    }

    func render() -> String {
        let header = (segmentRows ? ["file", "start", "end", "emotion", "confidence"] : ["file", "emotion", "confidence"]) + labels
            + (format == .csv && !segmentRows ? ["speech"] : [])
        switch format {
        case .jsonl: return lines.map { $0 + "\n" }.joined()
        case .csv: return ([header] + rows).map { $0.map(Self.csvField).joined(separator: ",") + "\n" }.joined()
        case .table:
            guard !rows.isEmpty else { return "" }
            let all = [header] + rows
            let widths = header.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
            return all.map { row in
                row.enumerated().map { c, v in
                    let pad = String(repeating: " ", count: max(0, widths[c] - v.count))
                    return c == 0 || (!segmentRows && c == 1) || (segmentRows && c == 3) ? v + pad : pad + v
                }.joined(separator: "  ") + "\n"
            }.joined()
        }
    }

    static func num(_ x: Float) -> String { String(format: "%.4f", x) }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func json<T: Encodable>(_ v: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
