import Foundation
import XCTest
import SERCore
import SERFeatures
import SERTestSupport
@testable import SERModel

/// One decoded protobuf field: its number, wire type and value (varint, 32-bit word or bytes).
private struct Field {
    let number: Int
    let wireType: Int
    let varint: UInt64
    let bytes: [UInt8]

    var int: Int { Int(Int64(bitPattern: varint)) }
    var string: String { String(decoding: bytes, as: UTF8.self) }
    func message() throws -> [Field] { try parseProto(bytes) }
}

private enum ParseError: Error { case truncated(Int), unsupportedWireType(Int) }

/// A minimal protobuf reader (wire types 0, 1, 2, 5) for checking what ``ProtobufWriter`` wrote.
private func parseProto(_ b: [UInt8]) throws -> [Field] {
    var i = 0, out: [Field] = []
    func varint() throws -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard i < b.count, shift < 64 else { throw ParseError.truncated(i) }
            let byte = b[i]; i += 1
            v |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return v }
            shift += 7
        }
    }
    while i < b.count {
        let key = try varint()
        let number = Int(key >> 3), wire = Int(key & 7)
        switch wire {
        case 0: out.append(Field(number: number, wireType: 0, varint: try varint(), bytes: []))
        case 1, 5:
            let n = wire == 1 ? 8 : 4
            guard i + n <= b.count else { throw ParseError.truncated(i) }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(b[i + k]) << UInt64(8 * k) }
            out.append(Field(number: number, wireType: wire, varint: v, bytes: Array(b[i..<(i + n)])))
            i += n
        case 2:
            let n = Int(try varint())
            guard n >= 0, i + n <= b.count else { throw ParseError.truncated(i) }
            out.append(Field(number: number, wireType: 2, varint: 0, bytes: Array(b[i..<(i + n)])))
            i += n
        default: throw ParseError.unsupportedWireType(wire)
        }
    }
    return out
}

private extension Array where Element == Field {
    func all(_ n: Int) -> [Field] { filter { $0.number == n } }
    func first(_ n: Int) -> Field? { first { $0.number == n } }
}

/// The parts of a parsed ONNX model the tests look at.
private struct ParsedModel {
    struct Node { let op: String; let inputs: [String]; let outputs: [String]; let attributes: [String: Field] }
    var irVersion = 0, opset = 0
    var nodes: [Node] = []
    var initializers: [String: (dims: [Int], type: Int, raw: [UInt8])] = [:]
    var inputs: [(String, [String])] = []           // name, dims as "value" or "param"
    var outputs: [(String, [String])] = []
    var metadata: [String: String] = [:]

    init(_ bytes: [UInt8]) throws {
        let model = try parseProto(bytes)
        irVersion = model.first(1)?.int ?? -1
        opset = try model.first(8)?.message().first(2)?.int ?? -1
        for e in model.all(14) {
            let m = try e.message()
            metadata[m.first(1)?.string ?? ""] = m.first(2)?.string ?? ""
        }
        guard let graph = try model.first(7)?.message() else { return }
        for n in graph.all(1) {
            let m = try n.message()
            var attrs: [String: Field] = [:]
            for a in m.all(5) { let f = try a.message(); attrs[f.first(1)?.string ?? ""] = a }
            nodes.append(Node(op: m.first(4)?.string ?? "", inputs: m.all(1).map(\.string),
                              outputs: m.all(2).map(\.string), attributes: attrs))
        }
        for t in graph.all(5) {
            let m = try t.message()
            initializers[m.first(8)?.string ?? ""] = (m.all(1).map(\.int), m.first(2)?.int ?? 0, m.first(9)?.bytes ?? [])
        }
        func valueInfo(_ f: Field) throws -> (String, [String]) {
            let m = try f.message()
            let shape = try m.first(2)?.message().first(1)?.message().first(2)?.message() ?? []
            let dims = try shape.all(1).map { d -> String in
                let dm = try d.message()
                if let v = dm.first(1) { return "\(v.int)" }
                return dm.first(2)?.string ?? "?"
            }
            return (m.first(1)?.string ?? "", dims)
        }
        inputs = try graph.all(11).map(valueInfo)
        outputs = try graph.all(12).map(valueInfo)
    }

