import Foundation
import XCTest
import SERCore
import SERFeatures
@testable import SEREncoder
import SERTestSupport

/// A small random-weight Whisper encoder (2 layers, d = 64, 4 heads), saved and loaded through
/// safetensors (OpenAI and Hugging Face names) and a CTranslate2 `model.bin` written here, against a naive
/// float64 implementation written in this file. No download is needed.
final class WhisperEncoderTests: XCTestCase {
    static let config = WhisperConfig(nMels: 80, nState: 64, nHead: 4, nLayer: 2, nCtx: 64)

    /// Random weights with the encoder's names. Values are rounded to float16 so the CTranslate2 file
    /// (stored in float16) holds exactly the same numbers.
    static func randomCheckpoint(seed: UInt64 = 7) throws -> WhisperCheckpoint {
        var rng = SeededRandom(seed: seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in WhisperCheckpoint.expectedShapes(config) {
            let n = shape.reduce(1, *)
            let fanIn = shape.count >= 2 ? shape.dropFirst().reduce(1, *) : 1
            var scale: Float = 1 / Float(fanIn).squareRoot()
            var offset: Float = 0
            if name.hasSuffix("ln.weight") || name.hasSuffix("ln_post.weight") { scale = 0.2; offset = 1 }
            if name.hasSuffix(".bias") { scale = 0.1 }
            if name == "encoder.positional_embedding" { scale = 0.5 }
            tensors[name] = Tensor(shape: shape, data: (0..<n).map { _ in
                Float(Float16(offset + scale * rng.nextNormal()))
            })
        }
        return try WhisperCheckpoint(tensors: tensors, config: config, source: "random test weights")
    }

    static func randomClip(samples: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<samples).map { i in 0.3 * sin(Float(i) * 0.05) + 0.05 * rng.nextNormal() }
    }

    func relativeError(_ a: [Float], _ b: [Double]) -> Double {
        var m = 0.0, r = 0.0
        for i in 0..<b.count { m = max(m, abs(Double(a[i]) - b[i])); r = max(r, abs(b[i])) }
        return m / max(r, 1e-30)
    }

    // MARK: Naive reference (float64, plain loops, PyTorch-style layouts)

