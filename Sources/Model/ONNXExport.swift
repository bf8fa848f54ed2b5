import Foundation
import SERCore
import SERFeatures
import SERNetwork

/// Why a model could not be exported to ONNX; each case names the file.
public enum ONNXExportError: Error, CustomStringConvertible, Equatable {
    /// The model lacks a weight the graph needs (a model file that passed ``SavedModel`` validation
    /// always has them).
    case missingWeight(path: String, name: String)
    /// The `.onnx` file cannot be written.
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingWeight(p, n): return "\(p): cannot export to ONNX: tensor '\(n)' is missing"
        case let .unwritable(p, r): return "\(p): cannot write the ONNX file: \(r)"
        }
    }
}

/// Writes a ``SavedModel``'s STA-CNN network as an ONNX graph (opset 17, IR 8) that onnxruntime
/// runs without any other file.
///
/// **Input** `features`, float `[batch, channels, frames]` (dynamic `batch` and `frames`): the
/// model input *after* the pipeline's per-clip normalisation and the standardiser, i.e. the
/// `[C, T]` matrix ``STACNN/predict(features:)`` takes, with a batch axis in front. All clips of a
/// batch have the same number of frames: the graph has no padding mask, so for clips of different
/// lengths run one clip per call (or the probabilities of the shorter ones change).
///
/// **Outputs** `probabilities` `[batch, classes]`: `softmax(logits / temperature)`, the
/// calibrated probabilities ``STACNN/predict(features:)`` returns; and `logits` `[batch, classes]`.
///
/// **Graph**, layer by layer as ``STACNN`` computes it (dropout is the identity at inference):
/// ```
/// features (B, C, T)
/// -> [Conv k (same padding) -> Relu -> MaxPool 2] x n        LFE  (B, C_l, T')
///    (the pool keeps a 1-frame sequence: T' = max(1, floor(T/2)), via edge Pad + Slice)
/// -> Transpose (T', B, C_l) -> LSTM bidirectional -> (B, T', 2H)   CFE
/// -> Q, K, V = x W^T + b; per head softmax(Q K^T / sqrt(d)) V;
///    concatenated heads -> out_proj -> ReduceSum over positions   GFE  (B, E)
///    (without GFE: ReduceMean over positions)
/// -> Gemm (classifier) = logits -> Mul 1/temperature -> Softmax = probabilities
/// ```
/// The LSTM weights are reordered from PyTorch's gate order (i, f, g, o) to ONNX's (i, o, f, c),
/// and `B` holds `[bias_ih, bias_hh]` per direction. Summing the attention outputs *after*
/// `out_proj` adds the projection's bias once per position, exactly as the Swift layer's
/// `len * b_out`.
///
/// **Metadata** (`metadata_props`), so that a Python user needs only the `.onnx` file:
/// `format` (`ser-stacnn-onnx-1`), `labels` (JSON array, index = class), `standardizer` (JSON
/// `{"mean": [...], "std": [...]}`, applied as `(x - mean) / std` per channel), `normalization`
/// (`global`, `utterance` or `speaker`: the per-clip z-scoring before the standardiser),
/// `feature_config` (JSON, ``FeatureConfig``'s keys), `model_config` (JSON), `temperature`,
/// `input_layout`. For a model with the `encoder` feature block the file holds the head only:
/// the Whisper encoder's hidden states are its input.
public enum ONNXExporter {
    /// Value of the `format` metadata entry.
    public static let formatTag = "ser-stacnn-onnx-1"
    /// Name of the graph input.
    public static let inputName = "features"
    /// Name of the calibrated probabilities output.
    public static let probabilitiesName = "probabilities"
    /// Name of the raw logits output.
    public static let logitsName = "logits"

