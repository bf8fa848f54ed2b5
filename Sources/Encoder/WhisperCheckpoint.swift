import Foundation
import SERCore
#if canImport(Glibc)
import Glibc
#endif

/// The shape of a Whisper encoder.
///
/// | model | nMels | nState | nHead | nLayer |
/// |---|---|---|---|---|
/// | tiny(.en) | 80 | 384 | 6 | 4 |
/// | base(.en) | 80 | 512 | 8 | 6 |
/// | small(.en) | 80 | 768 | 12 | 12 |
///
/// `nCtx` is 1500 encoder frames (30 s) for every released model.
public struct WhisperConfig: Sendable, Equatable, CustomStringConvertible {
    /// Mel bands of the input (80; 128 for large-v3).
    public var nMels: Int
    /// Width of the residual stream, `d_model`.
    public var nState: Int
    /// Attention heads.
    public var nHead: Int
    /// Transformer blocks.
    public var nLayer: Int
    /// Positions in the positional embedding (encoder frames).
    public var nCtx: Int

    public init(nMels: Int, nState: Int, nHead: Int, nLayer: Int, nCtx: Int = 1500) {
        self.nMels = nMels
        self.nState = nState
        self.nHead = nHead
        self.nLayer = nLayer
        self.nCtx = nCtx
    }

    public var description: String {
        "n_mels \(nMels), n_state \(nState), n_head \(nHead), n_layer \(nLayer), n_ctx \(nCtx)"
    }

    /// As safetensors metadata (`n_mels`, `n_state`, `n_head`, `n_layer`, `n_ctx`).
    public var metadata: [String: String] {
        ["n_mels": "\(nMels)", "n_state": "\(nState)", "n_head": "\(nHead)", "n_layer": "\(nLayer)", "n_ctx": "\(nCtx)"]
    }
}

/// Whisper encoder weights under the PyTorch `state_dict` names of OpenAI's `whisper` package
/// (`encoder.conv1.weight`, `encoder.blocks.0.attn.query.weight`, `encoder.ln_post.bias`, ...),
/// with the configuration.
///
/// Reads three kinds of file, told apart by their first bytes:
/// - a CTranslate2 `model.bin` (the format faster-whisper loads; float32, float16 or bfloat16);
/// - a safetensors file with OpenAI names (what ``write(to:)`` writes, or a whole OpenAI checkpoint);
/// - a safetensors file with Hugging Face `transformers` names (`model.encoder.layers.0.self_attn.q_proj.weight`).
///
/// Decoder tensors are dropped.
///
/// ```swift
/// let ckpt = try WhisperCheckpoint(contentsOf: URL(fileURLWithPath: "model.bin"))
/// try ckpt.write(to: URL(fileURLWithPath: "whisper-base.safetensors"))
/// ```
public struct WhisperCheckpoint: Sendable {
    /// Encoder tensors by OpenAI name.
    public var tensors: [String: Tensor]
    /// The encoder's shape.
    public var config: WhisperConfig
    /// Where the weights came from (stored as `source` metadata).
    public var source: String

    /// Weights already in memory; validates names and shapes.
    public init(tensors: [String: Tensor], config: WhisperConfig, source: String = "", path: String = "<memory>") throws {
        self.tensors = tensors
        self.config = config
        self.source = source
        try Self.validate(tensors, config, path: path)
    }

    /// Reads a CTranslate2 `model.bin` or a safetensors file (OpenAI or Hugging Face names).
    public init(contentsOf url: URL) throws {
        switch try Self.open(url) {
        case let .ctranslate2(data):
            let (tensors, config) = try CTranslate2Reader.readEncoder(data, path: url.path)
            try self.init(tensors: tensors, config: config, source: "ctranslate2:\(url.lastPathComponent)", path: url.path)
        case let .safetensors(reader):
            let plan = try SafeTensorsPlan(shapes: reader.entries.mapValues(\.shape), metadata: reader.metadata, path: url.path)
            var tensors: [String: Tensor] = [:]
            for (name, fileName) in plan.fileNames { tensors[name] = try Self.encoderError(url.path) { try reader.tensor(fileName) } }
            try self.init(plan: plan, tensors: tensors, path: url.path)
        }
    }