    /// All hidden states of the encoder for `mel` [T, nMels], the last after ln_post.
    static func naiveStates(_ ckpt: WhisperCheckpoint, mel: Tensor) -> [[Double]] {
        let c = ckpt.config, d = c.nState
        func w(_ n: String) -> [Double] { ckpt.tensors[n]!.data.map(Double.init) }
        func gelu(_ v: Double) -> Double { 0.5 * v * (1 + erf(v / 2.0.squareRoot())) }
        func conv(_ x: [Double], t: Int, cin: Int, stride: Int, weight: [Double], bias: [Double]) -> ([Double], Int) {
            let tOut = (t + 2 - 3) / stride + 1
            var y = [Double](repeating: 0, count: tOut * d)
            for o in 0..<tOut { for co in 0..<d {
                var s = bias[co]
                for ci in 0..<cin { for j in 0..<3 {
                    let ti = o * stride + j - 1
                    if ti >= 0 && ti < t { s += weight[(co * cin + ci) * 3 + j] * x[ti * cin + ci] }
                } }
                y[o * d + co] = gelu(s)
            } }
            return (y, tOut)
        }
        func linear(_ x: [Double], rows: Int, inF: Int, weight: [Double], bias: [Double]?) -> [Double] {
            let outF = weight.count / inF
            var y = [Double](repeating: 0, count: rows * outF)
            for r in 0..<rows { for o in 0..<outF {
                var s = bias?[o] ?? 0
                for i in 0..<inF { s += x[r * inF + i] * weight[o * inF + i] }
                y[r * outF + o] = s
            } }
            return y
        }
        func norm(_ x: [Double], rows: Int, weight: [Double], bias: [Double]) -> [Double] {
            var y = x
            for r in 0..<rows {
                let row = Array(x[(r * d)..<((r + 1) * d)])
                let mean = row.reduce(0, +) / Double(d)
                let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
                for j in 0..<d { y[r * d + j] = (row[j] - mean) / (v + 1e-5).squareRoot() * weight[j] + bias[j] }
            }
            return y
        }
        let t = mel.shape[0]
        let (h1, _) = conv(mel.data.map(Double.init), t: t, cin: c.nMels, stride: 1,
                           weight: w("encoder.conv1.weight"), bias: w("encoder.conv1.bias"))
        var (x, t2) = conv(h1, t: t, cin: d, stride: 2, weight: w("encoder.conv2.weight"), bias: w("encoder.conv2.bias"))
        let pos = w("encoder.positional_embedding")
        for i in 0..<(t2 * d) { x[i] += pos[i] }
        var states = [x]
        let hd = d / c.nHead
        for l in 0..<c.nLayer {
            let p = "encoder.blocks.\(l)."
            let h = norm(x, rows: t2, weight: w(p + "attn_ln.weight"), bias: w(p + "attn_ln.bias"))
            let q = linear(h, rows: t2, inF: d, weight: w(p + "attn.query.weight"), bias: w(p + "attn.query.bias"))
            let k = linear(h, rows: t2, inF: d, weight: w(p + "attn.key.weight"), bias: nil)
            let v = linear(h, rows: t2, inF: d, weight: w(p + "attn.value.weight"), bias: w(p + "attn.value.bias"))
            var a = [Double](repeating: 0, count: t2 * d)
            for head in 0..<c.nHead {
                for i in 0..<t2 {
                    var s = (0..<t2).map { j in
                        (0..<hd).reduce(0.0) { $0 + q[i * d + head * hd + $1] * k[j * d + head * hd + $1] } / Double(hd).squareRoot()
                    }
                    let m = s.max()!
                    s = s.map { exp($0 - m) }
                    let z = s.reduce(0, +)
                    for e in 0..<hd {
                        a[i * d + head * hd + e] = (0..<t2).reduce(0.0) { $0 + s[$1] / z * v[$1 * d + head * hd + e] }
                    }
                }
            }
            let o = linear(a, rows: t2, inF: d, weight: w(p + "attn.out.weight"), bias: w(p + "attn.out.bias"))
            for i in 0..<x.count { x[i] += o[i] }
            let h2 = norm(x, rows: t2, weight: w(p + "mlp_ln.weight"), bias: w(p + "mlp_ln.bias"))
            let m1 = linear(h2, rows: t2, inF: d, weight: w(p + "mlp.0.weight"), bias: w(p + "mlp.0.bias")).map(gelu)
            let m2 = linear(m1, rows: t2, inF: 4 * d, weight: w(p + "mlp.2.weight"), bias: w(p + "mlp.2.bias"))
            for i in 0..<x.count { x[i] += m2[i] }
            states.append(x)
        }
        states[c.nLayer] = norm(x, rows: t2, weight: w("encoder.ln_post.weight"), bias: w("encoder.ln_post.bias"))
        return states
    }

    // MARK: Tests

    func testSafetensorsRoundTripShapesAndNaiveReference() throws {
        let ckpt = try Self.randomCheckpoint()
        let dir = try SharedData.temporaryDirectory("encoder")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("tiny.safetensors")
        try ckpt.write(to: url)
        let meta = try SafeTensorsFile(contentsOf: url).metadata
        XCTAssertEqual(meta["n_state"], "64"); XCTAssertEqual(meta["n_head"], "4"); XCTAssertEqual(meta["n_layer"], "2")
        let encoder = try WhisperEncoder(contentsOf: url)
        XCTAssertEqual(encoder.config, Self.config)

        for (samples, seed) in [(4000, 1), (5123, 2), (16000, 3)] as [(Int, UInt64)] {
            let clip = Self.randomClip(samples: samples, seed: seed)
            let states = try encoder.hiddenStates(samples16k: clip)
            let frames = WhisperEncoder.frames(samples: samples)
            XCTAssertEqual(states.count, Self.config.nLayer + 1)
            for s in states { XCTAssertEqual(s.shape, [frames, 64]); XCTAssertTrue(s.isFinite) }
            let mel = try XCTUnwrap(WhisperLogMel().compute(clip))
            let ref = Self.naiveStates(ckpt, mel: mel)
            for (i, s) in states.enumerated() {
                let err = relativeError(s.data, ref[i])
                XCTAssertLessThan(err, 1e-4, "\(samples) samples, h\(i): relative error \(err)")
            }
        }
    }