    /// The ONNX model for `saved`. `path` names the model file in errors and in the graph's doc string.
    public static func model(_ saved: SavedModel, path: String = "<memory>") throws -> ONNX.Model {
        var b = GraphBuilder(weights: saved.weights, path: path)
        let cfg = saved.config
        b.graph.inputs = [ONNX.ValueInfo(name: inputName, shape: [.param("batch"), .value(cfg.inputChannels), .param("frames")])]

        // The learned weighted sum of the encoder's hidden states, as a 1x1 convolution without
        // bias: (B, C, T) -> (B, C_lfe, T); its matrix holds softmax(w)_l at (offset + d, offset +
        // l*D + d) and 1 on the pass-through channels.
        var x = inputName
        if let s = cfg.layerSum {
            let a = LayerWeightedSum.softmax(try b.weightData("layer_sum.weight"))
            let (C, Co, D, o) = (cfg.inputChannels, cfg.lfeInputChannels, s.width, s.offset)
            var m = [Float](repeating: 0, count: Co * C)                 // (Co, C, 1)
            for c in 0..<o { m[c * C + c] = 1 }
            for l in 0..<s.layers { for d in 0..<D { m[(o + d) * C + o + l * D + d] = a[l] } }
            for k in 0..<(C - o - s.layers * D) { m[(o + D + k) * C + o + s.layers * D + k] = 1 }
            let w = b.initializer("layer_sum.matrix", dims: [Co, C, 1], floats: m)
            x = b.add("Conv", [x, w], name: "layer_sum", attributes: [
                .ints("kernel_shape", [1]), .ints("pads", [0, 0]), .ints("strides", [1]), .ints("dilations", [1])])
        }

        // LFE: (B, C, T) -> (B, C_l, T').
        for i in cfg.convChannels.indices {
            let w = try b.weight("lfe.\(i).weight"), bias = try b.weight("lfe.\(i).bias")
            let half = cfg.kernelSize / 2
            x = b.add("Conv", [x, w, bias], name: "lfe.\(i).conv", attributes: [
                .ints("kernel_shape", [cfg.kernelSize]), .ints("pads", [half, half]),
                .ints("strides", [1]), .ints("dilations", [1])])
            x = b.add("Relu", [x], name: "lfe.\(i).relu")
            x = b.maxPool2(x, name: "lfe.\(i).pool")
        }

        // CFE: (B, C_l, T') -> (B, T', E).
        var seq: String
        var width = cfg.lfeChannels
        if cfg.useCFE {
            let H = cfg.lstmHidden
            let steps = b.add("Transpose", [x], name: "cfe.to_time_major", attributes: [.ints("perm", [2, 0, 1])])   // (T', B, C_l)
            var W: [Float] = [], R: [Float] = [], Bias: [Float] = []
            for suffix in ["", "_reverse"] {
                W += lstmGatesToONNX(try b.weightData("cfe.weight_ih_l0\(suffix)"), hidden: H)
                R += lstmGatesToONNX(try b.weightData("cfe.weight_hh_l0\(suffix)"), hidden: H)
                Bias += lstmGatesToONNX(try b.weightData("cfe.bias_ih_l0\(suffix)"), hidden: H)
                Bias += lstmGatesToONNX(try b.weightData("cfe.bias_hh_l0\(suffix)"), hidden: H)
            }
            let wName = b.initializer("cfe.W", dims: [2, 4 * H, width], floats: W)
            let rName = b.initializer("cfe.R", dims: [2, 4 * H, H], floats: R)
            let bName = b.initializer("cfe.B", dims: [2, 8 * H], floats: Bias)
            let y = b.add("LSTM", [steps, wName, rName, bName], name: "cfe.lstm", attributes: [
                .string("direction", "bidirectional"), .int("hidden_size", H)])           // (T', 2, B, H)
            let yb = b.add("Transpose", [y], name: "cfe.to_batch_major", attributes: [.ints("perm", [2, 0, 1, 3])])  // (B, T', 2, H)
            let shape = b.ints("shape.cfe", [0, 0, 2 * H])
            seq = b.add("Reshape", [yb, shape], name: "cfe.concat_directions")   // (B, T', 2H)
            width = 2 * H
        } else {
            seq = b.add("Transpose", [x], name: "lfe.to_batch_major", attributes: [.ints("perm", [0, 2, 1])])  // (B, T', C_l)
        }

        // GFE: (B, T', E) -> (B, E).
        let pooled: String
        if cfg.useGFE {
            pooled = try b.attentionSum(seq, embed: width, heads: cfg.heads)
        } else {
            pooled = b.add("ReduceMean", [seq], name: "mean_over_positions",
                           attributes: [.ints("axes", [1]), .int("keepdims", 0)])
        }

        // Classifier and calibrated softmax.
        let wc = try b.weight("classifier.weight"), bc = try b.weight("classifier.bias")
        b.add("Gemm", [pooled, wc, bc],
              name: "classifier", attributes: [.int("transB", 1)], output: logitsName)
        let beta = b.initializer("inverse_temperature", dims: [], floats: [1 / saved.temperature])
        let scaled = b.add("Mul", [logitsName, beta], name: "temperature")
        b.add("Softmax", [scaled], name: "softmax", attributes: [.int("axis", 1)], output: probabilitiesName)
        b.graph.outputs = [
            ONNX.ValueInfo(name: probabilitiesName, shape: [.param("batch"), .value(cfg.numClasses)]),
            ONNX.ValueInfo(name: logitsName, shape: [.param("batch"), .value(cfg.numClasses)]),
        ]
        b.graph.docString = "STA-CNN (LFE conv x\(cfg.convChannels.count), "
            + (cfg.useCFE ? "BiLSTM, " : "") + (cfg.useGFE ? "self-attention summed over positions, " : "mean over positions, ")
            + "dense, softmax / \(saved.temperature)) exported by ser from \((path as NSString).lastPathComponent)"

        var model = ONNX.Model(graph: b.graph)
        model.producerVersion = SERVersion.current
        model.docString = "Speech emotion recognition: STA-CNN head. Input: standardised features [batch, channels, frames]; "
            + "output: calibrated class probabilities [batch, classes]. See metadata_props."
        model.metadata = metadata(saved)
        return model
    }