    func floats(_ name: String) -> [Float] {
        guard let raw = initializers[name]?.raw else { return [] }
        return stride(from: 0, to: raw.count, by: 4).map { i in
            Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
        }
    }
}

final class ONNXExportTests: XCTestCase {
    /// A small trained-shape model file: 5 input channels, 3 classes, temperature 1.5.
    private func savedModel(_ config: STACNNConfig) throws -> SavedModel {
        var fc = FeatureConfig()
        fc.blocks = [.chroma]
        fc.nChroma = config.inputChannels
        let model = try STACNN(config: config, seed: 7)
        var saved = SavedModel(model: model, labels: ["a", "b", "c"], featureConfig: fc,
                               standardizer: Standardizer(mean: [0, 1, 2, 3, 4], std: [1, 2, 3, 4, 5]),
                               normalization: .utterance)
        saved.temperature = 1.5
        return saved
    }

    func testWireFormatMatchesTheProtobufEncoding() {
        var w = ProtobufWriter()
        w.int(1, 150)                                   // the protobuf documentation's example: 08 96 01
        XCTAssertEqual(w.bytes, [0x08, 0x96, 0x01])
        w = ProtobufWriter()
        w.string(2, "testing")
        XCTAssertEqual(w.bytes, [0x12, 0x07] + Array("testing".utf8))
        w = ProtobufWriter()
        w.int(3, -1)                                    // negative int64: ten bytes of varint
        XCTAssertEqual(w.bytes, [0x18] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        w = ProtobufWriter()
        w.float(2, 1)                                   // fixed32 little-endian 0x3F800000
        XCTAssertEqual(w.bytes, [0x15, 0x00, 0x00, 0x80, 0x3F])
        w = ProtobufWriter()
        w.packedInts(8, [1, 300])
        XCTAssertEqual(w.bytes, [0x42, 0x03, 0x01, 0xAC, 0x02])
        XCTAssertEqual(littleEndianBytes([Int](arrayLiteral: -2)), [0xFE] + [UInt8](repeating: 0xFF, count: 7))
    }

    func testExportedGraphStructure() throws {
        let config = smallConfig()                      // 5 -> conv 6, 6, 8 -> BiLSTM 2x4 -> 2 heads -> 3 classes
        let saved = try savedModel(config)
        let m = try ParsedModel(ONNXExporter.model(saved, path: "small.safetensors").serialized())
        XCTAssertEqual(m.irVersion, 8)
        XCTAssertEqual(m.opset, 17)

        XCTAssertEqual(m.inputs.count, 1)
        XCTAssertEqual(m.inputs.first?.0, "features")
        XCTAssertEqual(m.inputs.first?.1, ["batch", "5", "frames"])
        XCTAssertEqual(m.outputs.map(\.0), ["probabilities", "logits"])
        XCTAssertEqual(m.outputs.map(\.1), [["batch", "3"], ["batch", "3"]])

        let shapes = m.initializers.mapValues(\.dims)
        XCTAssertEqual(shapes["lfe.0.weight"], [6, 5, 3])
        XCTAssertEqual(shapes["lfe.2.bias"], [8])
        XCTAssertEqual(shapes["cfe.W"], [2, 16, 8])
        XCTAssertEqual(shapes["cfe.R"], [2, 16, 4])
        XCTAssertEqual(shapes["cfe.B"], [2, 32])
        XCTAssertEqual(shapes["gfe.q_proj.weight_t"], [8, 8])
        XCTAssertEqual(shapes["gfe.out_proj.weight_t"], [8, 8])
        XCTAssertEqual(shapes["classifier.weight"], [3, 8])
        XCTAssertEqual(shapes["inverse_temperature"], [])
        XCTAssertEqual(m.floats("inverse_temperature"), [1 / Float(1.5)])
        // The conv weights go in unchanged (PyTorch's Conv1d layout is ONNX's).
        XCTAssertEqual(m.floats("lfe.0.weight"), saved.weights["lfe.0.weight"]?.data)
        XCTAssertEqual(m.initializers["lfe.0.weight"]?.type, 1)

        // The layers in order, the pools as Pad/Shape/Div/Max/Mul/Slice/MaxPool.
        let ops = m.nodes.map(\.op)
        let main = ops.filter { ["Conv", "Relu", "MaxPool", "LSTM", "Softmax", "ReduceSum", "Gemm"].contains($0) }
        XCTAssertEqual(main, ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool",
                              "LSTM", "Softmax", "ReduceSum", "Gemm", "Softmax"])
        XCTAssertEqual(ops.filter { $0 == "Pad" }.count, 3)
        XCTAssertEqual(m.nodes.last?.outputs, ["probabilities"])
        let lstm = try XCTUnwrap(m.nodes.first { $0.op == "LSTM" })
        XCTAssertEqual(try lstm.attributes["hidden_size"]?.message().first(3)?.int, 4)
        XCTAssertEqual(try lstm.attributes["direction"]?.message().first(4)?.string, "bidirectional")
        let attention = try XCTUnwrap(m.nodes.first { $0.op == "Softmax" })
        XCTAssertEqual(try attention.attributes["axis"]?.message().first(3)?.int, -1)

        // Every node reads only the graph input, initializers or earlier outputs (topological order).
        var known = Set(m.initializers.keys).union(["features"])
        for n in m.nodes {
            for i in n.inputs where !i.isEmpty { XCTAssertTrue(known.contains(i), "\(n.op) reads \(i) before it exists") }
            known.formUnion(n.outputs)
        }
        XCTAssertTrue(known.isSuperset(of: ["probabilities", "logits"]))

        // Everything a Python user needs is in the metadata.
        XCTAssertEqual(m.metadata["format"], "ser-stacnn-onnx-1")
        XCTAssertEqual(try JSONDecoder().decode([String].self, from: Data((m.metadata["labels"] ?? "").utf8)), ["a", "b", "c"])
        XCTAssertEqual(try JSONDecoder().decode(Standardizer.self, from: Data((m.metadata["standardizer"] ?? "").utf8)),
                       saved.standardizer)
        XCTAssertEqual(try JSONDecoder().decode(FeatureConfig.self, from: Data((m.metadata["feature_config"] ?? "").utf8)),
                       saved.featureConfig)
        XCTAssertEqual(m.metadata["normalization"], "utterance")
        XCTAssertEqual(m.metadata["temperature"].flatMap(Float.init), 1.5)
    }

