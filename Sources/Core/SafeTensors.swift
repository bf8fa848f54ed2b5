import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Errors reading or writing a safetensors file.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read or written.
    case io(path: String, reason: String)
    /// The bytes are not a valid safetensors file.
    case malformed(path: String, reason: String)
    /// A tensor has a dtype this project does not read.
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A requested tensor is not in the file.
    case missingTensor(path: String, name: String)
    /// The file's checksum does not match its contents (flipped bits, a partial copy).
    case damaged(path: String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .malformed(path, reason): return "\(path): not a valid safetensors file: \(reason)"
        case let .unsupportedDType(path, tensor, dtype): return "\(path): tensor '\(tensor)' has unsupported dtype \(dtype)"
        case let .missingTensor(path, name): return "\(path): no tensor named '\(name)'"
        case let .damaged(path): return "\(path): the file is damaged (its checksum does not match its contents)"
        }
    }
}

/// A safetensors file: named tensors plus string metadata.
///
/// Format: 8-byte little-endian header length, a JSON header mapping each tensor name to
/// `{"dtype", "shape", "data_offsets"}` (plus an optional `__metadata__` string map), then the
/// raw little-endian data. PyTorch's `safetensors.torch.load_file` reads what this writes.
///
/// ```swift
/// var file = SafeTensorsFile(metadata: ["sr": "22050"])
/// file["mfcc"] = Tensor(shape: [20, 100])
/// try file.write(to: URL(fileURLWithPath: "x.safetensors"))
/// let back = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: "x.safetensors"))
/// ```
public struct SafeTensorsFile: Sendable {
    /// Tensors by name. Written in sorted name order.
    public var tensors: [String: Tensor]
    /// Free-form string metadata (`__metadata__`).
    public var metadata: [String: String]
    /// Tensors written as F16 (half the bytes) instead of F32; each value is rounded to the
    /// nearest half, so only tensors whose values are halves already (``isHalfExact(_:)``) come
    /// back unchanged. Reading converts them back to Float.
    public var halfPrecision: Set<String> = []

    /// Whether every value of `t` is a finite Float16 value, so F16 storage is lossless.
    public static func isHalfExact(_ t: Tensor) -> Bool {
        t.data.allSatisfy { $0.isFinite && abs($0) <= 65504 && Float(Float16($0)) == $0 }
    }

    /// An empty file with the given metadata.
    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Tensor by name.
    public subscript(name: String) -> Tensor? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    /// The tensor called `name`, or a `missingTensor` error naming `path`.
    public func tensor(_ name: String, path: String = "") throws -> Tensor {
        guard let t = tensors[name] else { throw SafeTensorsError.missingTensor(path: path, name: name) }
        return t
    }

    /// Reads a file. F32, F64, F16, BF16, I64, I32, I16, I8, U8 and BOOL tensors are read and converted to Float.
    /// The file is mapped by ``SafeTensorsReader/init(contentsOf:)``.
    public init(contentsOf url: URL) throws {
        try self.init(reader: SafeTensorsReader(contentsOf: url))
    }

    /// Parses bytes already in memory; `path` is used in error messages.
    public init(data: Data, path: String = "<memory>") throws {
        try self.init(reader: SafeTensorsReader(data: data, path: path))
    }

    /// Every tensor of `reader`, converted to Float.
    private init(reader: SafeTensorsReader) throws {
        var tensors: [String: Tensor] = [:]
        for name in reader.entries.keys { tensors[name] = try reader.tensor(name) }
        self.init(tensors: tensors, metadata: reader.metadata)
    }

    /// Metadata key of the checksum every file written by this project carries: a ``WordChecksum``
    /// of the other metadata, the tensors' names and shapes, and the data bytes. Files without it
    /// (written elsewhere, or before it existed) are read without the check.
    public static let checksumKey = "ser_checksum2"
    /// The checksum's second copy.
    public static let checksumCopyKey = "ser_checksum2_copy"
    /// Keys of the first checksum (a byte-wise ``ContentHash``), written until 2026-12-01 and still
    /// verified on reading; it cost about 4 CPU cycles per byte, 0.1 s to verify an 80 MB encoder.
    public static let legacyChecksumKey = "ser_checksum"
    /// The first checksum's second copy.
    public static let legacyChecksumCopyKey = "ser_checksum_copy"
    static let allChecksumKeys: Set<String> = [checksumKey, checksumCopyKey, legacyChecksumKey, legacyChecksumCopyKey]

