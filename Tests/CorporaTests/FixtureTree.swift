import Foundation
import SERTestSupport

/// Builds small corpus trees on disk for the loader tests: tiny valid WAV files written here.
struct FixtureTree {
    let root: URL

    init(_ prefix: String) throws { root = try SharedData.temporaryDirectory(prefix) }

    /// A 16-bit mono PCM WAV with `samples` samples; `salt` changes the content.
    static func wavBytes(samples: Int = 8, salt: Int = 0, rate: UInt32 = 16000) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        let dataBytes = UInt32(samples * 2)
        d.append(contentsOf: Array("RIFF".utf8)); u32(36 + dataBytes); d.append(contentsOf: Array("WAVE".utf8))
        d.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(1); u32(rate); u32(rate * 2); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(dataBytes)
        for i in 0..<samples { u16(UInt16(truncatingIfNeeded: (i * 1000 + salt * 7919) & 0x7fff)) }
        return d
    }

    /// Writes a WAV at `relative` (for a `.flac` name, bytes that start like FLAC) (unique content unless `salt` is given) and returns its URL.
    @discardableResult
    func wav(_ relative: String, salt: Int? = nil) throws -> URL {
        let h = relative.utf8.reduce(17) { ($0 &* 31 &+ Int($1)) & 0xffffff }
        var bytes = FixtureTree.wavBytes(salt: salt ?? h)
        if relative.hasSuffix(".flac") { bytes.replaceSubrange(0..<4, with: Array("fLaC".utf8)) }  // header only
        return try write(relative, bytes)
    }

    /// Writes raw bytes at `relative`.
    @discardableResult
    func write(_ relative: String, _ data: Data) throws -> URL {
        let u = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: u)
        return u
    }

    /// Writes text at `relative`.
    @discardableResult
    func text(_ relative: String, _ s: String) throws -> URL { try write(relative, Data(s.utf8)) }

    func remove() { try? FileManager.default.removeItem(at: root) }
}