    /// Weights from a safetensors file with OpenAI or Hugging Face names. The configuration comes from
    /// the metadata when present, otherwise from the tensor shapes (heads = `nState / 64`, as in every
    /// released Whisper).
    public init(safetensors file: SafeTensorsFile, path: String = "<memory>") throws {
        let plan = try SafeTensorsPlan(shapes: file.tensors.mapValues(\.shape), metadata: file.metadata, path: path)
        try self.init(plan: plan, tensors: plan.fileNames.compactMapValues { file.tensors[$0] }, path: path)
    }

    /// A safetensors file's encoder tensors (by OpenAI name) and its plan; the positional embedding is
    /// made when the file has none.
    private init(plan: SafeTensorsPlan, tensors: [String: Tensor], path: String) throws {
        var tensors = tensors
        if plan.synthesizedPositions {
            tensors[Self.positionsName] = WhisperEncoder.sinusoids(length: plan.config.nCtx, channels: plan.config.nState)
        }
        try self.init(tensors: tensors, config: plan.config, source: plan.source, path: path)
    }

    /// The name of the positional embedding, which a safetensors file may leave out (it is sinusoidal).
    static let positionsName = "encoder.positional_embedding"

    /// What a weights file is, told apart by its first bytes.
    enum Opened {
        /// A CTranslate2 `model.bin`'s bytes (mapped).
        case ctranslate2(Data)
        /// A safetensors file, header parsed and checked, data mapped.
        case safetensors(SafeTensorsReader)
    }

    /// Maps `url` and tells a CTranslate2 `model.bin` from a safetensors file; throws
    /// ``EncoderError`` naming the file when it is neither or cannot be read.
    static func open(_ url: URL) throws -> Opened {
        let data = try MappedFile.map(url)
        if CTranslate2Reader.looksLikeModel(data) { return .ctranslate2(data) }
        do { return .safetensors(try SafeTensorsReader(data: data, path: url.path)) } catch {
            throw EncoderError.malformed(path: url.path, reason: "neither a CTranslate2 model.bin nor safetensors (\(error))")
        }
    }

