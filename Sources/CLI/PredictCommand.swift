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

        Output: jsonl and csv rows are written as each file finishes, in input order. One row per file, or \
        with --segment one per segment (--windows: per window), in one schema: file, start, end, duration, \
        speech, emotion, confidence, probabilities (JSON: a {"label": p} map; CSV: one column per label), \
        windows, speechDuration, normalization; numbers at full precision (README "Output format"). \
        With several folders, --svg mirrors each under the folder's name; two inputs that would share an \
        SVG are refused before any work. --shard splits the inputs over processes; each writes \
        --output with its shard number (out.jsonl -> out.shard-3-of-8.jsonl) and `ser merge` joins them.

        Examples:
          ser predict clip.wav --model model.safetensors
          ser predict corpus/ --format csv > predictions.csv
          ser predict talk.flac --segment --window 3 --hop 1.5 --svg talk.svg
          cat clip.wav | ser predict - --format jsonl
          ser predict corpus/ --format jsonl --shard 3/8 --output preds.jsonl
        """)

    /// Output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, jsonl, csv
    }

    @Argument(help: "Audio files, folders (searched recursively), or - for standard input.") var inputs: [String]
    @Option(help: "Model file, or a bundled model by name: default (Whisper-base encoder + STA-CNN head) or handmade (STA-CNN on the paper's hand-made features, no encoder). Default: default.") var model: String?
    @Option(help: "Output format: table, jsonl or csv.") var format: Format = .table
    @Option(name: .customLong("output"), help: ArgumentHelp("Write the results to this file instead of standard output (with --shard: its shard's file, e.g. out.shard-3-of-8.jsonl).", valueName: "file"))
    var output: String?
    @Flag(help: "Emotion timeline over sliding windows of speech instead of one emotion per file.") var segment = false
    @Option(help: "Window length in seconds (timeline windows; without --segment, longer speech is split into such windows).")
    var window = RecognizerOptions().window
    @Option(help: "Hop between windows in seconds.") var hop = RecognizerOptions().hop
    @Option(name: .customLong("margin"),
            help: "Seconds of audio kept before and after the speech of a file classified as one clip (0: cut tight).")
    var margin = RecognizerOptions().margin
    @Flag(name: .customLong("keep-silence"),
          help: "Do not skip silent stretches: with --segment the whole recording is speech; without it the whole file is classified as one clip, untrimmed.")
    var keepSilence = false
    @Option(help: "Write the timeline as SVG (implies --segment): a file for one input, a folder for several.")
    var svg: String?
    @Option(help: "Threads in all (default: all cores): several files are recognised one per thread; with one file (or --threads 1) its matrix products get them.") var threads: Int = Parallel.cores
    @Option(name: .customLong("max-duration"),
            help: "Refuse recordings longer than this many seconds (0: no limit). Recordings over 2 minutes are decoded as a stream, so memory stays flat however long they are.")
    var maxDuration: Double = RecognizerOptions.defaultMaxDuration

    /// The duration limit, nil for none.
    private var durationLimit: Double? { maxDuration > 0 ? maxDuration : nil }
    @Flag(help: ArgumentHelp("Session adaptation: the inputs are recordings of one voice; z-score every clip's features with the statistics of all of them.",
                             discussion: "Needs a model trained with --normalization speaker; without --model, the bundled `session` model. The output names the normalisation."))
    var session = false
    @Flag(help: "With --segment: one row per classified window instead of per merged segment.") var windows = false
    @Flag(help: "No progress bar.") var quiet = false
    @OptionGroup var sharding: ShardOptions

    /// One input to recognise.
    struct Job: Sendable {
        var name: String            // as shown in the output
        var url: URL?               // nil: standard input
        var root: String            // the argument it was found under
        var rootIsFolder: Bool
        var relativePath: String    // relative to the root (its name for a file argument)
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
        guard maxDuration >= 0, maxDuration.isFinite else { throw ValidationError("--max-duration must be a number of seconds >= 0 (0: no limit)") }
        if windows && !(segment || svg != nil) { throw ValidationError("--windows needs --segment") }
    }

    /// Copies standard input to a temporary file in 1 MiB pieces.
    static func spoolStandardInput() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ser-stdin-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let out = try? FileHandle(forWritingTo: url) else {
            throw AudioError.io(path: "<stdin>", reason: "cannot create a temporary copy in \(url.deletingLastPathComponent().path)")
        }
        defer { try? out.close() }
        do {
            while let piece = try FileHandle.standardInput.read(upToCount: 1 << 20), !piece.isEmpty { try out.write(contentsOf: piece) }
        } catch {
            try? FileManager.default.removeItem(at: url)
            throw AudioError.io(path: "<stdin>", reason: "cannot read standard input (\(error.localizedDescription))")
        }
        return url
    }

    func run() throws {
        let segmenting = segment || svg != nil
        var jobs: [Job] = []
        var failures: [(String, String)] = []
        for input in inputs {
            if input == "-" { jobs.append(Job(name: "-", url: nil, root: "-", rootIsFolder: false, relativePath: "stdin")); continue }
            do {
                let isDir = ObjCBool(FileNames.isDirectory(input))   // byte-exact names (FileNames)
                let items = try AudioFiles.collect([input])
                if isDir.boolValue && items.isEmpty { failures.append((input, "\(input): no audio files found")) }
                for item in items {
                    let name = isDir.boolValue ? (input as NSString).appendingPathComponent(item.relativePath) : input
                    jobs.append(Job(name: name, url: item.url, root: input, rootIsFolder: isDir.boolValue, relativePath: item.relativePath))
                }
            } catch {
                failures.append((input, "\(error)"))
            }
        }
        // The run's inputs (every shard's); --session statistics are computed over all of them.
        let allJobs = jobs
        let (shard, origin) = try sharding.resolve()
        if !shard.isWhole {
            guard format != .table else { throw ValidationError("shard \(shard) (from \(origin)): use --format jsonl or csv (`ser merge` joins those), or --shard 0/1 for one whole run") }
            guard output != nil else { throw ValidationError("shard \(shard) (from \(origin)): give --output FILE (each shard writes FILE with its shard number), or --shard 0/1 for one whole run") }
            guard !inputs.contains("-") else { throw ValidationError("- (standard input) cannot be sharded") }
            jobs = shard.select(jobs, name: \.name)
            FileHandle.standardError.write(Data(shard.note(command: "predict", origin: origin, selected: jobs.count, of: allJobs.count).utf8))
        }
        // Where each timeline's SVG goes (a folder mirrors the inputs; refused before any work if two would collide).
        let svgTargets = try svg.map { try svgURLs(for: jobs, to: $0, single: allJobs.count == 1) }
        // Standard input is copied to a temporary file first, so a long recording piped in is decoded
        // as a stream like any file and memory does not grow with it; the copy goes when the run ends.
        let stdinFile: URL? = allJobs.contains { $0.url == nil } ? try Self.spoolStandardInput() : nil
        defer { if let stdinFile { try? FileManager.default.removeItem(at: stdinFile) } }
        var classifier = try loadClassifier(modelPath: model ?? (session ? "session" : nil))
        if session {
            guard let base = classifier as? STACNNClassifier else { throw ValidationError("--session needs an STA-CNN model file") }
            // The session's statistics, over every input that decodes (one that does not is
            // reported below, when it is classified).
            let audio = AudioOptions(sampleRate: base.sampleRate, maxDuration: durationLimit)
            var clips: [[Float]] = []
            for job in allJobs {
                if let url = job.url ?? stdinFile, let c = try? AudioDecoder.load(contentsOf: url, options: audio) { clips.append(c.samples) }
            }
            guard !clips.isEmpty else { throw ValidationError("--session: none of the inputs could be decoded") }
            classifier = try SessionClassifier(base: base, clips: clips)
        } else if let base = classifier as? STACNNClassifier, base.adaptsToSessions {
            FileHandle.standardError.write(Data(("warning: this model was trained with speaker normalisation; without --session "
                + "each file is normalised by its own statistics alone, which it was not trained for (much lower accuracy). "
                + "Give several recordings of one voice with --session.\n").utf8))
        }
        let recognizer = EmotionRecognizer(classifier: classifier, options: RecognizerOptions(
            maxDuration: durationLimit, trimSilence: !keepSilence, window: window, hop: hop, margin: margin))
        let options = SegmentOptions(window: window, hop: hop, skipSilence: !keepSilence)

        let normalization = classifier.normalization
        let sink = try RowSink(format: format, labels: recognizer.labels, timed: segmenting,
                               path: output.map { shard.fileName(for: $0) }, partial: !shard.isWhole)

        let workers = max(1, min(threads, jobs.count))
        // --threads is the run's whole budget. Several files: one per worker, each worker's matrix
        // products on its own thread. One worker (one file, or --threads 1): the products get the
        // budget (never more than OPENBLAS_NUM_THREADS). Left alone, OpenBLAS would use every core
        // under --threads 1 too, and a "one-thread" run would not be one.
        BLAS.setThreads(workers > 1 ? 1 : min(threads, BLAS.threads))
        let bar = ProgressBar(total: jobs.count, label: "predict", unit: "files", enabled: !quiet && jobs.count > 1)
        let runJobs = jobs
        let perWindow = windows
        // Results leave in input order, each as soon as every earlier one is out.
        let failed = Locked<[(String, String)]>([])
        let emitter = InOrderEmitter<Outcome> { i, outcome in
            let job = runJobs[i]
            switch outcome {
            case .prediction(var p): p.source = job.name; sink.write([ResultRow(p)])
            case .timeline(let t):
                sink.write(perWindow ? t.windowRows(file: job.name, normalization: normalization)
                                     : t.segmentRows(file: job.name, normalization: normalization))
            case .failure(let reason):
                failed.withLock { $0.append((job.name, reason)) }
                let line = reason.hasPrefix(job.name) || reason.hasPrefix(job.url?.path ?? "<stdin>") ? reason : "\(job.name): \(reason)"
                FileHandle.standardError.write(Data("error: \(line)\n".utf8))
            }
        }
        Parallel.forEach(count: runJobs.count, threads: workers) { _, i in
            let job = runJobs[i]
            var outcome: Outcome
            do {
                switch (job.url ?? stdinFile, segmenting) {
                case let (url?, false): outcome = .prediction(try recognizer.recognize(file: url))
                case let (url?, true): outcome = .timeline(try recognizer.timeline(file: url, options: options))
                case (nil, _): outcome = .failure("<stdin>: standard input could not be read")
                }
            } catch {
                // Errors about the copy of standard input name it as such.
                let reason = "\(error)"
                outcome = .failure(job.url == nil ? reason.replacingOccurrences(of: stdinFile?.path ?? "<stdin>", with: "<stdin>") : reason)
            }
            if case .timeline(var t) = outcome {
                t.source = job.name
                outcome = .timeline(t)
                if let target = svgTargets?[i] {
                    // A drawing that cannot be written is an error of its own; the rows still go out.
                    do {
                        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                        try TimelineSVG.render(t).write(to: target, atomically: true, encoding: .utf8)
                    } catch {
                        failed.withLock { $0.append((job.name, "\(error)")) }
                        FileHandle.standardError.write(Data("error: \(target.path): \(error)\n".utf8))
                    }
                }
            }
            emitter.submit(i, outcome)
            bar.advance()
        }
        bar.finish()
        try sink.finish()
        for (name, reason) in failures {
            let line = reason.hasPrefix(name) ? reason : "\(name): \(reason)"
            FileHandle.standardError.write(Data("error: \(line)\n".utf8))
        }
        let failedCount = failures.count + failed.withLock { $0.count }
        if failedCount > 0 {
            FileHandle.standardError.write(Data("predict: \(failedCount) of \(jobs.count + failures.count) inputs failed\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The SVG file of each job: `out` itself for a run of one file (unless it is a folder or ends
    /// in /), else `out/<mirrored relative path>.svg` (``OutputLayout``: several folders go under
    /// their own names). Throws before any work when two inputs would share a file.
    private func svgURLs(for jobs: [Job], to out: String, single: Bool) throws -> [URL] {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: out, isDirectory: &isDir)
        if single && !(exists && isDir.boolValue) && !out.hasSuffix("/") {
            return [URL(fileURLWithPath: out)]
        }
        let layout = jobs.map { OutputLayout.Input(root: $0.root, rootIsFolder: $0.rootIsFolder, relativePath: $0.relativePath, name: $0.name) }
        do {
            return try OutputLayout.relativePaths(layout, extension: "svg").map { URL(fileURLWithPath: out).appendingPathComponent($0) }
        } catch let e as OutputLayoutError {
            throw ValidationError("--svg \(out): \(e)")
        }
    }
}

/// Writes result rows: JSON lines and CSV row by row as they come (to standard output or a
/// file), the table at the end (its columns are as wide as their widest value).
final class RowSink: @unchecked Sendable {
    let format: PredictCommand.Format
    let labels: [String]
    /// Rows are segments or windows (the table shows their start and end).
    let timed: Bool
    private let file: OutputFile?           // nil: standard output
    private var table: [ResultRow] = []     // .table only

    /// A sink writing to `path` (created or truncated; with `partial`, under `path.partial` until
    /// ``finish()``), or to standard output when nil.
    init(format: PredictCommand.Format, labels: [String], timed: Bool, path: String?, partial: Bool) throws {
        self.format = format
        self.labels = labels
        self.timed = timed
        do { file = try path.map { try OutputFile(path: $0, partial: partial) } } catch let e as OutputFileError {
            throw ValidationError("--output: \(e)")
        }
        if format == .csv { write(ResultRow.csvHeader(labels: labels) + "\n") }
    }

    /// Rows of one input (called in input order, one call at a time).
    func write(_ rows: [ResultRow]) {
        switch format {
        case .jsonl: write(rows.map { $0.jsonLine() + "\n" }.joined())
        case .csv: write(rows.map { $0.csvLine(labels: labels) + "\n" }.joined())
        case .table: table += rows
        }
    }

    /// Writes the table (if any) and closes a file under its final name.
    func finish() throws {
        if format == .table { write(Self.table(table, labels: labels, timed: timed)) }
        try file?.finish()
    }

    private func write(_ s: String) {
        guard !s.isEmpty else { return }
        if let file { file.write(s) } else { FileHandle.standardOutput.write(Data(s.utf8)) }
    }

    /// A table for people: file, the time span when rows are segments or windows, emotion,
    /// confidence and the class probabilities (4 decimals); "(no speech)" without speech.
    static func table(_ rows: [ResultRow], labels: [String], timed: Bool) -> String {
        guard !rows.isEmpty else { return "" }
        func num(_ x: Float) -> String { String(format: "%.4f", x) }
        let header = ["file"] + (timed ? ["start", "end"] : []) + ["emotion", "confidence"] + labels
        let body = rows.map { r -> [String] in
            [r.file ?? "-"] + (timed ? [String(format: "%.2f", r.start), String(format: "%.2f", r.end)] : [])
                + [r.emotion ?? "(no speech)", r.confidence.map(num) ?? ""]
                + labels.map { r.probability(of: $0).map(num) ?? "" }
        }
        let all = [header] + body
        let emotionColumn = timed ? 3 : 1
        let widths = header.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { c, v in
                let pad = String(repeating: " ", count: max(0, widths[c] - v.count))
                return c == 0 || c == emotionColumn ? v + pad : pad + v
            }.joined(separator: "  ") + "\n"
        }.joined()
    }
}
