// EncoderParityTool: the Swift side of benchmarks/encoder/parity.sh. Not part of the user-facing CLI.
//
//   EncoderParityTool convert IN(model.bin | .safetensors) OUT.safetensors
//   EncoderParityTool install NAME [CACHE]     (what `ser encoder install` does, without building `ser`)
//   EncoderParityTool run --model M --clips CLIPS.safetensors --out OUT.safetensors
//                         [--threads 2] [--repeats 20] [--time-clip NAME]
//   EncoderParityTool speed --model M --clips CLIPS.safetensors --clip NAME [--threads 1] [--repeats 30]
//
// `run` reads 16 kHz clips (tensors `NAME` [n]) and writes, per clip, `NAME.logmel` [T, n_mels] and
// `NAME.h0` ... `NAME.hL` [T', d] (every hidden state; the last after ln_post). With --time-clip it also
// times that clip: the median and the minimum of --repeats calls, from samples (front end + encoder) and from the
// log-mel (encoder only), with one workspace reused, in the metadata as `full_ms` and `encoder_ms`.
import Foundation
import SERCore
import SERFeatures
import SEREncoder

struct ToolError: Error, CustomStringConvertible { let description: String }

func options(_ args: ArraySlice<String>) throws -> [String: String] {
    var out: [String: String] = [:]
    var it = args.makeIterator()
    while let k = it.next() {
        guard k.hasPrefix("--"), let v = it.next() else { throw ToolError(description: "expected --key value, got '\(k)'") }
        out[String(k.dropFirst(2))] = v
    }
    return out
}

func int(_ o: [String: String], _ k: String, _ d: Int) throws -> Int {
    guard let s = o[k] else { return d }
    guard let v = Int(s) else { throw ToolError(description: "--\(k) '\(s)' is not an integer") }
    return v
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

/// CPU time of the whole process (every thread), in milliseconds.
func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) / 1e6
}

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

func run(_ o: [String: String]) throws {
    guard let model = o["model"], let clipsPath = o["clips"], let out = o["out"] else {
        throw ToolError(description: "run needs --model, --clips and --out")
    }
    BLAS.setThreads(try int(o, "threads", 2))
    let t0 = now()
    let encoder = try WhisperEncoder(contentsOf: URL(fileURLWithPath: model))
    let loadMs = now() - t0
    let clips = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: clipsPath))
    let ws = encoder.makeWorkspace()
    let frontEnd = WhisperLogMel(nMels: encoder.config.nMels)
    var result = SafeTensorsFile(metadata: encoder.config.metadata)
    result.metadata["load_ms"] = String(format: "%.1f", loadMs)
    result.metadata["blas_threads"] = "\(BLAS.threads)"
    // The OpenBLAS kernels the products ran on (SER's choice from the CPU flags, or OPENBLAS_CORETYPE).
    result.metadata["blas_core"] = BLASKernel.active.summary
    result.metadata["cpu"] = CPUInfo.current.summary
    for name in clips.tensors.keys.sorted() {
        guard let samples = clips.tensors[name]?.data else { continue }
        guard let mel = frontEnd.compute(samples) else { throw ToolError(description: "\(name): too short") }
        result[name + ".logmel"] = mel
        let states = try encoder.hiddenStates(samples16k: samples, workspace: ws)
        for (i, s) in states.enumerated() { result[name + ".h\(i)"] = s }
    }
    if let timed = o["time-clip"] {
        guard let samples = clips.tensors[timed]?.data, let mel = frontEnd.compute(samples) else {
            throw ToolError(description: "--time-clip \(timed): no such clip")
        }
        let repeats = try int(o, "repeats", 20)
        for _ in 0..<3 { _ = try encoder.hiddenStates(samples16k: samples, workspace: ws) }
        var full: [Double] = [], enc: [Double] = []
        for _ in 0..<repeats {
            let a = now()
            _ = try encoder.hiddenStates(samples16k: samples, workspace: ws)
            full.append(now() - a)
            let b = now()
            _ = try encoder.hiddenStates(logMel: mel, workspace: ws)
            enc.append(now() - b)
        }
        result.metadata["full_ms"] = String(format: "%.3f", median(full))
        result.metadata["encoder_ms"] = String(format: "%.3f", median(enc))
        result.metadata["full_min_ms"] = String(format: "%.3f", full.min() ?? 0)
        result.metadata["encoder_min_ms"] = String(format: "%.3f", enc.min() ?? 0)
        result.metadata["time_clip"] = timed
        result.metadata["repeats"] = "\(repeats)"
    }
    try result.write(to: URL(fileURLWithPath: out), durable: false)
}