    /// `body`, with a safetensors read error turned into ``EncoderError/malformed(path:reason:)``.
    static func encoderError<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as SafeTensorsError {
            throw EncoderError.malformed(path: path, reason: "\(e)")
        }
    }

    /// Writes the encoder as safetensors (F32, OpenAI names, configuration and source in the metadata).
    public func write(to url: URL) throws {
        var meta = config.metadata
        meta["source"] = source
        meta["format"] = "whisper-encoder"
        do { try SafeTensorsFile(tensors: tensors, metadata: meta).write(to: url) } catch {
            throw EncoderError.io(path: url.path, reason: "\(error)")
        }
    }

    /// Every tensor name and shape the encoder reads, for `config`.
    public static func expectedShapes(_ c: WhisperConfig) -> [String: [Int]] {
        let d = c.nState
        var s: [String: [Int]] = [
            "encoder.conv1.weight": [d, c.nMels, 3], "encoder.conv1.bias": [d],
            "encoder.conv2.weight": [d, d, 3], "encoder.conv2.bias": [d],
            "encoder.positional_embedding": [c.nCtx, d],
            "encoder.ln_post.weight": [d], "encoder.ln_post.bias": [d],
        ]
        for l in 0..<c.nLayer {
            let p = "encoder.blocks.\(l)."
            for ln in ["attn_ln", "mlp_ln"] { s[p + ln + ".weight"] = [d]; s[p + ln + ".bias"] = [d] }
            for m in ["query", "key", "value", "out"] { s[p + "attn.\(m).weight"] = [d, d] }
            for m in ["query", "value", "out"] { s[p + "attn.\(m).bias"] = [d] }
            s[p + "mlp.0.weight"] = [4 * d, d]; s[p + "mlp.0.bias"] = [4 * d]
            s[p + "mlp.2.weight"] = [d, 4 * d]; s[p + "mlp.2.bias"] = [d]
        }
        return s
    }

    private static func validate(_ tensors: [String: Tensor], _ c: WhisperConfig, path: String) throws {
        try validate(shapes: tensors.mapValues(\.shape), c, path: path)
    }

    /// Checks the configuration and that every tensor the encoder reads is there with its shape (and
    /// the optional key biases, when present, have theirs); throws naming `path` and the tensor.
    static func validate(shapes: [String: [Int]], _ c: WhisperConfig, path: String) throws {
        guard c.nMels > 0, c.nState > 0, c.nHead > 0, c.nLayer > 0, c.nCtx > 0, c.nState % c.nHead == 0 else {
            throw EncoderError.malformed(path: path, reason: "invalid configuration (\(c))")
        }
        for (name, shape) in expectedShapes(c).sorted(by: { $0.key < $1.key }) {
            guard let found = shapes[name] else { throw EncoderError.missingTensor(path: path, name: name) }
            guard found == shape else { throw EncoderError.badShape(path: path, name: name, expected: shape, found: found) }
        }
        for l in 0..<c.nLayer {
            let name = "encoder.blocks.\(l).attn.key.bias"
            if let found = shapes[name], found != [c.nState] {
                throw EncoderError.badShape(path: path, name: name, expected: [c.nState], found: found)
            }
        }
    }

    /// The OpenAI `whisper` name of an encoder tensor named the OpenAI or the Hugging Face way, or
    /// nil for anything else (decoder tensors, unknown names).
    ///
    /// `model.encoder.layers.3.self_attn.q_proj.weight` -> `encoder.blocks.3.attn.query.weight`,
    /// `model.encoder.embed_positions.weight` -> `encoder.positional_embedding`,
    /// `model.encoder.layer_norm.bias` -> `encoder.ln_post.bias`.
    public static func openAIName(_ name: String) -> String? {
        var c = name.split(separator: ".").map(String.init)
        if c.first == "model" { c.removeFirst() }
        guard c.first == "encoder", c.count >= 2 else { return nil }
        switch c[1] {
        case "conv1", "conv2", "ln_post", "positional_embedding": return c.joined(separator: ".")
        case "embed_positions": return c.count == 3 && c[2] == "weight" ? "encoder.positional_embedding" : nil
        case "layer_norm": return c.count == 3 ? "encoder.ln_post.\(c[2])" : nil
        case "blocks": return c.joined(separator: ".")
        case "layers":
            guard c.count >= 5, Int(c[2]) != nil else { return nil }
            let head = "encoder.blocks.\(c[2])."
            let leaf = c.last!
            switch (c[3], c.count) {
            case ("self_attn_layer_norm", 5): return head + "attn_ln.\(leaf)"
            case ("final_layer_norm", 5): return head + "mlp_ln.\(leaf)"
            case ("fc1", 5): return head + "mlp.0.\(leaf)"
            case ("fc2", 5): return head + "mlp.2.\(leaf)"
            case ("self_attn", 6):
                let m = ["q_proj": "query", "k_proj": "key", "v_proj": "value", "out_proj": "out"][c[4]]
                return m.map { head + "attn.\($0).\(leaf)" }
            default: return nil
            }
        default: return nil
        }
    }
}

/// A whole file mapped read-only and private (`mmap`), as `Data` that unmaps it when released.
///
/// The pages are the page cache's: reading them costs no copy, and ``release(_:bytes:)`` drops a
/// range from this process's memory once it has been copied elsewhere (the kernel reads it from the
/// file again if it is touched again), so a loader that copies tensor by tensor holds one tensor of
/// the file at a time, not all of it.
enum MappedFile {
    /// Maps `url`; throws ``EncoderError/io(path:reason:)`` naming it when it cannot be opened or mapped.
    static func map(_ url: URL) throws -> Data {
        func fail(_ what: String) -> EncoderError {
            EncoderError.io(path: url.path, reason: "cannot read file (\(what): \(String(cString: strerror(errno))))")
        }
        let fd = FileNames.withCString(url.path) { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw fail("open") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail("stat") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw EncoderError.io(path: url.path, reason: "cannot read file (not a regular file)")
        }
        let size = Int(info.st_size)
        guard size > 0 else { return Data() }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else { throw fail("mmap") }
        return Data(bytesNoCopy: base, count: size, deallocator: .custom { p, n in munmap(p, n) })
    }

    /// Drops the whole pages inside `bytes` of `data` (made by ``map(_:)``, never written) from this
    /// process's memory; the bytes stay readable (the file's pages come back on the next touch).
    static func release(_ data: Data, bytes: Range<Int>) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        data.withUnsafeBytes { raw in
            guard let start = raw.baseAddress, bytes.lowerBound >= 0, bytes.upperBound <= raw.count else { return }
            let address = Int(bitPattern: start)
            let from = (address + bytes.lowerBound + page - 1) / page * page, to = (address + bytes.upperBound) / page * page
            guard from < to, let p = UnsafeMutableRawPointer(bitPattern: from) else { return }
            _ = madvise(p, to - from, MADV_DONTNEED)
        }
    }
}