    func testDeterministicAndSameFromLogMel() throws {
        let encoder = WhisperEncoder(checkpoint: try Self.randomCheckpoint())
        let clip = Self.randomClip(samples: 7000, seed: 5)
        let ws = encoder.makeWorkspace()
        let a = try encoder.hiddenStates(samples16k: clip, workspace: ws)
        // A longer then a shorter clip through the same workspace: buffers are reused, results unchanged.
        _ = try encoder.hiddenStates(samples16k: Self.randomClip(samples: 20000, seed: 6), workspace: ws)
        let b = try encoder.hiddenStates(samples16k: clip, workspace: ws)
        let c = try encoder.hiddenStates(logMel: try XCTUnwrap(WhisperLogMel().compute(clip)))
        for i in a.indices {
            XCTAssertEqual(a[i], b[i], "same code path, same input: h\(i) must be identical")
            XCTAssertEqual(a[i], c[i], "samples and precomputed log-mel go through the same kernels: h\(i)")
        }
        XCTAssertEqual(try encoder.encode(samples16k: clip), a.last)
    }

    func testSharedAcrossThreads() throws {
        let encoder = WhisperEncoder(checkpoint: try Self.randomCheckpoint())
        let clips = (0..<6).map { Self.randomClip(samples: 3000 + 1500 * $0, seed: UInt64(10 + $0)) }
        let serial = try clips.map { try encoder.hiddenStates(samples16k: $0) }
        let results = Locked<[Int: [Tensor]]>([:])
        DispatchQueue.concurrentPerform(iterations: 12) { i in
            let out = try? encoder.hiddenStates(samples16k: clips[i % clips.count])
            results.withLock { $0[i] = out }
        }
        let parallel = results.withLock { $0 }
        // Overlapping calls split their work like a call alone (see `EncoderThreads`). With OpenBLAS's
        // SkylakeX kernels the results were identical; with OPENBLAS_CORETYPE=Haswell or Prescott, 4 to 10
        // of 12 overlapping calls (fresh workspaces) differed from lone ones by up to 1.5e-6 (absolute) on
        // this machine, OpenBLAS being single-threaded in both, while 20 lone repeats and 2 overlapping
        // calls were identical. Buffers shared by mistake would give errors of order 1.
        for i in 0..<12 {
            let got = try XCTUnwrap(parallel[i], "thread \(i) failed")
            let want = serial[i % clips.count]
            XCTAssertEqual(got.count, want.count)
            for (a, b) in zip(got, want) {
                XCTAssertEqual(a.shape, b.shape, "thread \(i)")
                XCTAssertLessThan(relativeError(a.data, b.data.map(Double.init)), 1e-5, "thread \(i)")
            }
        }
    }

    /// One thread and three (the encoder's own split: column blocks of 16, heads with their query, key
    /// and value columns, rows of ln_post) both match the float64 reference, agree with each
    /// other to rounding, and leave OpenBLAS's thread count as it was.
    func testOwnThreadSplitMatchesSingleThread() throws {
        let ckpt = try Self.randomCheckpoint(seed: 11)
        let encoder = WhisperEncoder(checkpoint: ckpt)
        let saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        for samples in [2400, 9001] {   // 7 and 29 encoder frames: column blocks of 32, 64 and 96 over 3 threads
            let clip = Self.randomClip(samples: samples, seed: UInt64(samples))
            let ref = Self.naiveStates(ckpt, mel: try XCTUnwrap(WhisperLogMel().compute(clip)))
            BLAS.setThreads(1)
            let one = try encoder.hiddenStates(samples16k: clip)
            XCTAssertEqual(BLAS.threads, 1)
            BLAS.setThreads(3)
            let three = try encoder.hiddenStates(samples16k: clip)
            XCTAssertEqual(BLAS.threads, 3, "the encoder sets OpenBLAS's thread count back after the call")
            for i in ref.indices {
                XCTAssertLessThan(relativeError(one[i].data, ref[i]), 1e-4, "1 thread, h\(i)")
                XCTAssertLessThan(relativeError(three[i].data, ref[i]), 1e-4, "3 threads, h\(i)")
                XCTAssertLessThan(relativeError(three[i].data, one[i].data.map(Double.init)), 1e-5, "3 vs 1 thread, h\(i)")
            }
        }
    }

