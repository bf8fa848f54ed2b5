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
/// default model.
func loadClassifier(modelPath: String?) throws -> any ClipClassifier {
    if let modelPath { return try STACNNClassifier(contentsOf: URL(fileURLWithPath: modelPath)) }
    let candidates = defaultModelCandidates()
    guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
        throw ClassifierLoadingError.noDefaultModel(searched: candidates)
    }
    return try STACNNClassifier(contentsOf: URL(fileURLWithPath: found))
}
