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
        metadata. Files are processed in parallel; failures are reported per file and make the exit status 1.
        Example: ser features ../shared/corpora/emodb --out /tmp/emodb-features
        """)

    @Argument(help: "Audio files or folders (searched recursively, following symbolic links; limits: README \"Input limits\").") var inputs: [String]
    @Option(help: "Output folder.") var out: String
    @Option(help: "Worker threads (default: all cores).") var threads: Int = Parallel.cores
    @Option(name: .customLong("max-duration"), help: "Refuse files longer than this (seconds).") var maxDuration: Double?
    @Flag(help: "No progress bar.") var quiet = false
    @OptionGroup var features: FeatureOptions

    func run() throws {
        let config = try features.config()
        let items = try AudioFiles.collect(inputs)
        guard !items.isEmpty else { throw ValidationError("no audio files found in \(inputs.joined(separator: ", "))") }
        let outDir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        BLAS.setThreads(1)
        let workers = max(1, threads)
        let featurizers = try (0..<workers).map { _ in try ClipFeaturizer(config: config) }
        let shared = PerWorker(featurizers)
        let failures = Locked<[(String, String)]>([])
        let frames = Locked(0)
        let bar = ProgressBar(total: items.count, label: "features", unit: "files", enabled: !quiet)
        let start = Date()
        let options = AudioOptions(sampleRate: config.sampleRate, maxDuration: maxDuration)
        let madeDirectories = Locked<Set<String>>([outDir.path])
        Parallel.forEach(count: items.count, threads: workers) { worker, i in
            let item = items[i]
            do {
                let clip = try AudioDecoder.load(contentsOf: item.url, options: options)
                let x = try shared.value[worker].extract(clip.samples)
                var file = SafeTensorsFile(metadata: [
                    "source": item.url.path, "features": config.jsonString(),
                    "channels": "\(x.shape[0])", "frames": "\(x.shape[1])",
                ])
                file["features"] = x
                let dest = outDir.appendingPathComponent(item.relativePath).deletingPathExtension().appendingPathExtension("safetensors")
                let folder = dest.deletingLastPathComponent()
                if !madeDirectories.withLock({ $0.contains(folder.path) }) {
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    madeDirectories.withLock { _ = $0.insert(folder.path) }
                }
                try file.write(to: dest, durable: false)
                frames.withLock { $0 += x.shape[1] }
            } catch {
                failures.withLock { $0.append((item.url.path, "\(error)")) }
            }
            bar.advance()
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        let failed = failures.withLock { $0 }
        for (path, reason) in failed.sorted(by: { $0.0 < $1.0 }) {
            FileHandle.standardError.write(Data("error: \(path): \(reason)\n".utf8))
        }
        let ok = items.count - failed.count
        print("features: \(ok) of \(items.count) files -> \(outDir.path) (\(config.channels) channels, \(frames.withLock { $0 }) frames, "
              + String(format: "%.2f s, %.1f files/s, %d threads)", seconds, Double(items.count) / max(seconds, 1e-9), workers))
        if !failed.isEmpty { throw ExitCode(1) }
    }
}