/// Which tensors of a safetensors file (OpenAI or Hugging Face names) are the encoder's, and its
/// configuration, worked out from names, shapes and metadata alone, so that the tensors can be read
/// straight to where they are used (``WhisperEncoder/init(contentsOf:)``) or into a
/// ``WhisperCheckpoint``. The configuration comes from the metadata when present, otherwise from the
/// shapes (heads = `nState / 64`, as in every released Whisper).
struct SafeTensorsPlan {
    /// The file's name of each encoder tensor, by OpenAI name (decoder tensors left out).
    var fileNames: [String: String]
    /// The encoder's shape.
    var config: WhisperConfig
    /// The `source` metadata, or `safetensors`.
    var source: String
    /// True when the file has no positional embedding: Whisper's sinusoids stand in for it.
    var synthesizedPositions: Bool

    /// The plan for a file's tensor shapes and metadata; throws when there is no `encoder.conv1.weight` of rank 3.
    init(shapes fileShapes: [String: [Int]], metadata: [String: String], path: String) throws {
        var fileNames: [String: String] = [:], shapes: [String: [Int]] = [:]
        for (name, shape) in fileShapes {
            guard let openAI = WhisperCheckpoint.openAIName(name) else { continue }
            fileNames[openAI] = name
            shapes[openAI] = shape
        }
        guard let conv1 = shapes["encoder.conv1.weight"], conv1.count == 3 else {
            throw EncoderError.missingTensor(path: path, name: "encoder.conv1.weight")
        }
        var layers = 0
        while shapes["encoder.blocks.\(layers).attn.query.weight"] != nil { layers += 1 }
        let nState = conv1[0]
        func meta(_ key: String) -> Int? { metadata[key].flatMap { Int($0) } }
        let positions = shapes[WhisperCheckpoint.positionsName]
        let nCtx = positions?.first ?? meta("n_ctx") ?? 1500
        self.fileNames = fileNames
        config = WhisperConfig(nMels: meta("n_mels") ?? conv1[1], nState: meta("n_state") ?? nState,
                               nHead: meta("n_head") ?? Swift.max(1, nState / 64),
                               nLayer: meta("n_layer") ?? layers, nCtx: nCtx)
        source = metadata["source"] ?? "safetensors"
        synthesizedPositions = positions == nil
    }

    /// The encoder tensors' shapes by OpenAI name, the made positional embedding included.
    func shapes(in fileShapes: [String: [Int]]) -> [String: [Int]] {
        var out = fileNames.compactMapValues { fileShapes[$0] }
        if synthesizedPositions { out[WhisperCheckpoint.positionsName] = [config.nCtx, config.nState] }
        return out
    }
}

