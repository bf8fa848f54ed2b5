import Foundation
import XCTest
import SERCore

/// Byte strings survive the trip into a `String` and back exactly.
final class FileNamesTests: XCTestCase {
    func testEveryByteStringRoundTrips() {
        var rng = SeededRandom(seed: 3)
        // Random bytes, biased towards the high half and UTF-8 lead bytes so that valid and
        // invalid sequences and the escape range's own encoding (F4 8F BE/BF xx) all occur.
        let alphabet: [UInt8] = [0x41, 0x2E, 0x2F, 0x80, 0xBF, 0xC0, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xED, 0xA0,
                                 0xF0, 0xF4, 0x8F, 0xBE, 0xFF, 0xFE, 0x00 + 0x7F]
        for _ in 0..<5000 {
            let n = Int(rng.next() % 12)
            let b = (0..<n).map { _ in rng.next() % 3 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let s = FileNames.string(fromBytes: b)
            XCTAssertEqual(FileNames.bytes(s), b, "\(b)")
            XCTAssertEqual(FileNames.isEscaped(s), String(validating: b, as: UTF8.self).map { $0 != s } ?? true, "\(b)")
        }
        // Valid UTF-8 is left as it is; invalid bytes print as \xNN.
        XCTAssertEqual(FileNames.string(fromBytes: Array("café €.wav".utf8)), "café €.wav")
        XCTAssertEqual(FileNames.display(FileNames.string(fromBytes: Array("caf".utf8) + [0xE9])), "caf\\xE9")
        // A genuine escape-range scalar in a name is escaped too, so it cannot be confused.
        let genuine: [UInt8] = [0xF4, 0x8F, 0xBE, 0x80]
        XCTAssertEqual(FileNames.display(FileNames.string(fromBytes: genuine)), "\\xF4\\x8F\\xBE\\x80")
        XCTAssertEqual(FileNames.bytes(FileNames.string(fromBytes: genuine)), genuine)
    }

    func testOpenStatAndListByBytes() throws {
        let dir = try SharedDataFreeTemporary.make()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = FileNames.string(fromBytes: Array(dir.utf8) + [0x2F, 0xFF, 0x41])
        let fd = FileNames.withCString(path) { open($0, O_WRONLY | O_CREAT, 0o644) }
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = write(fd, "abc", 3)
        close(fd)
        XCTAssertTrue(FileNames.exists(path))
        XCTAssertFalse(FileNames.isDirectory(path))
        XCTAssertEqual(FileNames.size(path), 3)
        XCTAssertEqual(FileNames.contents(path), Data("abc".utf8))
        XCTAssertEqual(try ContentHash.ofFile(URL(fileURLWithPath: path)), {
            var h = ContentHash(); h.update(Data("abc".utf8)); return h.hex }())
        XCTAssertEqual(FileNames.entries(of: dir), [FileNames.string(fromBytes: [0xFF, 0x41])])
        XCTAssertEqual(FileNames.files(under: dir, skipHidden: true).files.map(\.path), [path])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "Foundation alone cannot reach it")
    }

    func testFeatureFilesAreWrittenUnderTheInputsOwnBytes() throws {
        let dir = try SharedDataFreeTemporary.make()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // What `ser features` writes for an input named b"\xE9t\xE9.wav": b"\xE9t\xE9.safetensors".
        let path = FileNames.string(fromBytes: Array(dir.utf8) + [0x2F, 0xE9, 0x74, 0xE9] + Array(".safetensors".utf8))
        let file = SafeTensorsFile(tensors: ["x": Tensor(shape: [2], data: [1, 2])])
        try file.write(to: URL(fileURLWithPath: path), durable: false)
        XCTAssertEqual(FileNames.entries(of: dir), [FileNames.string(fromBytes: [0xE9, 0x74, 0xE9] + Array(".safetensors".utf8))])
        let back = try SafeTensorsFile(data: try XCTUnwrap(FileNames.contents(path)))
        XCTAssertEqual(back.tensors["x"]?.data, [1, 2])
    }
}

/// A fresh folder under the system's temporary directory.
private enum SharedDataFreeTemporary {
    static func make() throws -> String {
        let p = NSTemporaryDirectory() + "ser-filenames-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}
