/// A minimal Protocol Buffers wire-format writer: just what ``ONNXModel`` needs to serialise
/// itself (no reflection, no schema, no dependency).
///
/// The wire format (protobuf encoding spec) is a sequence of fields, each a key
/// `(field_number << 3) | wire_type` as a varint followed by the value:
/// - wire type 0, varint: integers in base 128, least significant group first, high bit set on
///   every byte but the last; negative `int64`/`int32` values are sign-extended to 64 bits and
///   so take 10 bytes;
/// - wire type 2, length-delimited: a varint byte count, then the bytes (strings as UTF-8,
///   nested messages, packed repeated scalars);
/// - wire type 5, 32-bit: a `float` as 4 little-endian bytes.
///
/// Fields may come in any order; a repeated field is the same key written again (or, packed, one
/// length-delimited run of values).
public struct ProtobufWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty message.
    public init() {}

    /// Appends `value` as a base-128 varint (no key).
    public mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Appends a field key.
    private mutating func key(_ field: Int, wireType: UInt64) {
        appendVarint(UInt64(field) << 3 | wireType)
    }

    /// An `int64`/`int32`/enum field (wire type 0); negative values take 10 bytes.
    public mutating func int(_ field: Int, _ value: Int) {
        key(field, wireType: 0)
        appendVarint(UInt64(bitPattern: Int64(value)))
    }

    /// A `float` field (wire type 5, little-endian IEEE 754).
    public mutating func float(_ field: Int, _ value: Float) {
        key(field, wireType: 5)
        let b = value.bitPattern
        for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((b >> UInt32(s)) & 0xFF)) }
    }

    /// A `bytes` field (wire type 2).
    public mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, wireType: 2)
        appendVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A `string` field: its UTF-8 bytes (wire type 2).
    public mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8))
    }

    /// A nested message field (wire type 2).
    public mutating func message(_ field: Int, _ value: ProtobufWriter) {
        bytes(field, value.bytes)
    }

    /// A nested message field built by `body` (wire type 2).
    public mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var m = ProtobufWriter()
        body(&m)
        message(field, m)
    }

    /// A packed repeated `int64` field: one length-delimited run of varints.
    public mutating func packedInts(_ field: Int, _ values: [Int]) {
        var run = ProtobufWriter()
        for v in values { run.appendVarint(UInt64(bitPattern: Int64(v))) }
        bytes(field, run.bytes)
    }

    /// A packed repeated `float` field: one length-delimited run of 4-byte little-endian floats.
    public mutating func packedFloats(_ field: Int, _ values: [Float]) {
        bytes(field, littleEndianBytes(values))
    }
}

/// `values` as consecutive little-endian IEEE 754 singles (ONNX `raw_data` for FLOAT tensors).
public func littleEndianBytes(_ values: [Float]) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(values.count * 4)
    for v in values {
        let b = v.bitPattern
        out.append(UInt8(b & 0xFF)); out.append(UInt8((b >> 8) & 0xFF))
        out.append(UInt8((b >> 16) & 0xFF)); out.append(UInt8(b >> 24))
    }
    return out
}

/// `values` as consecutive little-endian two's-complement 64-bit integers (ONNX `raw_data` for
/// INT64 tensors).
public func littleEndianBytes(_ values: [Int]) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(values.count * 8)
    for v in values {
        let b = UInt64(bitPattern: Int64(v))
        for s in stride(from: 0, to: 64, by: 8) { out.append(UInt8((b >> UInt64(s)) & 0xFF)) }
    }
    return out
}