    /// The `metadata_props` entries for `saved` (see the type's documentation).
    public static func metadata(_ saved: SavedModel) -> [(key: String, value: String)] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ v: T) -> String { String(decoding: (try? enc.encode(v)) ?? Data(), as: UTF8.self) }
        return [
            ("format", formatTag),
            ("labels", json(saved.labels)),
            ("standardizer", json(saved.standardizer)),
            ("normalization", saved.normalization.rawValue),
            ("feature_config", saved.featureConfig.jsonString()),
            ("model_config", saved.config.jsonString()),
            ("temperature", "\(saved.temperature)"),
            ("input_layout", "features: float32 [batch, channels, frames], after per-clip normalisation "
                + "(metadata 'normalization') and (x - mean) / std with 'standardizer'; "
                + "clips of one batch share their frame count"),
        ]
    }

    /// Writes `saved` as an ONNX file at `url` (atomically). `path` names the source model in errors.
    public static func write(_ saved: SavedModel, path: String = "<memory>", to url: URL) throws {
        let bytes = try model(saved, path: path).serialized()
        do { try Data(bytes).write(to: url, options: .atomic) } catch {
            throw ONNXExportError.unwritable(path: url.path, reason: error.localizedDescription)
        }
    }

    /// PyTorch's LSTM gate blocks (i, f, g, o), each `hidden` rows of a `(4H, n)` matrix (or `4H`
    /// bias entries), reordered into ONNX's (i, o, f, c).
    public static func lstmGatesToONNX(_ data: [Float], hidden H: Int) -> [Float] {
        let block = data.count / 4
        precondition(block * 4 == data.count && block % H == 0, "lstmGatesToONNX: \(data.count) values for hidden size \(H)")
        return [0, 3, 1, 2].flatMap { data[($0 * block)..<(($0 + 1) * block)] }
    }
}

/// Accumulates nodes and initializers with unique names.
private struct GraphBuilder {
    var graph = ONNX.Graph(name: "stacnn")
    let weights: [String: Tensor]
    let path: String
    private var counter = 0
    private var constants: [[Int]: String] = [:]

    init(weights: [String: Tensor], path: String) {
        self.weights = weights
        self.path = path
    }

    /// A model weight's values.
    func weightData(_ name: String) throws -> [Float] {
        guard let t = weights[name] else { throw ONNXExportError.missingWeight(path: path, name: name) }
        return t.data
    }

    /// A model weight as an initializer of the same name and shape; returns its name.
    mutating func weight(_ name: String) throws -> String {
        guard let t = weights[name] else { throw ONNXExportError.missingWeight(path: path, name: name) }
        return initializer(name, dims: t.shape, floats: t.data)
    }

    /// Rows `rows` of the `(R, cols)` weight `name`, transposed to `(cols, rows.count)` (for
    /// `MatMul(x, W^T)`); returns the new initializer's name.
    mutating func transposedRows(_ name: String, _ rows: Range<Int>, as newName: String) throws -> String {
        guard let t = weights[name], t.shape.count == 2 else { throw ONNXExportError.missingWeight(path: path, name: name) }
        let cols = t.shape[1]
        var out = [Float](repeating: 0, count: rows.count * cols)        // (cols, rows.count)
        for (r, row) in rows.enumerated() { for c in 0..<cols { out[c * rows.count + r] = t.data[row * cols + c] } }
        return initializer(newName, dims: [cols, rows.count], floats: out)
    }

    /// Entries `range` of the 1-D weight `name` as a new initializer.
    mutating func slice(_ name: String, _ range: Range<Int>, as newName: String) throws -> String {
        guard let t = weights[name] else { throw ONNXExportError.missingWeight(path: path, name: name) }
        return initializer(newName, dims: [range.count], floats: Array(t.data[range]))
    }

    @discardableResult
    mutating func initializer(_ name: String, dims: [Int], floats: [Float]) -> String {
        graph.initializers.append(ONNX.Tensor(name: name, dims: dims, floats: floats))
        return name
    }

    /// A 1-D INT64 constant (shared by every node that needs the same values).
    mutating func ints(_ name: String, _ values: [Int]) -> String {
        if let n = constants[values] { return n }
        graph.initializers.append(ONNX.Tensor(name: name, dims: [values.count], ints: values))
        constants[values] = name
        return name
    }