    /// The checksum of a file's contents (see ``checksumKey``).
    static func checksum(metadata: [String: String], shapes: [String: [Int]], body: some DataProtocol) -> String {
        digest(WordChecksum(), skipping: allChecksumKeys, metadata: metadata, shapes: shapes, body: body)
    }

    /// The first checksum (see ``legacyChecksumKey``), exactly as it was written.
    static func legacyChecksum(metadata: [String: String], shapes: [String: [Int]], body: some DataProtocol) -> String {
        digest(ContentHash(), skipping: [legacyChecksumKey, legacyChecksumCopyKey], metadata: metadata, shapes: shapes, body: body)
    }

    /// Metadata (sorted, without the `skipping` keys), tensor names and shapes, then the data bytes.
    private static func digest<H: ByteHasher>(_ start: H, skipping: Set<String>, metadata: [String: String],
                                              shapes: [String: [Int]], body: some DataProtocol) -> String {
        var h = start
        for k in metadata.keys.sorted() where !skipping.contains(k) { h.update(k); h.update("\u{0}"); h.update(metadata[k]!); h.update("\u{1}") }
        for name in shapes.keys.sorted() { h.update(name); h.update("\(shapes[name]!)") }
        h.update(body)
        return h.hex
    }

    /// Serialises to bytes (tensors as F32, those in ``halfPrecision`` as F16; names sorted, header padded to 8 bytes).
    public func serialized() -> Data { serialized(legacyChecksum: false) }

    /// Serialises with the first (`legacyChecksum`) or the current checksum; the first only for
    /// tests of reading and upgrading files written before 2026-12-01.
    func serialized(legacyChecksum: Bool) -> Data {
        var body = Data(capacity: tensors.values.reduce(0) { $0 + $1.count * 4 })
        let names = tensors.keys.sorted()
        for name in names {
            if halfPrecision.contains(name) {
                let halves = tensors[name]!.data.map { Float16($0).bitPattern.littleEndian }
                halves.withUnsafeBytes { body.append(contentsOf: $0) }
                continue
            }
            tensors[name]!.data.withUnsafeBufferPointer { buf in
                guard buf.count > 0 else { return }
                #if _endian(little)
                body.append(UnsafeBufferPointer(start: UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self), count: buf.count * 4))
                #else
                for v in buf { var le = v.bitPattern.littleEndian; withUnsafeBytes(of: &le) { body.append(contentsOf: $0) } }
                #endif
            }
        }
        var metadata = self.metadata
        for k in Self.allChecksumKeys { metadata[k] = nil }
        let shapes = tensors.mapValues(\.shape)
        if legacyChecksum {
            let sum = Self.legacyChecksum(metadata: metadata, shapes: shapes, body: body)
            metadata[Self.legacyChecksumKey] = sum
            metadata[Self.legacyChecksumCopyKey] = sum
        } else {
            let sum = Self.checksum(metadata: metadata, shapes: shapes, body: body)
            metadata[Self.checksumKey] = sum
            metadata[Self.checksumCopyKey] = sum
        }
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            parts.append("\"__metadata__\":{\(m)}")
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let half = halfPrecision.contains(name)
            let bytes = t.count * (half ? 2 : 4)
            parts.append("\(jsonString(name)):{\"dtype\":\"\(half ? "F16" : "F32")\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out = Data(capacity: 8 + headerBytes.count + offset)
        var len = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        out.append(body)
        return out
    }

    /// Writes the file atomically (a temporary file renamed into place), so a reader or a killed
    /// process never sees half a file.
    ///
    /// - Parameter durable: also flush to disk before the rename (`fsync`, a few ms per file), so the
    ///   file survives a power loss: for checkpoints and models. Caches and bulk feature output pass
    ///   false.
    public func write(to url: URL, durable: Bool = true) throws {
        let data = serialized()
        if durable {
            do { try data.write(to: url, options: .atomic) } catch {
                throw SafeTensorsError.io(path: url.path, reason: "cannot write file (\(error.localizedDescription))")
            }
            return
        }
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        // Byte-exact names (``FileNames``): an input whose name is not UTF-8 gets its output under
        // the same bytes, not under the escape characters that stand for them in Swift strings.
        let fd = FileNames.withCString(temp) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw SafeTensorsError.io(path: url.path, reason: "cannot create file (\(String(cString: strerror(errno))))") }
        var failure: String?
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "write: \(String(cString: strerror(errno)))"; return
                }
                done += n
            }
        }
        if close(fd) != 0, failure == nil { failure = "close: \(String(cString: strerror(errno)))" }
        if failure == nil, FileNames.withCString(temp, { t in FileNames.withCString(url.path) { rename(t, $0) } }) != 0 {
            failure = "rename: \(String(cString: strerror(errno)))"
        }
        if let failure {
            _ = FileNames.withCString(temp) { unlink($0) }
            throw SafeTensorsError.io(path: url.path, reason: "cannot write file (\(failure))")
        }
    }
}