/// `speed`: the encoder alone (log-mel in, every hidden state out) on one clip, one workspace reused,
/// 3 warm-up calls then `--repeats` timed ones; prints one JSON line (median and minimum wall-clock time,
/// median CPU time of the process, CPU model, kernels) for
/// benchmarks/encoder/speed.sh.
func speed(_ o: [String: String]) throws {
    guard let model = o["model"], let clipsPath = o["clips"], let name = o["clip"] else {
        throw ToolError(description: "speed needs --model, --clips and --clip")
    }
    let threads = try int(o, "threads", 1), repeats = try int(o, "repeats", 30)
    BLAS.setThreads(threads)
    let encoder = try WhisperEncoder(contentsOf: URL(fileURLWithPath: model))
    let clips = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: clipsPath))
    guard let samples = clips.tensors[name]?.data,
          let mel = WhisperLogMel(nMels: encoder.config.nMels).compute(samples) else {
        throw ToolError(description: "--clip \(name): no such clip in \(clipsPath), or too short")
    }
    let ws = encoder.makeWorkspace()
    for _ in 0..<3 { _ = try encoder.hiddenStates(logMel: mel, workspace: ws) }
    var ms: [Double] = [], cpu: [Double] = []
    for _ in 0..<repeats {
        let a = now(), c = cpuNow()
        _ = try encoder.hiddenStates(logMel: mel, workspace: ws)
        ms.append(now() - a)
        cpu.append(cpuNow() - c)
    }
    func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "'") + "\"" }
    print("{\"impl\": \"swift\", \"threads\": \(BLAS.threads), \"frames\": \(mel.shape[0]), \"repeats\": \(repeats), "
          + "\"median_ms\": \(String(format: "%.3f", median(ms))), \"min_ms\": \(String(format: "%.3f", ms.min() ?? 0)), "
          + "\"cpu_ms\": \(String(format: "%.3f", median(cpu))), "
          + "\"cpu\": \(quoted(CPUInfo.current.summary)), \"blas\": \(quoted(BLASKernel.active.summary))}")
}

let args = CommandLine.arguments
do {
    switch args.count > 1 ? args[1] : "" {
    case "convert":
        guard args.count == 4 else { throw ToolError(description: "usage: EncoderParityTool convert IN OUT.safetensors") }
        let ckpt = try WhisperCheckpoint(contentsOf: URL(fileURLWithPath: args[2]))
        try ckpt.write(to: URL(fileURLWithPath: args[3]))
        print("wrote \(args[3]) (\(ckpt.config))")
    case "install":
        guard args.count == 3 || args.count == 4 else { throw ToolError(description: "usage: EncoderParityTool install NAME [CACHE]") }
        let cache = args.count == 4 ? URL(fileURLWithPath: args[3]) : EncoderInstaller.defaultCache()
        let python = ProcessInfo.processInfo.environment["SER_PYTHON"] ?? "python3"
        print(try EncoderInstaller.install(args[2], cache: cache, python: python) { print($0) }.path)
    case "run":
        try run(try options(args.dropFirst(2)))
    case "speed":
        try speed(try options(args.dropFirst(2)))
    default:
        throw ToolError(description: "usage: EncoderParityTool convert IN OUT | run --model M --clips C --out O [--threads N] [--repeats R] [--time-clip NAME] | speed --model M --clips C --clip NAME [--threads N] [--repeats R]")
    }
} catch {
    FileHandle.standardError.write(Data("EncoderParityTool: \(error)\n".utf8))
    exit(1)
}
