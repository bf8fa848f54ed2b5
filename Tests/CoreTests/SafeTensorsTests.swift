import Foundation
import XCTest
@testable import SERCore
import SERTestSupport

final class SafeTensorsTests: XCTestCase {
    func testRoundTrip() throws {
        var f = SafeTensorsFile(metadata: ["sr": "22050", "note": "quote \" and \\ backslash"])
        f["a.weight"] = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, -6.5])
        f["b"] = Tensor(shape: [0])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try f.write(to: url)
        let g = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(g["a.weight"], f["a.weight"])
        XCTAssertEqual(g["b"]?.shape, [0])
        XCTAssertEqual(g.metadata, f.metadata)
    }

    func testRejectsDamagedFiles() {
        XCTAssertThrowsError(try SafeTensorsFile(data: Data([1, 2, 3]), path: "x")) { e in
            guard case SafeTensorsError.malformed(let p, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, "x")
        }
        var f = SafeTensorsFile()
        f["w"] = Tensor(shape: [4], data: [1, 2, 3, 4])
        let bytes = f.serialized()
        XCTAssertThrowsError(try SafeTensorsFile(data: bytes.prefix(bytes.count - 3), path: "cut"))
        var garbage = Data(count: 8); garbage[0] = 4
        garbage.append(Data("{{{{".utf8))
        XCTAssertThrowsError(try SafeTensorsFile(data: garbage, path: "g"))
    }

    func testGemmMatchesNaiveProduct() {
        let a: [Float] = [1, 2, 3, 4, 5, 6]        // (2, 3)
        let b: [Float] = [1, 0, -1, 2, 0.5, 1]     // (3, 2)
        var c = [Float](repeating: 0, count: 4)    // (2, 2)
        BLAS.gemm(m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, c: &c, ldc: 2)
        let expected: [Float] = [0.5, 7, 2, 16]  // rows of A times columns of B
        XCTAssertEqual(c, expected)
        var ct = [Float](repeating: 0, count: 9)   // A^T A: (3, 3)
        BLAS.gemm(transA: true, m: 3, n: 3, k: 2, a: a, lda: 3, b: a, ldb: 3, c: &ct, ldc: 3)
        XCTAssertEqual(ct[0], 1 * 1 + 4 * 4)
        XCTAssertEqual(ct[5], 2 * 3 + 5 * 6)
    }

    func testSeededRandomIsRepeatable() {
        var a = SeededRandom(seed: 42), b = SeededRandom(seed: 42)
        for _ in 0..<10 { XCTAssertEqual(a.next(), b.next()) }
        var g = SeededRandom(seed: 1)
        let xs = (0..<20000).map { _ in g.nextNormal() }
        let mean = xs.reduce(0, +) / Float(xs.count)
        XCTAssertEqual(mean, 0, accuracy: 0.03)
    }
}

final class ContentHashTests: XCTestCase {
    func testHashDependsOnContentOnly() throws {
        var h1 = ContentHash(); h1.update(Data([1, 2, 3]))
        var h2 = ContentHash(); h2.update(Data([1, 2])); h2.update(Data([3]))
        var h3 = ContentHash(); h3.update(Data([1, 2, 4]))
        XCTAssertEqual(h1.hex, h2.hex)
        XCTAssertNotEqual(h1.hex, h3.hex)
        XCTAssertEqual(h1.hex.count, 32)
        let dir = try SharedData.temporaryDirectory()
        let f = dir.appendingPathComponent("x.bin")
        try Data([1, 2, 3]).write(to: f)
        XCTAssertEqual(try ContentHash.ofFile(f), h1.hex)
    }
}