    func testLSTMWeightsAreInONNXGateOrder() throws {
        let config = smallConfig()
        let saved = try savedModel(config)
        let m = try ParsedModel(ONNXExporter.model(saved).serialized())
        let H = config.lstmHidden, C = config.lfeChannels
        let W = m.floats("cfe.W"), R = m.floats("cfe.R"), B = m.floats("cfe.B")
        // PyTorch rows: i [0, H), f [H, 2H), g [2H, 3H), o [3H, 4H); ONNX: i, o, f, c.
        let onnxToTorch = [0, 3, 1, 2]
        for (d, suffix) in ["", "_reverse"].enumerated() {
            let wih = try XCTUnwrap(saved.weights["cfe.weight_ih_l0\(suffix)"]).data
            let whh = try XCTUnwrap(saved.weights["cfe.weight_hh_l0\(suffix)"]).data
            let bih = try XCTUnwrap(saved.weights["cfe.bias_ih_l0\(suffix)"]).data
            let bhh = try XCTUnwrap(saved.weights["cfe.bias_hh_l0\(suffix)"]).data
            for (gate, torchGate) in onnxToTorch.enumerated() {
                for r in 0..<H {
                    let onnxRow = d * 4 * H + gate * H + r, torchRow = torchGate * H + r
                    XCTAssertEqual(Array(W[(onnxRow * C)..<((onnxRow + 1) * C)]), Array(wih[(torchRow * C)..<((torchRow + 1) * C)]))
                    XCTAssertEqual(Array(R[(onnxRow * H)..<((onnxRow + 1) * H)]), Array(whh[(torchRow * H)..<((torchRow + 1) * H)]))
                    XCTAssertEqual(B[d * 8 * H + gate * H + r], bih[torchRow])
                    XCTAssertEqual(B[d * 8 * H + 4 * H + gate * H + r], bhh[torchRow])
                }
            }
        }
    }

