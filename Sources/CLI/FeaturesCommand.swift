import ArgumentParser
import Foundation
import SERAudio
import SERCore
import SEREncoder
import SERFeatures

/// `ser features`: fused feature matrices of audio files, as safetensors.
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Compute the fused features (paper eq. 1) of audio files and write them as safetensors.",
        discussion: """
        Each FILE, or every audio file under each DIR, gives OUT/<relative path>.safetensors with a tensor
        `features` of shape [channels, frames] (blocks stacked in --blocks order) and the settings in the
        metadata. With several inputs, each folder's files go under the folder's name (t/a t/b ->
        OUT/a/..., OUT/b/...) and a file argument to OUT/<name>; two inputs that would share an output
        (x.wav and x.flac, two folders with one name) are refused before any work, nothing is overwritten.
        OUT/index.jsonl lists every input: {"file": input, "features": relative output, "channels",
        "frames"}, or {"file", "error"} for one that failed. Files are processed in parallel; failures are
        reported per file and make the exit status 1.
        With --shard I/N this process does every N-th input (sorted by name) and writes
        OUT/index.shard-I-of-N.jsonl; `ser merge OUT/index.shard-*.jsonl --output OUT/index.jsonl` checks
        that every shard is there and every file exists.
        Example: ser features ../shared/corpora/emodb --out /tmp/emodb-features
        """)

    @Argument(help: "Audio files or folders (searched recursively, following symbolic links; limits: README \"Input limits\").") var inputs: [String]
    @Option(help: "Output folder.") var out: String
    @Option(help: "Worker threads (default: all cores).") var threads: Int = Parallel.cores
    @Option(name: .customLong("max-duration"), help: "Refuse files longer than this (seconds).") var maxDuration: Double?
    @Flag(help: "No progress bar.") var quiet = false
    @OptionGroup var features: FeatureOptions
    @OptionGroup var sharding: ShardOptions

    /// One input and where its features go.
    struct Job: Sendable {
        var name: String            // the argument, joined with the path under a folder argument
        var url: URL
        var output: String          // relative to --out
    }

    func run() throws {
        let config = try features.config()
        var layout: [OutputLayout.Input] = []
        var urls: [URL] = []
        for input in inputs {
            let isDir = ObjCBool(FileNames.isDirectory(input))   // byte-exact names (FileNames)
            for item in try AudioFiles.collect([input]) {
                let name = isDir.boolValue ? (input as NSString).appendingPathComponent(item.relativePath) : input
                layout.append(OutputLayout.Input(root: input, rootIsFolder: isDir.boolValue, relativePath: item.relativePath, name: name))
                urls.append(item.url)
            }
        }
        guard !layout.isEmpty else { throw ValidationError("no audio files found in \(inputs.joined(separator: ", "))") }
        let outputs: [String]
        do { outputs = try OutputLayout.relativePaths(layout, extension: "safetensors") } catch let e as OutputLayoutError {
            throw ValidationError("--out \(out): \(e)")
        }
        let all = layout.indices.map { Job(name: layout[$0].name, url: urls[$0], output: outputs[$0]) }
        let (shard, origin) = try sharding.resolve()
        let items = shard.select(all, name: \.name)
        if !shard.isWhole {
            FileHandle.standardError.write(Data(shard.note(command: "features", origin: origin, selected: items.count, of: all.count).utf8))
        }
        let outDir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        // A shard's index keeps the name `.partial` until the shard is done (see OutputFile).
        let index: OutputFile
        do { index = try OutputFile(path: outDir.appendingPathComponent(shard.fileName(for: "index.jsonl")).path, partial: !shard.isWhole) }
        catch let e as OutputFileError { throw ValidationError("--out \(out): \(e)") }
        BLAS.setThreads(1)
        let workers = max(1, threads)
        let featurizers = try (0..<workers).map { _ in try ClipFeaturizer(config: config) }
        let shared = PerWorker(featurizers)
        let failures = Locked<[(String, String)]>([])
        let frames = Locked(0)
        let bar = ProgressBar(total: items.count, label: "features", unit: "files", enabled: !quiet)
        let start = Date()
        let startCPU = processCPUSeconds()
        let options = AudioOptions(sampleRate: config.sampleRate, maxDuration: maxDuration)
        let configJSON = config.jsonString()   // every file's metadata carries it: encoded once
        let madeDirectories = Locked<Set<String>>([outDir.path])
        // The index lists the inputs in order, each line as soon as every earlier one is done.
        let emitter = InOrderEmitter<IndexEntry> { _, entry in index.write(entry.jsonLine() + "\n") }
        Parallel.forEach(count: items.count, threads: workers) { worker, i in
            let item = items[i]
            var entry = IndexEntry(file: item.name, features: item.output)
            do {
                let clip = try AudioDecoder.load(contentsOf: item.url, options: options)
                let x = try shared.value[worker].extract(clip.samples)
                var file = SafeTensorsFile(metadata: [
                    "source": item.url.path, "features": configJSON,
                    "channels": "\(x.shape[0])", "frames": "\(x.shape[1])",
                ])
                file["features"] = x
                let dest = outDir.appendingPathComponent(item.output)
                let folder = dest.deletingLastPathComponent()
                if !madeDirectories.withLock({ $0.contains(folder.path) }) {
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    madeDirectories.withLock { _ = $0.insert(folder.path) }
                }
                try file.write(to: dest, durable: false)
                frames.withLock { $0 += x.shape[1] }
                entry.channels = x.shape[0]; entry.frames = x.shape[1]
            } catch {
                failures.withLock { $0.append((item.url.path, "\(error)")) }
                entry.features = nil; entry.error = "\(error)"
            }
            emitter.submit(i, entry)
            bar.advance()
        }
        bar.finish()
        do { try index.finish() } catch let e as OutputFileError { throw ValidationError("--out \(out): \(e)") }
        let seconds = Date().timeIntervalSince(start)
        let cpuSeconds = processCPUSeconds() - startCPU
        let failed = failures.withLock { $0 }
        for (path, reason) in failed.sorted(by: { $0.0 < $1.0 }) {
            FileHandle.standardError.write(Data("error: \(path): \(reason)\n".utf8))
        }
        let ok = items.count - failed.count
        print("features: \(ok) of \(items.count) files\(shard.isWhole ? "" : " (shard \(shard) of \(all.count) files)") -> \(outDir.path) (\(config.channels) channels, \(frames.withLock { $0 }) frames, "
              + String(format: "%.2f s, %.1f files/s, %d threads, %.3f s CPU)", seconds, Double(items.count) / max(seconds, 1e-9), workers, cpuSeconds))
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

/// One line of a features index (`OUT/index.jsonl`): the input and its features file relative to
/// the index, or why it failed.
struct IndexEntry: Codable, Sendable {
    var file: String
    var features: String?
    var channels: Int?
    var frames: Int?
    var error: String?

    func jsonLine() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
