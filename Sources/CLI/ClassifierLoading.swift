import Foundation
import SERBundledModels
import SERRecognizer

/// Why no classifier could be loaded.
enum ClassifierLoadingError: Error, CustomStringConvertible {
    /// No `--model` was given and no default model was found in the usual places.
    case noDefaultModel(searched: [String])

    var description: String {
        switch self {
        case let .noDefaultModel(searched):
            return "model not found (looked at \(searched.joined(separator: ", "))); pass --model FILE or set SER_MODEL"
        }
    }
}

/// Where `ser` looks for a bundled model called `name` (`default`, `handmade`, `session`), in order:
/// `$SER_MODEL` (for `default` only), the places ``BundledModel/candidates`` lists (`$SER_MODELS_DIR`,
/// the resources next to the binary, the checkout it was built from), `models/NAME.safetensors` in
/// the current folder, and `/usr/local/share/ser/NAME.safetensors`.
func defaultModelCandidates(name: String = "default") -> [String] {
    var list: [String] = []
    if name == "default", let env = ProcessInfo.processInfo.environment["SER_MODEL"], !env.isEmpty { list.append(env) }
    if let bundled = BundledModel(rawValue: name) { list += bundled.candidates.map(\.path) }
    list.append(FileManager.default.currentDirectoryPath + "/models/\(name).safetensors")
    list.append("/usr/local/share/ser/\(name).safetensors")
    return list
}

/// The bundled models `--model` accepts by name (see models/README.md).
let bundledModelNames = BundledModel.allCases.map(\.rawValue)

/// The model file `--model` names: the file at `modelPath`, a bundled model by name (`default`:
/// Whisper-base encoder + STA-CNN head; `handmade`: STA-CNN on the paper's hand-made features, no
/// encoder; `session`: the encoder model trained with speaker normalisation, for `--session`), or
/// the default model.
func modelFile(modelPath: String?) throws -> URL {
    var name = "default"
    if let modelPath {
        guard bundledModelNames.contains(modelPath), !FileManager.default.fileExists(atPath: modelPath) else {
            return URL(fileURLWithPath: modelPath)
        }
        name = modelPath
    }
    let candidates = defaultModelCandidates(name: name)
    guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
        throw ClassifierLoadingError.noDefaultModel(searched: candidates)
    }
    return URL(fileURLWithPath: found)
}

/// The classifier for `ser predict` / `ser serve`: the STA-CNN model of ``modelFile(modelPath:)``.
func loadClassifier(modelPath: String?) throws -> any ClipClassifier {
    try STACNNClassifier(contentsOf: modelFile(modelPath: modelPath))
}
