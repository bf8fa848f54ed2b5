import Foundation

/// A streaming hash of bytes and strings with a hex digest (``ContentHash``, ``WordChecksum``).
public protocol ByteHasher {
    /// Mixes bytes in.
    mutating func update<D: DataProtocol>(_ bytes: D)
    /// Mixes a string in (UTF-8).
    mutating func update(_ string: String)
    /// The digest as hex digits.
    var hex: String { get }
}

/// A 128-bit non-cryptographic content hash (two independent FNV-1a 64 lanes), as hex.
///
/// Used for cache keys (features keyed by file content and settings), never for security.
public struct ContentHash: ByteHasher, Sendable {
    private var a: UInt64 = 0xcbf2_9ce4_8422_2325
    private var b: UInt64 = 0x6c62_272e_07bb_0142
    private var length: UInt64 = 0

    /// An empty hash.
    public init() {}

    /// Mixes bytes in.
    public mutating func update<D: DataProtocol>(_ bytes: D) {
        for region in bytes.regions {
            region.withUnsafeBytes { raw in
                for byte in raw {
                    a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
                    b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_0193 ^ (b >> 29)
                }
                length &+= UInt64(raw.count)
            }
        }
    }

    /// Mixes a string in (UTF-8).
    public mutating func update(_ string: String) { update(Data(string.utf8)) }

    /// The hash as 32 hex digits.
    public var hex: String {
        var x = a ^ (length &* 0x9E37_79B9_7F4A_7C15), y = b ^ length
        x ^= x >> 33; x &*= 0xff51_afd7_ed55_8ccd; x ^= x >> 33
        y ^= y >> 33; y &*= 0xc4ce_b9fe_1a85_ec53; y ^= y >> 33
        return String(format: "%016llx%016llx", x, y)
    }

    /// Hash of a file's bytes, read in 1 MiB blocks (opened by its byte-exact name, ``FileNames``).
    public static func ofFile(_ url: URL) throws -> String {
        guard let h = FileNames.fileHandle(forReading: url.path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: FileNames.display(url.path)])
        }
        defer { try? h.close() }
        var hash = ContentHash()
        while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(chunk) }
        return hash.hex
    }
}

/// A 128-bit non-cryptographic checksum that reads 8-byte words: four independent
/// multiply-rotate lanes over 32-byte blocks (the round of xxHash64, with its primes), so it runs
/// at several bytes per cycle where ``ContentHash`` (one byte per step) runs at a fraction of one.
///
/// It is the checksum of safetensors files written by this project (`ser_checksum2`): it catches
/// flipped bits and cut or spliced files, not deliberate forgery. Streaming: `update` may be called
/// with any split of the same bytes and gives the same result.
public struct WordChecksum: ByteHasher, Sendable {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v0: UInt64 = p1 &+ p2
    private var v1: UInt64 = p2
    private var v2: UInt64 = 0
    private var v3: UInt64 = 0 &- p1
    private var length: UInt64 = 0
    /// Bytes of an unfinished 32-byte block (`pendingCount` of them).
    private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var pendingCount = 0

    /// An empty checksum.
    public init() {}

    @inline(__always) private static func round(_ acc: UInt64, _ word: UInt64) -> UInt64 {
        let a = acc &+ word &* p2
        return ((a << 31) | (a >> 33)) &* p1
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    /// Mixes bytes in.
    public mutating func update(_ raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        length &+= UInt64(raw.count)
        var i = 0, n = raw.count
        if pendingCount > 0 {                                 // complete the pending block first
            let take = Swift.min(32 - pendingCount, n)
            withUnsafeMutableBytes(of: &pending) { p in
                p.baseAddress!.advanced(by: pendingCount).copyMemory(from: base, byteCount: take)
            }
            pendingCount += take; i = take
            guard pendingCount == 32 else { return }
            v0 = Self.round(v0, UInt64(littleEndian: pending.0)); v1 = Self.round(v1, UInt64(littleEndian: pending.1))
            v2 = Self.round(v2, UInt64(littleEndian: pending.2)); v3 = Self.round(v3, UInt64(littleEndian: pending.3))
            pendingCount = 0
        }
        n -= i
        var a = v0, b = v1, c = v2, d = v3
        let p = base.advanced(by: i)
        var o = 0
        while o + 32 <= n {
            a = Self.round(a, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
            b = Self.round(b, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self)))
            c = Self.round(c, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o + 16, as: UInt64.self)))
            d = Self.round(d, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o + 24, as: UInt64.self)))
            o += 32
        }
        v0 = a; v1 = b; v2 = c; v3 = d
        if o < n {
            pending = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.copyMemory(from: p.advanced(by: o), byteCount: n - o) }
            pendingCount = n - o
        }
    }

    /// Mixes bytes in.
    public mutating func update<D: DataProtocol>(_ bytes: D) {
        for region in bytes.regions { region.withUnsafeBytes { update($0) } }
    }

    /// Mixes a string in (UTF-8).
    public mutating func update(_ string: String) {
        var s = string
        s.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The checksum as 32 hex digits.
    public var hex: String {
        var h = Self.rotl(v0, 1) &+ Self.rotl(v1, 7) &+ Self.rotl(v2, 12) &+ Self.rotl(v3, 18)
        for v in [v0, v1, v2, v3] { h = (h ^ Self.round(0, v)) &* Self.p1 &+ Self.p4 }
        var g = v0 ^ Self.rotl(v1, 17) ^ Self.rotl(v2, 29) ^ Self.rotl(v3, 43)
        h &+= length; g ^= length &* Self.p3
        // The pending tail, byte by byte (zero padding is not mixed in: the length tells it apart).
        withUnsafeBytes(of: pending) { tail in
            for k in 0..<pendingCount {
                h = Self.rotl(h ^ (UInt64(tail[k]) &* Self.p5), 11) &* Self.p1
                g = Self.rotl(g ^ (UInt64(tail[k]) &* Self.p1), 13) &* Self.p2
            }
        }
        func avalanche(_ x: UInt64, _ m1: UInt64, _ m2: UInt64) -> UInt64 {
            var x = x
            x ^= x >> 33; x &*= m1; x ^= x >> 29; x &*= m2; x ^= x >> 32
            return x
        }
        return String(format: "%016llx%016llx", avalanche(h, Self.p2, Self.p3), avalanche(g, Self.p4, Self.p5))
    }
}