/// Files written here carry a checksum; a damaged one is refused as damaged.
final class SafeTensorsChecksumTests: XCTestCase {
    func testFlippedBitsAnywhereAreDetected() throws {
        var f = SafeTensorsFile(metadata: ["labels": "[\"sad\",\"happy\"]"])
        f["w"] = Tensor(shape: [3, 4], data: (0..<12).map { Float($0) * 0.5 })
        let bytes = f.serialized()
        let back = try SafeTensorsFile(data: bytes)
        XCTAssertEqual(back.metadata, f.metadata)                  // the checksum is not part of the metadata read
        XCTAssertEqual(back["w"], f["w"])
        var damaged = 0, refusedAsDamaged = 0
        let headerEnd = 8 + Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for position in stride(from: 8, to: bytes.count, by: 3) {
            var b = [UInt8](bytes)
            b[position] ^= 0x10
            damaged += 1
            do { _ = try SafeTensorsFile(data: Data(b)) ; XCTFail("flip at \(position) (header ends at \(headerEnd)) was not detected") }
            catch SafeTensorsError.damaged { refusedAsDamaged += 1 }
            catch { /* a flip in the header's JSON syntax: refused as malformed */ }
        }
        XCTAssertGreaterThan(refusedAsDamaged, damaged / 3)
    }

    func testFilesWithoutChecksumStillRead() throws {
        // A file written by another tool: no ser_checksum in the metadata.
        let header = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        var d = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        var v = Float(2.5).bitPattern.littleEndian
        withUnsafeBytes(of: &v) { d.append(contentsOf: $0) }
        XCTAssertEqual(try SafeTensorsFile(data: d)["x"]?.data, [2.5])
    }

    func testFilesWithTheFirstChecksumStillVerify() throws {
        // Written as before 2026-12-01: the byte-wise ContentHash under ser_checksum / ser_checksum_copy.
        var f = SafeTensorsFile(metadata: ["labels": "[\"sad\"]"])
        f["w"] = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let old = f.serialized(legacyChecksum: true)
        let oldHeader = String(decoding: old.prefix(300), as: UTF8.self)
        XCTAssertTrue(oldHeader.contains("\"ser_checksum\""))
        XCTAssertFalse(oldHeader.contains("\"ser_checksum2\""))
        let reader = try SafeTensorsReader(data: old)
        XCTAssertTrue(reader.hasLegacyChecksum)
        let back = try SafeTensorsFile(data: old)
        XCTAssertEqual(back["w"], f["w"])
        XCTAssertEqual(back.metadata, f.metadata)                   // both checksum keys removed once verified
        var damaged = [UInt8](old)
        damaged[damaged.count - 3] ^= 0x01
        XCTAssertThrowsError(try SafeTensorsFile(data: Data(damaged))) { error in
            guard case SafeTensorsError.damaged = error else { return XCTFail("\(error)") }
        }
        // Written anew, it carries the word checksum only.
        let rewritten = back.serialized()
        let header = String(decoding: rewritten.prefix(300), as: UTF8.self)
        XCTAssertTrue(header.contains("\"ser_checksum2\""))
        XCTAssertFalse(header.contains("\"ser_checksum\""))
        XCTAssertFalse(try SafeTensorsReader(data: rewritten).hasLegacyChecksum)
    }

    func testWordChecksumIsStreamingAndSensitive() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        var whole = WordChecksum(); whole.update(Data(bytes))
        for split in [1, 7, 31, 32, 33, 64, 999] {
            var parts = WordChecksum()
            parts.update(Data(bytes[..<split])); parts.update(Data(bytes[split...]))
            XCTAssertEqual(parts.hex, whole.hex, "split at \(split)")
        }
        var seen = Set([whole.hex])
        for i in stride(from: 0, to: bytes.count, by: 13) {          // every flipped bit changes it
            var b = bytes; b[i] ^= UInt8(1 << (i % 8))
            var h = WordChecksum(); h.update(Data(b))
            XCTAssertTrue(seen.insert(h.hex).inserted, "flip at \(i)")
        }
        var shorter = WordChecksum(); shorter.update(Data(bytes.dropLast()))   // a cut file too
        XCTAssertTrue(seen.insert(shorter.hex).inserted)
        var zeros1 = WordChecksum(); zeros1.update(Data(count: 5))
        var zeros2 = WordChecksum(); zeros2.update(Data(count: 6))
        XCTAssertNotEqual(zeros1.hex, zeros2.hex)
        XCTAssertEqual(whole.hex.count, 32)
    }
}