    func testAttentionProjectionsAreSplitAndTransposed() throws {
        let config = smallConfig()
        let saved = try savedModel(config)
        let m = try ParsedModel(ONNXExporter.model(saved).serialized())
        let E = config.sequenceChannels
        let w = try XCTUnwrap(saved.weights["gfe.in_proj_weight"]).data        // (3E, E)
        let b = try XCTUnwrap(saved.weights["gfe.in_proj_bias"]).data
        for (k, part) in ["q", "k", "v"].enumerated() {
            let wt = m.floats("gfe.\(part)_proj.weight_t")                    // (E, E) = rows k*E.. transposed
            for r in 0..<E { for c in 0..<E { XCTAssertEqual(wt[c * E + r], w[(k * E + r) * E + c]) } }
            XCTAssertEqual(m.floats("gfe.\(part)_proj.bias"), Array(b[(k * E)..<((k + 1) * E)]))
        }
        XCTAssertEqual(m.floats("gfe.scale"), [1 / Float(E / config.heads).squareRoot()])
    }

    func testAblationsExport() throws {
        for (cfe, gfe) in [(false, true), (true, false), (false, false)] {
            let config = smallConfig(cfe: cfe, gfe: gfe)
            let m = try ParsedModel(ONNXExporter.model(try savedModel(config)).serialized())
            let ops = Set(m.nodes.map(\.op))
            XCTAssertEqual(ops.contains("LSTM"), cfe)
            XCTAssertEqual(ops.contains("ReduceSum"), gfe)
            XCTAssertEqual(ops.contains("ReduceMean"), !gfe)
            XCTAssertEqual(m.initializers["classifier.weight"]?.dims, [3, config.sequenceChannels])
            var known = Set(m.initializers.keys).union(["features"])
            for n in m.nodes {
                for i in n.inputs where !i.isEmpty { XCTAssertTrue(known.contains(i), "cfe \(cfe) gfe \(gfe): \(n.op) reads \(i)") }
                known.formUnion(n.outputs)
            }
        }
    }

    func testWritesTheBundledHandmadeModel() throws {
        let url = SharedData.packageRoot.appendingPathComponent("models/handmade.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("models/handmade.safetensors is absent") }
        let saved = try SavedModel.read(from: url)
        let dir = try SharedData.temporaryDirectory("onnx")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("handmade.onnx")
        try ONNXExporter.write(saved, path: url.path, to: out)
        let m = try ParsedModel(Array(try Data(contentsOf: out)))
        XCTAssertEqual(m.inputs.first?.1, ["batch", "\(saved.config.inputChannels)", "frames"])
        XCTAssertEqual(m.outputs.first?.1, ["batch", "\(saved.labels.count)"])
        // Every weight scalar is in the file once, as float32 (the GFE's in_proj split in three).
        let floats = m.initializers.values.filter { $0.type == 1 }.reduce(0) { $0 + $1.raw.count / 4 }
        let expected = saved.weights.values.reduce(0) { $0 + $1.data.count } + 2   // + scale and 1/temperature
        XCTAssertEqual(floats, expected)
        XCTAssertEqual(m.metadata["labels"].map { Data($0.utf8) }.flatMap { try? JSONDecoder().decode([String].self, from: $0) },
                       saved.labels)
    }

    func testUnwritableDestinationNamesTheFile() throws {
        let saved = try savedModel(smallConfig())
        let bad = URL(fileURLWithPath: "/nonexistent-dir-\(UUID().uuidString)/m.onnx")
        XCTAssertThrowsError(try ONNXExporter.write(saved, to: bad)) { error in
            guard case ONNXExportError.unwritable(let path, _)? = error as? ONNXExportError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(path, bad.path)
        }
    }
}