    /// `Team`'s column blocks cover `0..<n` once, in whole multiples of 16 except the last, block `w`
    /// starting at `w * columnWidth(n)`; its row blocks cover their range once; `each` runs every worker once.
    func testTeamPartitions() {
        for threads in 1...4 {
            let team = Team(threads: threads)
            for n in [1, 15, 16, 17, 64, 192, 512, 1536, 2048] {
                let cols = Locked([Int](repeating: 0, count: n))
                team.columns(n) { from, to in
                    XCTAssertEqual(from % team.columnWidth(n), 0)
                    XCTAssertLessThan(from / team.columnWidth(n), threads)
                    XCTAssertEqual(from % 16, 0)
                    XCTAssertTrue(to == n || (to - from) % 16 == 0, "block \(from)..<\(to) of \(n)")
                    cols.withLock { for j in from..<to { $0[j] += 1 } }
                }
                XCTAssertEqual(cols.withLock { $0 }, [Int](repeating: 1, count: n), "columns, \(threads) threads, n \(n)")
                let rows = Locked([Int](repeating: 0, count: n))
                team.rows(n) { from, to in rows.withLock { for j in from..<to { $0[j] += 1 } } }
                XCTAssertEqual(rows.withLock { $0 }, [Int](repeating: 1, count: n), "rows, \(threads) threads, n \(n)")
                let workers = Locked([Int]())
                team.each { w in workers.withLock { $0.append(w) } }
                XCTAssertEqual(workers.withLock { $0.sorted() }, Array(0..<threads), "each, \(threads) threads")
            }
        }
    }

    /// `WhisperEncoder(contentsOf:)` reads a safetensors file straight into the encoder's store; the
    /// store must be bit for bit the one built from a `WhisperCheckpoint` of the same file (the path a
    /// `model.bin` takes), for OpenAI names (F32), Hugging Face names in F16 without a positional
    /// embedding, and a file with key biases; damaged and mis-shaped files give the same typed errors.
    func testSafetensorsLoadedInPlaceMatchesCheckpointPath() throws {
        let ckpt = try Self.randomCheckpoint()
        let dir = try SharedData.temporaryDirectory("encoder-inplace")
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = Self.randomClip(samples: 7000, seed: 4)

        func bothPaths(_ url: URL, _ label: String) throws {
            let inPlace = try WhisperEncoder(contentsOf: url)
            let viaCheckpoint = WhisperEncoder(checkpoint: try WhisperCheckpoint(contentsOf: url))
            XCTAssertEqual(inPlace.config, viaCheckpoint.config, label)
            XCTAssertEqual(inPlace.source, viaCheckpoint.source, label)
            XCTAssertEqual(inPlace.store.count, viaCheckpoint.store.count, label)
            XCTAssertGreaterThan(inPlace.store.count, 0, label)
            XCTAssertTrue(inPlace.store.contents.elementsEqual(viaCheckpoint.store.contents) { $0.bitPattern == $1.bitPattern },
                          "\(label): stores differ")
            XCTAssertEqual(try inPlace.hiddenStates(samples16k: clip), try viaCheckpoint.hiddenStates(samples16k: clip), label)
        }

        // OpenAI names, F32, as `ser encoder install` writes them.
        let openAI = dir.appendingPathComponent("openai.safetensors")
        try ckpt.write(to: openAI)
        try bothPaths(openAI, "OpenAI names")
        XCTAssertEqual(try WhisperEncoder(contentsOf: openAI).hiddenStates(samples16k: clip),
                       try WhisperEncoder(checkpoint: ckpt).hiddenStates(samples16k: clip), "OpenAI names vs memory")

        // Hugging Face names, F16 (the values are halves), no positional embedding, a decoder tensor.
        var hf = SafeTensorsFile()
        for (name, t) in ckpt.tensors where name != "encoder.positional_embedding" {
            var n = name
            for (a, b) in [("encoder.blocks.", "model.encoder.layers."), ("attn.query", "self_attn.q_proj"),
                           ("attn.key", "self_attn.k_proj"), ("attn.value", "self_attn.v_proj"), ("attn.out", "self_attn.out_proj"),
                           ("attn_ln", "self_attn_layer_norm"), ("mlp_ln", "final_layer_norm"), ("mlp.0", "fc1"), ("mlp.2", "fc2"),
                           ("encoder.ln_post", "model.encoder.layer_norm")] {
                n = n.replacingOccurrences(of: a, with: b)
            }
            if n.hasPrefix("encoder.conv") { n = "model." + n }
            hf[n] = t
            hf.halfPrecision.insert(n)
        }
        hf["model.decoder.layers.0.fc1.weight"] = Tensor(shape: [2, 2])
        let hfURL = dir.appendingPathComponent("hf.safetensors")
        try hf.write(to: hfURL)
        try bothPaths(hfURL, "Hugging Face names, F16, sinusoids")

        // Key biases present (Whisper has none; a file may): both paths use them.
        var withKeyBias = ckpt.tensors
        for l in 0..<Self.config.nLayer {
            withKeyBias["encoder.blocks.\(l).attn.key.bias"] = Tensor(shape: [64], data: (0..<64).map { Float($0) / 64 })
        }
        let keyBiasURL = dir.appendingPathComponent("keybias.safetensors")
        try WhisperCheckpoint(tensors: withKeyBias, config: Self.config, source: "x").write(to: keyBiasURL)
        try bothPaths(keyBiasURL, "key biases")
        XCTAssertNotEqual(try WhisperEncoder(contentsOf: keyBiasURL).hiddenStates(samples16k: clip),
                          try WhisperEncoder(contentsOf: openAI).hiddenStates(samples16k: clip), "the key biases are read")

        // A wrong shape and a flipped byte: the same typed errors, naming the file, from both paths.
        var wrong = SafeTensorsFile(tensors: ckpt.tensors, metadata: ckpt.config.metadata)
        wrong["encoder.blocks.1.mlp.0.bias"] = Tensor(shape: [255])
        let wrongURL = dir.appendingPathComponent("wrong.safetensors")
        try wrong.write(to: wrongURL)
        let expected = EncoderError.badShape(path: wrongURL.path, name: "encoder.blocks.1.mlp.0.bias", expected: [256], found: [255])
        XCTAssertThrowsError(try WhisperEncoder(contentsOf: wrongURL)) { XCTAssertEqual($0 as? EncoderError, expected) }
        XCTAssertThrowsError(try WhisperCheckpoint(contentsOf: wrongURL)) { XCTAssertEqual($0 as? EncoderError, expected) }
        var bytes = try Data(contentsOf: openAI)
        bytes[bytes.count - 5] ^= 0x40
        let damaged = dir.appendingPathComponent("damaged.safetensors")
        try bytes.write(to: damaged)
        for load in [{ _ = try WhisperEncoder(contentsOf: damaged) }, { _ = try WhisperCheckpoint(contentsOf: damaged) }] {
            XCTAssertThrowsError(try load()) {
                guard case let .malformed(path, reason)? = $0 as? EncoderError else { return XCTFail("\($0)") }
                XCTAssertEqual(path, damaged.path)
                XCTAssertTrue(reason.contains("damaged"), reason)
            }
        }
    }