/// Reader of CTranslate2's `model.bin` (binary versions 4 to 6, as CTranslate2's Python
/// `ModelSpec` serialises it; all integers little-endian):
///
///     u32 binary_version
///     str spec_name, u32 spec_revision                       (version >= 2)
///     u32 n_variables, then per variable:
///         str name, u8 rank, u32 dims[rank], u8 dtype, u32 n_bytes, n_bytes of data
///     u32 n_aliases, then per alias: str alias, str target  (version >= 3)
///
/// where `str` is a u16 length (counting a trailing NUL) and the UTF-8 bytes with the NUL, and dtype
/// is 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16.
///
/// Whisper's encoder variables: `encoder/conv{1,2}/{weight,bias}`, `encoder/position_encodings/encodings`,
/// `encoder/layer_N/self_attention/{layer_norm/{gamma,beta}, linear_0 (q, k, v fused along rows),
/// linear_1 (out)}`, `encoder/layer_N/ffn/{layer_norm, linear_0, linear_1}`, `encoder/layer_norm`,
/// `encoder/num_heads` (int16 scalar).
enum CTranslate2Reader {
    /// True when `data` starts like a CTranslate2 model (a small version number and a spec name).
    static func looksLikeModel(_ data: Data) -> Bool {
        guard data.count >= 8 else { return false }
        var c = Cursor(data: data, path: "")
        guard let v = try? c.u32(), (1...20).contains(v) else { return false }
        // A safetensors header length starts with a u64 whose high half is 0; a version here is
        // followed by a u16 string length and a printable spec name.
        guard let len = try? c.u16(), len > 1, len < 256, let name = try? c.string(length: Int(len)) else { return false }
        return !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    private struct Variable {
        var shape: [Int]
        var dtype: UInt8
        var offset: Int
        var bytes: Int
    }

    /// The encoder tensors of a CTranslate2 Whisper `model.bin`, renamed to OpenAI's names, and the
    /// configuration (heads from `encoder/num_heads`).
    static func readEncoder(_ data: Data, path: String) throws -> ([String: Tensor], WhisperConfig) {
        var c = Cursor(data: data, path: path)
        let version = try c.u32()
        guard (4...6).contains(version) else {
            throw EncoderError.unsupported(path: path, reason: "CTranslate2 binary version \(version) (this reader knows 4 to 6)")
        }
        let spec = try c.string(length: Int(try c.u16()))
        _ = try c.u32()   // spec revision
        guard spec == "WhisperSpec" else {
            throw EncoderError.unsupported(path: path, reason: "CTranslate2 model of spec '\(spec)', not WhisperSpec")
        }
        var variables: [String: Variable] = [:]
        let count = try c.u32()
        for _ in 0..<count {
            let name = try c.string(length: Int(try c.u16()))
            let rank = Int(try c.u8())
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(Int(try c.u32())) }
            let dtype = try c.u8()
            let bytes = Int(try c.u32())
            variables[name] = Variable(shape: shape, dtype: dtype, offset: c.offset, bytes: bytes)
            try c.skip(bytes)
        }
        var aliases: [String: String] = [:]
        if c.remaining >= 4 {
            let n = try c.u32()
            for _ in 0..<n {
                let alias = try c.string(length: Int(try c.u16()))
                aliases[alias] = try c.string(length: Int(try c.u16()))
            }
        }
        if variables.keys.contains(where: { $0.hasPrefix("encoder/") && $0.hasSuffix("weight_scale") }) {
            throw EncoderError.unsupported(path: path, reason: "quantised (int8/int16) CTranslate2 weights; convert the model with --quantization float16 or float32")
        }

        func tensor(_ name: String) throws -> Tensor {
            guard let v = variables[name] ?? aliases[name].flatMap({ variables[$0] }) else {
                throw EncoderError.missingTensor(path: path, name: name)
            }
            return try decode(v, name: name, data: data, path: path)
        }

        let conv1 = try tensor("encoder/conv1/weight")
        guard conv1.shape.count == 3 else {
            throw EncoderError.badShape(path: path, name: "encoder/conv1/weight", expected: [-1, -1, 3], found: conv1.shape)
        }
        let d = conv1.shape[0]
        var layers = 0
        while variables["encoder/layer_\(layers)/self_attention/linear_0/weight"] != nil { layers += 1 }
        let heads = try tensor("encoder/num_heads").data.first.map { Int($0) } ?? 0
        let pos = try tensor("encoder/position_encodings/encodings")
        let config = WhisperConfig(nMels: conv1.shape[1], nState: d, nHead: heads, nLayer: layers, nCtx: pos.shape.first ?? 0)

        var out: [String: Tensor] = [
            "encoder.conv1.weight": conv1,
            "encoder.conv1.bias": try tensor("encoder/conv1/bias"),
            "encoder.conv2.weight": try tensor("encoder/conv2/weight"),
            "encoder.conv2.bias": try tensor("encoder/conv2/bias"),
            "encoder.positional_embedding": pos,
            "encoder.ln_post.weight": try tensor("encoder/layer_norm/gamma"),
            "encoder.ln_post.bias": try tensor("encoder/layer_norm/beta"),
        ]
        for l in 0..<layers {
            let s = "encoder/layer_\(l)/", p = "encoder.blocks.\(l)."
            out[p + "attn_ln.weight"] = try tensor(s + "self_attention/layer_norm/gamma")
            out[p + "attn_ln.bias"] = try tensor(s + "self_attention/layer_norm/beta")
            // linear_0 is [query; key; value] stacked along the output rows, [3d, d]; the key bias is 0.
            let qkvName = s + "self_attention/linear_0/weight"
            let qkv = try tensor(qkvName), qkvBias = try tensor(s + "self_attention/linear_0/bias")
            guard qkv.shape == [3 * d, d], qkvBias.shape == [3 * d] else {
                throw EncoderError.badShape(path: path, name: qkvName, expected: [3 * d, d], found: qkv.shape)
            }
            for (i, m) in ["query", "key", "value"].enumerated() {
                out[p + "attn.\(m).weight"] = Tensor(shape: [d, d], data: Array(qkv.data[(i * d * d)..<((i + 1) * d * d)]))
                if m != "key" { out[p + "attn.\(m).bias"] = Tensor(shape: [d], data: Array(qkvBias.data[(i * d)..<((i + 1) * d)])) }
            }
            out[p + "attn.out.weight"] = try tensor(s + "self_attention/linear_1/weight")
            out[p + "attn.out.bias"] = try tensor(s + "self_attention/linear_1/bias")
            out[p + "mlp_ln.weight"] = try tensor(s + "ffn/layer_norm/gamma")
            out[p + "mlp_ln.bias"] = try tensor(s + "ffn/layer_norm/beta")
            out[p + "mlp.0.weight"] = try tensor(s + "ffn/linear_0/weight")
            out[p + "mlp.0.bias"] = try tensor(s + "ffn/linear_0/bias")
            out[p + "mlp.2.weight"] = try tensor(s + "ffn/linear_1/weight")
            out[p + "mlp.2.bias"] = try tensor(s + "ffn/linear_1/bias")
        }
        return (out, config)
    }

