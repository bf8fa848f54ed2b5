import Foundation
import SERRecognizer

/// Why no classifier could be loaded.
enum ClassifierLoadingError: Error, CustomStringConvertible {
    /// No `--model` was given and no default model was found in the usual places.
    case noDefaultModel(searched: [String])

    var description: String {
        switch self {
        case let .noDefaultModel(searched):
            return "no model given and no default model found (looked at \(searched.joined(separator: ", "))); pass --model FILE or set SER_MODEL"
        }
    }
}

/// Where `ser` looks for the bundled default model when `--model` is not given, in order:
/// `$SER_MODEL`, `models/default.safetensors` next to the checkout the binary was built in
/// (`.build/<config>/ser`), in the current folder, and `/usr/local/share/ser/default.safetensors`.
func defaultModelCandidates() -> [String] {
    var list: [String] = []
    if let env = ProcessInfo.processInfo.environment["SER_MODEL"], !env.isEmpty { list.append(env) }
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    for _ in 0..<4 {
        list.append(dir.appendingPathComponent("models/default.safetensors").path)
        dir = dir.deletingLastPathComponent()
    }
    list.append(FileManager.default.currentDirectoryPath + "/models/default.safetensors")
    list.append("/usr/local/share/ser/default.safetensors")
    return list
}

/// The classifier for `ser predict` / `ser serve`: the STA-CNN model file at `modelPath`, or the
/// default model. `fake:pitch` gives a deterministic stand-in (for tests and service benchmarks).
func loadClassifier(modelPath: String?) throws -> any ClipClassifier {
    if modelPath == "fake:pitch" { return FakePitchClassifier() }
    if let modelPath { return try STACNNClassifier(contentsOf: URL(fileURLWithPath: modelPath)) }
    let candidates = defaultModelCandidates()
    guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
        throw ClassifierLoadingError.noDefaultModel(searched: candidates)
    }
    return try STACNNClassifier(contentsOf: URL(fileURLWithPath: found))
}

/// A stand-in: "low" vs "high" from the share of the energy below ~500 Hz (two one-pole low-pass
/// filters), "quiet" from the level. Deterministic; not a model.
struct FakePitchClassifier: ClipClassifier {
    let labels = ["low", "high", "quiet"]
    let sampleRate = 16000

    func probabilities(samples: [Float]) throws -> [Float] {
        let a = Float(exp(-2 * Double.pi * 500 / Double(sampleRate)))
        var y1: Float = 0, y2: Float = 0
        var total: Double = 0, low: Double = 0
        for x in samples {
            y1 = (1 - a) * x + a * y1
            y2 = (1 - a) * y1 + a * y2
            total += Double(x * x)
            low += Double(y2 * y2)
        }
        let rms = (total / Double(max(1, samples.count))).squareRoot()
        let lowShare = total > 0 ? min(1, low / total) : 0.5
        let quiet = rms < 0.01 ? 0.8 : 0.05
        return [Float(lowShare * (1 - quiet)), Float((1 - lowShare) * (1 - quiet)), Float(quiet)]
    }
}
