import Foundation
import SERAudio
import SERCore
import SEREncoder
import SERFeatures

/// Errors of the experiment pipeline.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
    /// Some audio files could not be turned into features (file and reason each).
    case featureExtractionFailed([String])
    /// A run folder holds a run with different settings than the ones asked for.
    case runMismatch(path: String, reason: String)
    /// A file of the run (checkpoint, split, report) is missing or unreadable.
    case badRunFile(path: String, reason: String)
    /// Settings that cannot work (e.g. a split with an empty training set).
    case invalidSetup(String)
    /// Training produced a non-finite loss (NaN or infinity), or the inputs held non-finite values.
    case diverged(String)

    public var description: String {
        switch self {
        case .featureExtractionFailed(let list):
            return "feature extraction failed for \(list.count) file(s):\n  " + list.prefix(20).joined(separator: "\n  ")
        case let .runMismatch(path, reason): return "\(path): \(reason)"
        case let .badRunFile(path, reason): return "\(path): \(reason)"
        case .invalidSetup(let s): return s
        case .diverged(let s): return "training diverged: " + s
        }
    }
}

/// Fused features of audio files, cached on disk by file content and feature settings.
///
/// Layout: `<root>/<settings hash>/<content hash>.safetensors`, one tensor `features` `[C, T]`,
/// F32, or F16 for the encoder block with every hidden state (`--encoder-layer weighted`, 7 x 512
/// channels for Whisper base) when all its values are halves (the featurizer rounds that block to
/// Float16; hand-made blocks fused beside it keep the entry F32): half the disk, the same values.
/// A file whose bytes or settings change gets a new key, so a stale entry is never read; entries
/// are written atomically, so a killed run leaves no half-written file.
public struct FeatureCache: Sendable {
    /// Cache root folder.
    public let root: URL
    /// Settings of the features in this cache.
    public let config: FeatureConfig

    /// A cache under `root` (created on demand).
    public init(root: URL, config: FeatureConfig) {
        self.root = root
        self.config = config
    }

    /// Folder of this settings' entries.
    public var folder: URL {
        var h = ContentHash()
        h.update(config.jsonString())
        return root.appendingPathComponent(String(h.hex.prefix(16)))
    }

    /// Features of every file, computed in parallel where missing, in input order.
    ///
    /// With a `perturbation`, the features of each file's perturbed copy (see ``AudioPerturbation``),
    /// cached under the file's key plus the perturbation's tag; noise is seeded by the file's content.
    ///
    /// - Throws: `ExperimentError.featureExtractionFailed` naming every file that failed (the others
    ///   are cached, so a re-run does not repeat their work).
    public func features(for urls: [URL], perturbation: AudioPerturbation? = nil, threads: Int = Parallel.cores,
                         progress: Bool = true) throws -> [Tensor] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let results = Locked([Tensor?](repeating: nil, count: urls.count))
        let failures = Locked<[String]>([])
        let workers = max(1, min(threads, urls.count))
        try config.validate()
        _ = try ClipFeaturizer(config: config)                        // encoder weights present and matching, before any work
        let featurizers = PerWorker((0..<workers).map { _ in Lazy { try ClipFeaturizer(config: config) } })
        let bar = ProgressBar(total: urls.count, label: perturbation.map { "features \($0.tag)" } ?? "features",
                              unit: "files", enabled: progress)
        let dir = folder, cfg = config
        let halfOnDisk = cfg.encoder?.layer == .weighted
        let blasThreads = BLAS.threads
        BLAS.setThreads(1)
        Parallel.forEach(count: urls.count, threads: workers) { worker, i in
            let url = urls[i]
            do {
                let key = try ContentHash.ofFile(url)
                let file = dir.appendingPathComponent(key + (perturbation.map { "-" + $0.tag } ?? "") + ".safetensors")
                var x: Tensor? = nil
                if let cached = try? SafeTensorsFile(contentsOf: file), let t = cached["features"],
                   t.shape.count == 2, t.shape[0] == cfg.channels { x = t }
                if x == nil {
                    var samples = try AudioDecoder.load(contentsOf: url, options: AudioOptions(sampleRate: cfg.sampleRate)).samples
                    if let p = perturbation {
                        samples = try p.apply(samples, sampleRate: cfg.sampleRate, seed: UInt64(key.prefix(16), radix: 16) ?? 0)
                    }
                    let t = try featurizers.value[worker].value().extract(samples)
                    var entry = SafeTensorsFile(tensors: ["features": t], metadata: ["source": url.path])
                    if halfOnDisk, SafeTensorsFile.isHalfExact(t) { entry.halfPrecision = ["features"] }
                    try entry.write(to: file, durable: false)
                    x = t
                }
                results.withLock { $0[i] = x }
            } catch {
                failures.withLock { $0.append("\(url.path): \(error)") }
            }
            bar.advance()
        }
        bar.finish()
        BLAS.setThreads(blasThreads)                                 // as it was (OPENBLAS_NUM_THREADS respected)
        let failed = failures.withLock { $0 }
        guard failed.isEmpty else { throw ExperimentError.featureExtractionFailed(failed.sorted()) }
        return results.withLock { $0.map { $0! } }
    }
}

/// Per-thread state created on first use.
final class Lazy<T> {
    private let make: () throws -> T
    private var made: T?
    init(_ make: @escaping () throws -> T) { self.make = make }
    func value() throws -> T {
        if let v = made { return v }
        let v = try make(); made = v; return v
    }
}
