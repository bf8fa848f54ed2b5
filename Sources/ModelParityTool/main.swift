// ModelParityTool: writes what benchmarks/model/parity.py compares against PyTorch, and times the
// Swift model for benchmarks/model/speed.sh. Not part of the user-facing CLI.
//
//   ModelParityTool parity --config small|default|nocfe|nogfe|weighted --out DIR [--seed N]
//   ModelParityTool speed [--batch 32] [--frames 151] [--channels 181] [--classes 7]
//                         [--steps 20] [--infer 200] [--threads 2]
import Foundation
import SERCore
import SERFeatures
import SERNetwork
import SERModel

struct ToolError: Error, CustomStringConvertible {
    let description: String
}

/// `--key value` options after the subcommand.
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

/// Features for the `weighted` configuration: 2 chroma rows, an encoder block of 3 hidden states
/// of width 6 carried whole (`--encoder-layer weighted`), 1 ZCR row; 21 rows.
func weightedFeatureConfig() -> FeatureConfig {
    var fc = FeatureConfig()
    fc.nChroma = 2
    fc.blocks = [.chroma, .encoder, .zcr]
    fc.encoder = EncoderBlockConfig(model: "test", width: 6, states: 3, layer: .weighted)
    return fc
}

/// A feature configuration with `channels` rows (so the saved model's metadata is consistent).
func featureConfig(channels: Int) -> FeatureConfig {
    var fc = FeatureConfig()
    if channels != fc.channels {
        fc.nMFCC = 2
        fc.nMels = channels - fc.nChroma - fc.nMFCC - 1
    }
    return fc
}

/// Random standard-normal clips with the given lengths.
func randomBatch(channels: Int, lengths: [Int], classes: Int, seed: UInt64) throws -> Batch {
    var rng = SeededRandom(seed: seed)
    let feats = lengths.map { t in Tensor(shape: [channels, t], data: (0..<(channels * t)).map { _ in rng.nextNormal() }) }
    return try Batch(features: feats, labels: lengths.indices.map { ($0 * 5 + 1) % classes })
}

func parity(_ o: [String: String]) throws {
    guard let out = o["out"] else { throw ToolError(description: "parity needs --out DIR") }
    let name = o["config"] ?? "small"
    let seed = UInt64(try int(o, "seed", 1))
    var config: STACNNConfig
    let lengths: [Int]
    switch name {
    case "default":
        config = STACNNConfig(inputChannels: 181, numClasses: 7)
        lengths = [151, 120, 77, 9]
    case "small", "nocfe", "nogfe", "weighted":
        config = STACNNConfig(inputChannels: 20, numClasses: 4)
        config.convChannels = [12, 12, 16]
        config.lstmHidden = 8
        config.heads = 2
        config.useCFE = name != "nocfe"
        config.useGFE = name != "nogfe"
        lengths = [33, 20, 9, 3, 1]
        if name == "weighted" { config.adapt(to: weightedFeatureConfig()) }
    default: throw ToolError(description: "unknown --config '\(name)'")
    }
    config.dropout = 0
    let dir = URL(fileURLWithPath: out)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let model = try STACNN(config: config, seed: seed)
    // Layer logits away from zero, so that the softmax's Jacobian is not at its symmetric point.
    model.layerSum?.weight.load((0..<(config.layerSum?.layers ?? 0)).map { 0.4 * Float($0) - 0.3 })
    let classWeights = (0..<config.numClasses).map { 0.5 + Float($0) * 0.25 }
    model.criterion.classWeights = classWeights
    let labels = (0..<config.numClasses).map { "class\($0)" }
    let std = Standardizer.identity(channels: config.inputChannels)
    try SavedModel(model: model, labels: labels,
                   featureConfig: config.layerSum == nil ? featureConfig(channels: config.inputChannels) : weightedFeatureConfig(),
                   standardizer: std).write(to: dir.appendingPathComponent("weights.safetensors"))
    let batch = try randomBatch(channels: config.inputChannels, lengths: lengths, classes: config.numClasses, seed: seed + 100)
    var batchFile = SafeTensorsFile()
    batchFile["x"] = batch.x
    batchFile["lengths"] = Tensor(shape: [batch.size], data: batch.lengths.map(Float.init))
    batchFile["labels"] = Tensor(shape: [batch.size], data: batch.labels.map(Float.init))
    batchFile["class_weights"] = Tensor(shape: [config.numClasses], data: classWeights)
    try batchFile.write(to: dir.appendingPathComponent("batch.safetensors"))

    var outputs = SafeTensorsFile(metadata: ["config": name])
    let opt = model.makeOptimizer()     // lr 1e-4, betas 0.9/0.999, eps 1e-8, L2 1e-3 (coupled); layer logits: lr x 100, no L2
    var losses: [Float] = []
    for step in 0..<10 {
        model.zeroGrad()
        let (logits, loss) = model.forward(batch, training: true)
        model.backward()
        losses.append(loss)
        if step == 0 {
            outputs["logits"] = logits
            outputs["loss"] = Tensor(shape: [1], data: [loss])
            for p in model.parameters { outputs["grad." + p.name] = p.gradTensor }
        }
        opt.update()
    }
    outputs["losses"] = Tensor(shape: [10], data: losses)
    if let s = config.layerSum {
        // The layer alone on the batch's rows, with a random upstream gradient: output, dL/dx, dL/dw.
        let layer = LayerWeightedSum(name: "layer_sum", offset: s.offset, layers: s.layers, width: s.width,
                                     inChannels: config.inputChannels)
        let w = (0..<s.layers).map { 0.4 * Float($0) - 0.3 }
        layer.weight.load(w)
        let rows = batch.x.count / config.inputChannels
        var rng = SeededRandom(seed: seed + 200)
        let dout = (0..<(rows * layer.outChannels)).map { _ in rng.nextNormal() }
        batch.x.data.withUnsafeBufferPointer { layer.forward($0.baseAddress!, rows: rows, training: true) }
        dout.withUnsafeBufferPointer { layer.backward($0.baseAddress!) }
        outputs["layer.w"] = Tensor(shape: [s.layers], data: w)
        outputs["layer.dout"] = Tensor(shape: [rows, layer.outChannels], data: dout)
        outputs["layer.y"] = Tensor(shape: [rows, layer.outChannels], data: layer.output.array)
        outputs["layer.dx"] = Tensor(shape: [rows, config.inputChannels], data: layer.inputGrad.array)
        outputs["layer.dw"] = layer.weight.gradTensor
    }
    for p in model.parameters { outputs["after." + p.name] = p.tensor }
    try outputs.write(to: dir.appendingPathComponent("outputs.safetensors"))
    print("parity[\(name)]: \(model.parameterCount) parameters, batch lengths \(lengths), loss \(losses[0]) -> \(losses[9]); wrote \(dir.path)")
}

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