    /// One variable as float32.
    private static func decode(_ v: Variable, name: String, data: Data, path: String) throws -> Tensor {
        let n = v.shape.reduce(1, *)
        let width: Int
        switch v.dtype {
        case 0, 3: width = 4
        case 2, 4, 5: width = 2
        case 1: width = 1
        default: throw EncoderError.unsupported(path: path, reason: "variable '\(name)' has unknown dtype id \(v.dtype)")
        }
        guard n * width == v.bytes else {
            throw EncoderError.malformed(path: path, reason: "variable '\(name)' has \(v.bytes) bytes for \(n) elements of width \(width)")
        }
        var values = [Float](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + v.offset
            values.withUnsafeMutableBufferPointer { out in
                switch v.dtype {
                case 0: for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case 3: for i in 0..<n { out[i] = Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
                case 2: for i in 0..<n { out[i] = Float(Int16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
                case 4: for i in 0..<n { out[i] = halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                case 5: for i in 0..<n { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                default: for i in 0..<n { out[i] = Float(base.load(fromByteOffset: i, as: Int8.self)) }
                }
            }
        }
        return Tensor(shape: v.shape, data: values)
    }

    /// IEEE 754 binary16 to float32 (exact; subnormals, infinities and NaN included).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F), man = UInt32(h & 0x3FF)
        if exp == 0 {
            // Zero or subnormal: man * 2^-24.
            let v = Float(man) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (man << 13)) }
        return Float(bitPattern: sign | (UInt32(exp - 15 + 127) << 23) | (man << 13))
    }

    /// A bounds-checked little-endian reader over `data`.
    private struct Cursor {
        let data: Data
        let path: String
        var offset = 0

        var remaining: Int { data.count - offset }

        private func need(_ n: Int) throws {
            guard n >= 0, offset + n <= data.count else {
                throw EncoderError.malformed(path: path, reason: "truncated at byte \(offset) (needed \(n) more)")
            }
        }
        mutating func skip(_ n: Int) throws { try need(n); offset += n }
        mutating func u8() throws -> UInt8 {
            try need(1)
            defer { offset += 1 }
            return data[data.startIndex + offset]
        }
        mutating func u16() throws -> UInt16 {
            try need(2)
            defer { offset += 2 }
            return data.withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
        }
        mutating func u32() throws -> UInt32 {
            try need(4)
            defer { offset += 4 }
            return data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        }
        /// `length` bytes including a trailing NUL, as UTF-8.
        mutating func string(length: Int) throws -> String {
            try need(length)
            defer { offset += length }
            let start = data.startIndex + offset
            var bytes = [UInt8](data[start..<(start + length)])
            if bytes.last == 0 { bytes.removeLast() }
            guard let s = String(bytes: bytes, encoding: .utf8) else {
                throw EncoderError.malformed(path: path, reason: "string at byte \(offset) is not UTF-8")
            }
            return s
        }
    }
}