    func testHuggingFaceNamesGiveTheSameEncoder() throws {
        let ckpt = try Self.randomCheckpoint()
        var hf = SafeTensorsFile()
        for (name, t) in ckpt.tensors {
            var n = name
            for (a, b) in [("encoder.blocks.", "model.encoder.layers."), ("attn.query", "self_attn.q_proj"),
                           ("attn.key", "self_attn.k_proj"), ("attn.value", "self_attn.v_proj"), ("attn.out", "self_attn.out_proj"),
                           ("attn_ln", "self_attn_layer_norm"), ("mlp_ln", "final_layer_norm"), ("mlp.0", "fc1"), ("mlp.2", "fc2"),
                           ("encoder.ln_post", "model.encoder.layer_norm"),
                           ("encoder.positional_embedding", "model.encoder.embed_positions.weight")] {
                n = n.replacingOccurrences(of: a, with: b)
            }
            if n.hasPrefix("encoder.conv") { n = "model." + n }
            hf[n] = t
        }
        hf["model.decoder.layers.0.fc1.weight"] = Tensor(shape: [2, 2])   // ignored
        hf["proj_out.weight"] = Tensor(shape: [2, 2])                      // ignored
        let fromHF = try WhisperCheckpoint(safetensors: hf)
        // Without metadata the head count is inferred as nState / 64 (true of every released Whisper).
        XCTAssertEqual(fromHF.config, WhisperConfig(nMels: 80, nState: 64, nHead: 1, nLayer: 2, nCtx: 64))
        XCTAssertEqual(Set(fromHF.tensors.keys), Set(ckpt.tensors.keys))
        for (k, v) in ckpt.tensors { XCTAssertEqual(fromHF.tensors[k], v, k) }
    }