/// A safetensors file's checked header over its bytes, which stay where they are (a mapped file):
/// for readers that convert each tensor straight into memory of their own instead of holding the
/// whole file as ``Tensor`` values. ``SafeTensorsFile`` reads every file through it.
///
/// The header is parsed and every entry checked (dtype known, offsets inside the data, byte count
/// matching the shape) when the reader is made; a file carrying this project's checksum is verified
/// then too, so a damaged file fails before any tensor is read.
///
/// ```swift
/// let r = try SafeTensorsReader(contentsOf: url)
/// let n = r.entries["w"]?.count ?? 0
/// let w = UnsafeMutablePointer<Float>.allocate(capacity: n)
/// try r.read("w", into: w)          // converted to Float in place, no intermediate array
/// ```
public struct SafeTensorsReader: Sendable {
    /// One tensor's place in the file's bytes.
    public struct Entry: Sendable, Equatable {
        /// The safetensors dtype (`F32`, `F16`, `BF16`, ...).
        public let dtype: String
        /// The tensor's shape.
        public let shape: [Int]
        /// Offset of the first element from the start of the file's bytes.
        let start: Int
        /// Bytes per element.
        let width: Int
        /// Elements (the product of the shape).
        public var count: Int { shape.reduce(1, *) }
        /// The tensor's bytes, as offsets into the file's bytes.
        public var byteRange: Range<Int> { start..<(start + count * width) }
    }

    /// The file's bytes (mapped when read from a file).
    public let data: Data
    /// The file, for error messages.
    public let path: String
    /// Every tensor by name.
    public let entries: [String: Entry]
    /// The `__metadata__` strings (the checksum keys removed once verified).
    public let metadata: [String: String]
    /// Whether the file carries the first, byte-wise checksum (written before 2026-12-01), which
    /// is slower to verify; writing the tensors again gives the current one.
    public let hasLegacyChecksum: Bool