    /// Appends a node; returns the name of its (first) output, `output` or a fresh one.
    @discardableResult
    mutating func add(_ op: String, _ inputs: [String], name: String, attributes: [ONNX.Attribute] = [], output: String? = nil) -> String {
        counter += 1
        let out = output ?? "\(name):\(counter)"
        graph.nodes.append(ONNX.Node(op, inputs, [out], name: name, attributes: attributes))
        return out
    }

    /// Max-pooling over the last axis of `(B, C, T)`, window 2, stride 2, as ``MaxPool1D``:
    /// `T' = max(1, floor(T / 2))`. A plain floor-mode MaxPool would give no frame for `T = 1`,
    /// so the input is first padded by repeating its last frame and then cut to
    /// `2 * max(1, floor(T / 2))` frames (all original frames when `T >= 2`; the frame twice when
    /// `T = 1`).
    mutating func maxPool2(_ x: String, name: String) -> String {
        let pads = ints("pads.pool", [0, 0, 0, 0, 0, 1]), zero = ints("const.0", [0])
        let one = ints("const.1", [1]), two = ints("const.2", [2])
        let padded = add("Pad", [x, pads], name: "\(name).repeat_last",
                         attributes: [.string("mode", "edge")])                               // (B, C, T + 1)
        let t = add("Shape", [x], name: "\(name).frames", attributes: [.int("start", 2), .int("end", 3)])  // [T]
        let half = add("Div", [t, two], name: "\(name).half")                                 // [floor(T/2)]
        let kept = add("Max", [half, one], name: "\(name).at_least_one")
        let end = add("Mul", [kept, two], name: "\(name).even_frames")
        let cut = add("Slice", [padded, zero, end, two], name: "\(name).cut")                 // axes [2]
        return add("MaxPool", [cut], name: name, attributes: [.ints("kernel_shape", [2]), .ints("strides", [2])])
    }

    /// Multi-head self-attention over `(B, T, E)` summed over positions, as
    /// ``MultiHeadSelfAttention`` (PyTorch `nn.MultiheadAttention` weights): `(B, E)`.
    mutating func attentionSum(_ x: String, embed E: Int, heads nh: Int) throws -> String {
        let dh = E / nh
        var projected: [String] = []                    // Q, K, V, each (B, T, E)
        for (k, part) in ["q", "k", "v"].enumerated() {
            let w = try transposedRows("gfe.in_proj_weight", (k * E)..<((k + 1) * E), as: "gfe.\(part)_proj.weight_t")
            let bias = try slice("gfe.in_proj_bias", (k * E)..<((k + 1) * E), as: "gfe.\(part)_proj.bias")
            let m = add("MatMul", [x, w], name: "gfe.\(part)_proj")
            projected.append(add("Add", [m, bias], name: "gfe.\(part)_proj.add_bias"))
        }
        let split = ints("shape.heads", [0, 0, nh, dh])
        func heads(_ v: String, _ part: String, _ perm: [Int], _ b: inout GraphBuilder) -> String {
            let r = b.add("Reshape", [v, split], name: "gfe.\(part)_split_heads")                   // (B, T, h, d)
            return b.add("Transpose", [r], name: "gfe.\(part)_heads_first", attributes: [.ints("perm", perm)])
        }
        let q = heads(projected[0], "q", [0, 2, 1, 3], &self)                                     // (B, h, T, d)
        let kT = heads(projected[1], "k", [0, 2, 3, 1], &self)                                    // (B, h, d, T)
        let v = heads(projected[2], "v", [0, 2, 1, 3], &self)                                     // (B, h, T, d)
        let scale = initializer("gfe.scale", dims: [], floats: [1 / Float(dh).squareRoot()])
        let raw = add("MatMul", [q, kT], name: "gfe.scores")                                     // (B, h, T, T)
        let scores = add("Mul", [raw, scale], name: "gfe.scaled_scores")
        let p = add("Softmax", [scores], name: "gfe.softmax", attributes: [.int("axis", -1)])
        let o = add("MatMul", [p, v], name: "gfe.weighted_values")                                // (B, h, T, d)
        let ob = add("Transpose", [o], name: "gfe.positions_first", attributes: [.ints("perm", [0, 2, 1, 3])])  // (B, T, h, d)
        let concatShape = ints("shape.concat_heads", [0, 0, E])
        let oc = add("Reshape", [ob, concatShape], name: "gfe.concat_heads")       // (B, T, E)
        let wo = try transposedRows("gfe.out_proj.weight", 0..<E, as: "gfe.out_proj.weight_t")
        let bo = try weight("gfe.out_proj.bias")
        let out = add("MatMul", [oc, wo], name: "gfe.out_proj")
        let proj = add("Add", [out, bo], name: "gfe.out_proj.add_bias")                           // (B, T, E)
        let positions = ints("axes.positions", [1])
        return add("ReduceSum", [proj, positions], name: "gfe.sum_over_positions",
                   attributes: [.int("keepdims", 0)])                                            // (B, E)
    }
}
