import ArgumentParser
import Foundation
import SERAudio
import SERCore
import SEREncoder
import SERModel
import SERRecognizer

/// `ser export --onnx FILE`: the model's STA-CNN network as an ONNX file (see ``ONNXExporter``).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a model's network as an ONNX file (for onnxruntime, e.g. from Python).",
        discussion: """
        The ONNX graph is the STA-CNN network with the model's softmax temperature: input `features`, \
        float32 [batch, channels, frames] (the features after per-clip normalisation and the model's \
        standardiser; clips of one batch share their frame count), outputs `probabilities` (calibrated, \
        as `ser predict` prints them) and `logits`, both [batch, classes]. The file's metadata holds the \
        labels, the standardiser, the normalisation and the feature settings (JSON), so nothing else is \
        needed to use it; README, "Use from Python (ONNX)", shows how. Feature extraction and the \
        silence trimming of `ser predict` are not in the graph; for a model with the Whisper encoder \
        block (the default model) the graph is the head only, its input the encoder's hidden states.

        Examples:
          ser export --onnx handmade.onnx --model handmade
          ser export --onnx model.onnx --model runs/ravdess/fold-1/model.safetensors
        """)

    @Option(name: .customLong("onnx"), help: "Write the ONNX file here.") var onnx: String
    @Option(help: "Model file, or a bundled model by name: default, handmade or session. Default: default.")
    var model: String?
    @Option(name: .customLong("check-inputs"), parsing: .upToNextOption,
            help: ArgumentHelp("Audio files or folders whose model inputs and probabilities to write (for benchmarks/onnx/check.sh).",
                               visibility: .hidden))
    var checkInputs: [String] = []
    @Option(name: .customLong("check-out"), help: ArgumentHelp("Folder for the --check-inputs files.", visibility: .hidden))
    var checkOut: String?

    func validate() throws {
        guard !onnx.isEmpty else { throw ValidationError("--onnx needs a file name") }
        guard checkInputs.isEmpty == (checkOut == nil) else {
            throw ValidationError("--check-inputs and --check-out go together")
        }
    }

    func run() throws {
        let url = try modelFile(modelPath: model)
        let saved = try SavedModel.read(from: url)
        let out = URL(fileURLWithPath: onnx)
        try ONNXExporter.write(saved, path: url.path, to: out)
        let size = (try? FileManager.default.attributesOfItem(atPath: out.path)[.size] as? Int) ?? 0
        print("\(onnx): ONNX opset 17, \(saved.config.inputChannels) input channels, \(saved.labels.count) classes "
            + "(\(saved.labels.joined(separator: ", "))), temperature \(saved.temperature), \(size) bytes, from \(url.path)")
        if let checkOut {
            try ONNXCheckDump.write(model: saved, inputs: checkInputs, to: URL(fileURLWithPath: checkOut))
        }
    }
}

/// The Swift side of `benchmarks/onnx/check.sh`: for each clip, the model input (the `[C, T]`
/// matrix the network sees, as the ONNX graph takes it) and the probabilities of the classifier
/// `ser predict` uses, on the whole decoded file (what `ser predict --keep-silence` prints).
///
/// Writes `DIR/NNNN.safetensors` (tensors `input` `[1, C, T]`, `probabilities` `[1, K]` and the
/// network's `logits` `[1, K]`) and
/// `DIR/manifest.json` (`[{"file": "NNNN.safetensors", "source": path, "frames": T}]`).
enum ONNXCheckDump {
    /// Why the dump failed.
    enum Failure: Error, CustomStringConvertible {
        /// The network on the dumped input disagrees with the recogniser: the input was not built
        /// the way `ser predict` builds it.
        case inputDrift(source: String, difference: Float)

        var description: String {
            switch self {
            case let .inputDrift(s, d):
                return "\(s): the network on the dumped input differs from `ser predict --keep-silence` by \(d)"
            }
        }
    }

    static func write(model saved: SavedModel, inputs: [String], to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let classifier = try STACNNClassifier(model: saved)
        let network = try saved.makeModel()
        var manifest: [[String: String]] = []
        for (i, item) in try AudioFiles.collect(inputs).enumerated() {
            // The model input, as STACNNClassifier builds it: features, per-clip normalisation, standardiser.
            let clip = try AudioDecoder.load(contentsOf: item.url, options: AudioOptions(sampleRate: saved.featureConfig.sampleRate))
            let x = try classifier.modelInput(samples: clip.samples)           // [C, T]
            let direct = try network.predict(features: x)                     // (K)
            // What `ser predict --keep-silence` classifies: the whole decoded file.
            let predicted = try classifier.probabilities(samples: clip.samples)
            let diff = zip(direct, predicted).map { abs($0 - $1) }.max() ?? 0
            guard diff <= 1e-5 else { throw Failure.inputDrift(source: item.url.path, difference: diff) }
            let logits = network.logits(try Batch(features: [x]))              // (1, K), before the temperature
            let name = String(format: "%04d.safetensors", i)
            let file = SafeTensorsFile(tensors: [
                "input": Tensor(shape: [1] + x.shape, data: x.data),
                "probabilities": Tensor(shape: [1, predicted.count], data: predicted),
                "logits": logits,
            ])
            try file.write(to: dir.appendingPathComponent(name))
            manifest.append(["file": name, "source": item.url.path, "frames": "\(x.shape[1])"])
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try enc.encode(manifest).write(to: dir.appendingPathComponent("manifest.json"))
        print("\(dir.path): model inputs and probabilities of \(manifest.count) clips")
    }
}