    func testCTranslate2ModelBinGivesTheSameEncoder() throws {
        let ckpt = try Self.randomCheckpoint()
        let dir = try SharedData.temporaryDirectory("encoder-ct2")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.bin")
        try CT2Writer.write(ckpt, to: url)
        let fromCT2 = try WhisperCheckpoint(contentsOf: url)
        XCTAssertEqual(fromCT2.config, Self.config)
        XCTAssertEqual(Set(fromCT2.tensors.keys), Set(ckpt.tensors.keys))
        for (k, v) in ckpt.tensors { XCTAssertEqual(fromCT2.tensors[k], v, "\(k) (float16 values survive exactly)") }
        let clip = Self.randomClip(samples: 6000, seed: 9)
        XCTAssertEqual(try WhisperEncoder(checkpoint: fromCT2).hiddenStates(samples16k: clip),
                       try WhisperEncoder(checkpoint: ckpt).hiddenStates(samples16k: clip))

        // Truncated: a typed error naming the file.
        let data = try Data(contentsOf: url)
        let cut = dir.appendingPathComponent("cut.bin")
        try data.prefix(data.count - 100).write(to: cut)
        XCTAssertThrowsError(try WhisperCheckpoint(contentsOf: cut)) { error in
            guard case let EncoderError.malformed(path, _)? = error as? EncoderError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, cut.path)
        }
    }

    func testBadInputsAreTypedErrors() throws {
        let encoder = WhisperEncoder(checkpoint: try Self.randomCheckpoint())
        XCTAssertThrowsError(try encoder.hiddenStates(samples16k: [Float](repeating: 0, count: 100))) {
            XCTAssertEqual($0 as? EncoderError, .clipTooShort(samples: 100, minimum: 201))
        }
        // nCtx 64 encoder frames = 128 mel frames = up to 128 * 160 + 159 samples.
        XCTAssertEqual(encoder.maximumSamples, 20639)
        XCTAssertEqual(try encoder.hiddenStates(samples16k: Self.randomClip(samples: 20639, seed: 1)).last?.shape, [64, 64])
        XCTAssertThrowsError(try encoder.hiddenStates(samples16k: Self.randomClip(samples: 20640, seed: 1))) {
            XCTAssertEqual($0 as? EncoderError, .clipTooLong(samples: 20640, maximum: 20639))
        }
        XCTAssertThrowsError(try encoder.hiddenStates(logMel: Tensor(shape: [10, 40]))) {
            XCTAssertEqual($0 as? EncoderError, .badFeatures(expectedMels: 80, found: [10, 40]))
        }

        let ckpt = try Self.randomCheckpoint()
        var missing = ckpt.tensors
        missing["encoder.blocks.1.mlp.2.bias"] = nil
        XCTAssertThrowsError(try WhisperCheckpoint(tensors: missing, config: Self.config, path: "x")) {
            XCTAssertEqual($0 as? EncoderError, .missingTensor(path: "x", name: "encoder.blocks.1.mlp.2.bias"))
        }
        var wrong = ckpt.tensors
        wrong["encoder.ln_post.bias"] = Tensor(shape: [63])
        XCTAssertThrowsError(try WhisperCheckpoint(tensors: wrong, config: Self.config, path: "x")) {
            XCTAssertEqual($0 as? EncoderError, .badShape(path: "x", name: "encoder.ln_post.bias", expected: [64], found: [63]))
        }

        let dir = try SharedData.temporaryDirectory("encoder-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("junk.bin")
        try Data("not a model at all".utf8).write(to: junk)
        XCTAssertThrowsError(try WhisperEncoder(contentsOf: junk)) {
            guard case .malformed(let path, _)? = $0 as? EncoderError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, junk.path)
        }
        let absent = dir.appendingPathComponent("absent.safetensors")
        XCTAssertThrowsError(try WhisperEncoder(contentsOf: absent)) {
            guard case .io(let path, _)? = $0 as? EncoderError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, absent.path)
        }
    }

    func testOpenAINames() {
        let cases: [(String, String?)] = [
            ("model.encoder.layers.3.self_attn.q_proj.weight", "encoder.blocks.3.attn.query.weight"),
            ("model.encoder.layers.0.self_attn.k_proj.weight", "encoder.blocks.0.attn.key.weight"),
            ("model.encoder.layers.0.self_attn.out_proj.bias", "encoder.blocks.0.attn.out.bias"),
            ("model.encoder.layers.11.self_attn_layer_norm.weight", "encoder.blocks.11.attn_ln.weight"),
            ("model.encoder.layers.2.final_layer_norm.bias", "encoder.blocks.2.mlp_ln.bias"),
            ("model.encoder.layers.2.fc1.weight", "encoder.blocks.2.mlp.0.weight"),
            ("model.encoder.layers.2.fc2.bias", "encoder.blocks.2.mlp.2.bias"),
            ("model.encoder.embed_positions.weight", "encoder.positional_embedding"),
            ("model.encoder.layer_norm.weight", "encoder.ln_post.weight"),
            ("model.encoder.conv2.bias", "encoder.conv2.bias"),
            ("encoder.blocks.0.attn.query.weight", "encoder.blocks.0.attn.query.weight"),
            ("decoder.blocks.0.attn.query.weight", nil),
            ("model.decoder.layers.0.fc1.weight", nil),
            ("proj_out.weight", nil),
        ]
        for (name, expected) in cases { XCTAssertEqual(WhisperCheckpoint.openAIName(name), expected, name) }
    }

    func testSinusoidsMatchWhisperFormula() {
        let p = WhisperEncoder.sinusoids(length: 10, channels: 8)
        XCTAssertEqual(p.shape, [10, 8])
        // channel i < 4: sin(t * 10000^(-i/3)), i >= 4: cos(...)
        for t in 0..<10 { for i in 0..<4 {
            let a = Double(t) * pow(10000, -Double(i) / 3)
            XCTAssertEqual(Double(p[t, i]), sin(a), accuracy: 1e-5)
            XCTAssertEqual(Double(p[t, 4 + i]), cos(a), accuracy: 1e-5)
        } }
    }

    func testHalfPrecisionDecoding() {
        XCTAssertEqual(CTranslate2Reader.halfToFloat(0x3C00), 1)
        XCTAssertEqual(CTranslate2Reader.halfToFloat(0xC000), -2)
        XCTAssertEqual(CTranslate2Reader.halfToFloat(0x7BFF), 65504)
        XCTAssertEqual(CTranslate2Reader.halfToFloat(0x0001), Float(sign: .plus, exponent: -24, significand: 1))
        XCTAssertEqual(CTranslate2Reader.halfToFloat(0x8000).sign, .minus)
        XCTAssertEqual(CTranslate2Reader.halfToFloat(0x7C00), .infinity)
        XCTAssertTrue(CTranslate2Reader.halfToFloat(0x7E00).isNaN)
        var rng = SeededRandom(seed: 4)
        for _ in 0..<1000 {
            let h = Float16(rng.nextNormal() * 100)
            XCTAssertEqual(CTranslate2Reader.halfToFloat(h.bitPattern), Float(h))
        }
    }

    /// With real weights installed (`ser encoder install base`), the encoder runs a clip; skipped otherwise.
    func testInstalledBaseModelRuns() throws {
        let path = EncoderInstaller.weightsPath("base")
        guard FileManager.default.fileExists(atPath: path.path) else {
            throw XCTSkip("\(path.path) not installed (`make encoder ENCODER=base`): real-weight smoke test skipped")
        }
        let encoder = try WhisperEncoder(contentsOf: path)
        XCTAssertEqual(encoder.config, WhisperConfig(nMels: 80, nState: 512, nHead: 8, nLayer: 6, nCtx: 1500))
        let signal = try SafeTensorsFile(contentsOf: SharedData.fixture("librosa/tone_a440_16000.safetensors")).tensor("signal")
        let states = try encoder.hiddenStates(samples16k: signal.data)
        XCTAssertEqual(states.count, 7)
        for s in states { XCTAssertEqual(s.shape, [75, 512]); XCTAssertTrue(s.isFinite) }
    }
}

