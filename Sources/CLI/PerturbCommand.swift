import ArgumentParser
import Foundation
import SERAudio
import SERCore
import SERExperiments

/// `ser perturb`: writes the augmentation's perturbed copies of audio files, to listen to them or
/// to test a model on them (benchmarks/robustness).
struct PerturbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perturb",
        abstract: "Write perturbed copies of audio files (the same perturbations `ser train` augments with).",
        discussion: """
        Each FILE, or every audio file under each DIR, gives OUT/<tag>/<relative path>.wav per perturbation
        (32-bit float WAV at --sample-rate, default the file's own rate), e.g. OUT/gain-10/Actor_01/x.wav.
        Random parts (noise, rooms, noise floors) are seeded by the file's content, as in training.
        Example: ser perturb clips/ --out /tmp/loud --gain -10,10 --telephone --codec opus
        """)

    @Argument(help: "Audio files or folders (searched recursively).") var inputs: [String]
    @Option(help: "Output folder.") var out: String
    @Option(name: .customLong("sample-rate"), help: "Decode at this rate and perturb there (default: each file's own rate; training uses the feature rate, 22050).")
    var sampleRate: Int?
    @Option(help: "Worker threads (default: all cores).") var threads: Int = Parallel.cores
    @Flag(help: "No progress bar.") var quiet = false
    @OptionGroup(title: "Perturbations (each gives one copy of every file)") var augment: AugmentationOptions

    func run() throws {
        let perturbations = try augment.augmentation().perturbations
        guard !perturbations.isEmpty else { throw ValidationError("no perturbation given (e.g. --gain -10,10)") }
        if let sampleRate, sampleRate <= 0 { throw ValidationError("--sample-rate must be positive") }
        let items = try AudioFiles.collect(inputs)
        guard !items.isEmpty else { throw ValidationError("no audio files found in \(inputs.joined(separator: ", "))") }
        let outDir = URL(fileURLWithPath: out)
        let failures = Locked<[String]>([])
        let bar = ProgressBar(total: items.count, label: "perturb", unit: "files", enabled: !quiet)
        let rate = sampleRate
        Parallel.forEach(count: items.count, threads: max(1, min(threads, items.count))) { _, i in
            let item = items[i]
            do {
                let clip = try AudioDecoder.load(contentsOf: item.url, options: AudioOptions(sampleRate: rate))
                let seed = UInt64(try ContentHash.ofFile(item.url).prefix(16), radix: 16) ?? 0   // as the feature cache seeds
                for p in perturbations {
                    let y = try p.apply(clip.samples, sampleRate: clip.sampleRate, seed: seed)
                    let dest = outDir.appendingPathComponent(p.tag).appendingPathComponent(item.relativePath)
                        .deletingPathExtension().appendingPathExtension("wav")
                    try FileManager.default.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try AudioEncoder.writeWAV(y, sampleRate: clip.sampleRate, to: dest, float: true)
                }
            } catch {
                failures.withLock { $0.append("\(item.url.path): \(error)") }
            }
            bar.advance()
        }
        bar.finish()
        let failed = failures.withLock { $0 }.sorted()
        for f in failed { FileHandle.standardError.write(Data("error: \(f)\n".utf8)) }
        if !failed.isEmpty { throw ExitCode(1) }
        if !quiet {
            FileHandle.standardError.write(Data("wrote \(items.count * perturbations.count) files under \(out) (\(perturbations.map(\.tag).joined(separator: ", ")))\n".utf8))
        }
    }
}
