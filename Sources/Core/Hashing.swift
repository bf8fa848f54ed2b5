import Foundation

/// A 128-bit non-cryptographic content hash (two independent FNV-1a 64 lanes), as hex.
///
/// Used for cache keys (features keyed by file content and settings), never for security.
public struct ContentHash: Sendable {
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