/// Writes a CTranslate2 `model.bin` (binary version 6, WhisperSpec) of an encoder checkpoint, as
/// CTranslate2's converter lays it out: query, key and value fused into `linear_0` (zero key bias),
/// float16 matrices, float32 layer norms, an int16 `num_heads`, a decoder variable and an alias.
enum CT2Writer {
    static func write(_ ckpt: WhisperCheckpoint, to url: URL) throws {
        let t = ckpt.tensors, c = ckpt.config, d = c.nState
        var vars: [(String, [Int], UInt8, Data)] = []
        func f16(_ name: String, _ values: [Float], _ shape: [Int]) {
            var data = Data()
            for v in values { var b = Float16(v).bitPattern.littleEndian; withUnsafeBytes(of: &b) { data.append(contentsOf: $0) } }
            vars.append((name, shape, 4, data))
        }
        func f32(_ name: String, _ values: [Float], _ shape: [Int]) {
            var data = Data()
            for v in values { var b = v.bitPattern.littleEndian; withUnsafeBytes(of: &b) { data.append(contentsOf: $0) } }
            vars.append((name, shape, 0, data))
        }
        func get(_ n: String) -> Tensor { t[n]! }
        f16("encoder/conv1/weight", get("encoder.conv1.weight").data, [d, c.nMels, 3])
        f16("encoder/conv1/bias", get("encoder.conv1.bias").data, [d])
        f16("encoder/conv2/weight", get("encoder.conv2.weight").data, [d, d, 3])
        f16("encoder/conv2/bias", get("encoder.conv2.bias").data, [d])
        f16("encoder/position_encodings/encodings", get("encoder.positional_embedding").data, [c.nCtx, d])
        f32("encoder/layer_norm/gamma", get("encoder.ln_post.weight").data, [d])
        f32("encoder/layer_norm/beta", get("encoder.ln_post.bias").data, [d])
        var heads = Int16(c.nHead).littleEndian
        vars.append(("encoder/num_heads", [], 2, withUnsafeBytes(of: &heads) { Data($0) }))
        for l in 0..<c.nLayer {
            let p = "encoder.blocks.\(l).", s = "encoder/layer_\(l)/"
            f32(s + "self_attention/layer_norm/gamma", get(p + "attn_ln.weight").data, [d])
            f32(s + "self_attention/layer_norm/beta", get(p + "attn_ln.bias").data, [d])
            f16(s + "self_attention/linear_0/weight",
                get(p + "attn.query.weight").data + get(p + "attn.key.weight").data + get(p + "attn.value.weight").data, [3 * d, d])
            f16(s + "self_attention/linear_0/bias",
                get(p + "attn.query.bias").data + [Float](repeating: 0, count: d) + get(p + "attn.value.bias").data, [3 * d])
            f16(s + "self_attention/linear_1/weight", get(p + "attn.out.weight").data, [d, d])
            f16(s + "self_attention/linear_1/bias", get(p + "attn.out.bias").data, [d])
            f32(s + "ffn/layer_norm/gamma", get(p + "mlp_ln.weight").data, [d])
            f32(s + "ffn/layer_norm/beta", get(p + "mlp_ln.bias").data, [d])
            f16(s + "ffn/linear_0/weight", get(p + "mlp.0.weight").data, [4 * d, d])
            f16(s + "ffn/linear_0/bias", get(p + "mlp.0.bias").data, [4 * d])
            f16(s + "ffn/linear_1/weight", get(p + "mlp.2.weight").data, [d, 4 * d])
            f16(s + "ffn/linear_1/bias", get(p + "mlp.2.bias").data, [d])
        }
        f16("decoder/embeddings/weight", [Float](repeating: 0.5, count: 12), [3, 4])
        vars.sort { $0.0 < $1.0 }

        var out = Data()
        func u32(_ v: Int) { var x = UInt32(v).littleEndian; withUnsafeBytes(of: &x) { out.append(contentsOf: $0) } }
        func str(_ s: String) {
            var n = UInt16(s.utf8.count + 1).littleEndian
            withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
            out.append(contentsOf: Array(s.utf8)); out.append(0)
        }
        u32(6); str("WhisperSpec"); u32(3); u32(vars.count)
        for (name, shape, dtype, data) in vars {
            str(name); out.append(UInt8(shape.count)); for s in shape { u32(s) }
            out.append(dtype); u32(data.count); out.append(data)
        }
        u32(1); str("decoder/projection/weight"); str("decoder/embeddings/weight")
        try out.write(to: url)
    }
}