/// CPU time of the whole process (all threads) in milliseconds: on a shared machine, a one-thread
/// step's CPU time is not stretched by other processes taking the core, as its wall time is.
func processCPUms() -> Double { processCPUSeconds() * 1e3 }

func peakRSSMiB() -> Double {
    var u = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_maxrss) / 1024          // KiB on Linux
    #else
    getrusage(RUSAGE_SELF, &u)
    return Double(u.ru_maxrss) / 1024 / 1024   // bytes on macOS
    #endif
}

func speed(_ o: [String: String]) throws {
    let (B, T, C, K) = (try int(o, "batch", 32), try int(o, "frames", 151), try int(o, "channels", 181), try int(o, "classes", 7))
    let steps = try int(o, "steps", 20), infer = try int(o, "infer", 200)
    BLAS.setThreads(try int(o, "threads", 2))
    var config = STACNNConfig(inputChannels: C, numClasses: K)
    config.dropout = 0.3
    let model = try STACNN(config: config, seed: 1)
    // Same lengths formula as speed.py: T - (7 b mod 40).
    let lengths = (0..<B).map { max(1, T - (7 * $0) % 40) }
    let batch = try randomBatch(channels: C, lengths: lengths, classes: K, seed: 2)
    let opt = model.makeOptimizer()
    for _ in 0..<(steps > 0 ? 3 : 0) { model.trainStep(batch, optimizer: opt) }
    var times: [Double] = [], cpu: [Double] = []
    for _ in 0..<steps {
        let (t0, c0) = (DispatchTime.now().uptimeNanoseconds, processCPUms())
        model.trainStep(batch, optimizer: opt)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        cpu.append(processCPUms() - c0)
    }
    let trainMs = steps > 0 ? median(times) : 0, trainCPUms = steps > 0 ? median(cpu) : 0
    let rssTrain = peakRSSMiB()
    var rng = SeededRandom(seed: 3)
    let clip = Tensor(shape: [C, T], data: (0..<(C * T)).map { _ in rng.nextNormal() })
    for _ in 0..<10 { _ = try model.predict(features: clip) }
    times = []
    for _ in 0..<infer {
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try model.predict(features: clip)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    let inferMs = infer > 0 ? median(times) : 0
    print(String(format: "{\"impl\": \"swift\", \"train_step_ms\": %.3f, \"train_step_cpu_ms\": %.3f, \"infer_ms\": %.4f, \"peak_rss_mib\": %.1f, \"params\": %d, ",
                 trainMs, trainCPUms, inferMs, max(rssTrain, peakRSSMiB()), model.parameterCount)
          + "\"cpu\": \"\(CPUInfo.current.summary)\", \"blas\": \"\(BLASKernel.active.summary)\"}")
}

do {
    let args = CommandLine.arguments
    guard args.count >= 2 else { throw ToolError(description: "usage: ModelParityTool parity|speed [--key value ...]") }
    let o = try options(args.dropFirst(2))
    switch args[1] {
    case "parity": try parity(o)
    case "speed": try speed(o)
    default: throw ToolError(description: "unknown subcommand '\(args[1])'")
    }
} catch {
    FileHandle.standardError.write(Data("ModelParityTool: \(error)\n".utf8))
    exit(1)
}