    /// Maps a file (read only) and parses its header.
    public init(contentsOf url: URL) throws {
        let data: Data
        // Mapped, not read: the file's pages are paged in once while the tensors are converted and
        // dropped with the mapping, so loading an 80 MB encoder needs ~80 MB more, not 160.
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw SafeTensorsError.io(path: url.path, reason: "cannot read file (\(error.localizedDescription))")
        }
        try self.init(data: data, path: url.path)
    }

    /// Parses the header of bytes already in memory; `path` is used in error messages.
    public init(data: Data, path: String = "<memory>") throws {
        let (entries, parsed, headerEnd) = try data.withUnsafeBytes { try Self.parse($0, path: path) }
        self.data = data
        self.path = path
        self.entries = entries
        var metadata = parsed
        // The checksum is stored twice, under two keys, so that a flipped bit in one key's name
        // (which would make the file look like one written without a checksum) is caught too.
        // Files written before 2026-12-01 carry the first, byte-wise checksum under other keys.
        typealias F = SafeTensorsFile
        let current = (metadata[F.checksumKey], metadata[F.checksumCopyKey])
        let legacy = (metadata[F.legacyChecksumKey], metadata[F.legacyChecksumCopyKey])
        let isCurrent = current.0 != nil || current.1 != nil
        if isCurrent || legacy.0 != nil || legacy.1 != nil {
            let body = data.count > headerEnd ? data[data.index(data.startIndex, offsetBy: headerEnd)...] : Data()[...]
            let (stored, copy) = isCurrent ? current : legacy
            let shapes = entries.mapValues(\.shape)
            guard let stored, stored == copy,
                  (isCurrent ? F.checksum(metadata: metadata, shapes: shapes, body: body)
                             : F.legacyChecksum(metadata: metadata, shapes: shapes, body: body)) == stored else {
                throw SafeTensorsError.damaged(path: path)
            }
            for k in F.allChecksumKeys { metadata[k] = nil }   // verified; written anew on every write
            hasLegacyChecksum = !isCurrent
        } else {
            hasLegacyChecksum = false
        }
        self.metadata = metadata
    }

    /// Converts tensor `name` to Float into `out` (``Entry/count`` elements, row-major as stored).
    /// Throws `missingTensor` naming the file when there is no such tensor.
    public func read(_ name: String, into out: UnsafeMutablePointer<Float>) throws {
        guard let e = entries[name] else { throw SafeTensorsError.missingTensor(path: path, name: name) }
        data.withUnsafeBytes { Self.convert(e, from: $0, into: out) }
    }

    /// Tensor `name` as a new ``Tensor``.
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw SafeTensorsError.missingTensor(path: path, name: name) }
        let n = e.count
        let values = data.withUnsafeBytes { bytes in
            [Float](unsafeUninitializedCapacity: n) { out, count in
                Self.convert(e, from: bytes, into: out.baseAddress)
                count = n
            }
        }
        return Tensor(shape: e.shape, data: values)
    }

    /// Entry `e`'s elements as Float into `out` (room for ``Entry/count``); the entry was checked
    /// against `bytes` when the header was parsed. Kept out of line and non-throwing: the loops and the
    /// copy live in one plain function that every reader calls.
    @inline(never)
    private static func convert(_ e: Entry, from bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>?) {
        let n = e.count
        guard n > 0, let out, let start = bytes.baseAddress else { return }
        let base = start + e.start
        func fill(_ f: (UnsafeRawPointer) -> Float) { for i in 0..<n { out[i] = f(base + i * e.width) } }
        switch e.dtype {
        case "F32":
            #if _endian(little)
            UnsafeMutableRawPointer(out).copyMemory(from: base, byteCount: 4 * n)
            #else
            fill { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
            #endif
        case "F64": fill { Float(Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)))) }
        case "F16":
            #if arch(x86_64) || arch(arm64)
            fill { Float(Float16(bitPattern: UInt16(littleEndian: $0.loadUnaligned(as: UInt16.self)))) }
            #else
            fill { _ in 0 }
            #endif
        case "BF16": fill { Float(bitPattern: UInt32(UInt16(littleEndian: $0.loadUnaligned(as: UInt16.self))) << 16) }
        case "I64": fill { Float(Int64(littleEndian: $0.loadUnaligned(as: Int64.self))) }
        case "I32": fill { Float(Int32(littleEndian: $0.loadUnaligned(as: Int32.self))) }
        case "I16": fill { Float(Int16(littleEndian: $0.loadUnaligned(as: Int16.self))) }
        case "I8": fill { Float($0.load(as: Int8.self)) }
        default: fill { Float($0.load(as: UInt8.self)) }
        }
    }

    /// The entries, the metadata and the offset of the data section of a file's bytes.
    private static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws
        -> (entries: [String: Entry], metadata: [String: String], headerEnd: Int) {
        guard bytes.count >= 8 else { throw SafeTensorsError.malformed(path: path, reason: "shorter than the 8-byte header length") }
        var headerLen: UInt64 = 0
        for i in 0..<8 { headerLen |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLen <= UInt64(bytes.count - 8), headerLen < 100_000_000 else {
            throw SafeTensorsError.malformed(path: path, reason: "header length \(headerLen) exceeds file size \(bytes.count)")
        }
        let headerEnd = 8 + Int(headerLen)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) } catch {
            throw SafeTensorsError.malformed(path: path, reason: "header is not JSON")
        }
        guard let header = json as? [String: Any] else { throw SafeTensorsError.malformed(path: path, reason: "header is not a JSON object") }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        let body = bytes.count - headerEnd
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw SafeTensorsError.malformed(path: path, reason: "__metadata__ is not an object") }
                for (k, v) in m { metadata[k] = (v as? String) ?? "\(v)" }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any], let offs = info["data_offsets"] as? [Any], offs.count == 2
            else { throw SafeTensorsError.malformed(path: path, reason: "entry '\(name)' lacks dtype, shape or data_offsets") }
            let shape = shapeAny.compactMap { ($0 as? NSNumber)?.intValue }
            let o = offs.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeAny.count, o.count == 2, shape.allSatisfy({ $0 >= 0 }), o[0] >= 0, o[0] <= o[1], o[1] <= body else {
                throw SafeTensorsError.malformed(path: path, reason: "entry '\(name)' has invalid shape or offsets")
            }
            let n = shape.reduce(1, *)
            let width: Int
            switch dtype {
            case "F64", "I64": width = 8
            case "F32", "I32": width = 4
            case "F16", "BF16", "I16": width = 2
            case "I8", "U8", "BOOL": width = 1
            default: throw SafeTensorsError.unsupportedDType(path: path, tensor: name, dtype: dtype)
            }
            guard o[1] - o[0] == n * width else {
                throw SafeTensorsError.malformed(path: path, reason: "entry '\(name)' has \(o[1] - o[0]) bytes for \(n) elements of \(dtype)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, start: headerEnd + o[0], width: width)
        }
        return (entries, metadata, headerEnd)
    }
}

/// JSON string literal with escapes.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
