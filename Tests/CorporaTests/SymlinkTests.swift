import Foundation
import XCTest
@testable import SERCorpora
import SERCore
import SERTestSupport

/// Corpus scans follow symbolic links (to files and folders), report broken ones, and keep
/// byte-exact names that are not UTF-8.
final class SymlinkTests: XCTestCase {
    func testSymlinkedCorpusFilesAreLoaded() throws {
        let t = try FixtureTree("symlinks"); defer { t.remove() }
        let names = ["03-01-01-01-01-01-01.wav", "03-01-05-02-02-01-01.wav", "03-01-08-01-01-02-01.wav"]
        var targets: [URL] = []
        for n in names { targets.append(try t.wav("store/\(n)")) }
        let corpus = t.root.appendingPathComponent("corpus")
        let fm = FileManager.default
        try fm.createDirectory(at: corpus.appendingPathComponent("Actor_01"), withIntermediateDirectories: true)
        for (n, target) in zip(names, targets) {
            try fm.createSymbolicLink(atPath: corpus.appendingPathComponent("Actor_01/\(n)").path, withDestinationPath: target.path)
        }
        // A linked folder of a second actor, a relative link, a broken link and a link loop.
        try t.wav("store2/03-01-03-01-01-01-02.wav")
        try fm.createSymbolicLink(atPath: corpus.appendingPathComponent("Actor_02").path,
                                  withDestinationPath: t.root.appendingPathComponent("store2").path)
        try t.wav("corpus/Actor_03/real/03-01-04-01-01-01-03.wav")
        try fm.createSymbolicLink(atPath: corpus.appendingPathComponent("Actor_03/03-01-06-01-01-01-03.wav").path,
                                  withDestinationPath: "../../store/03-01-01-01-01-01-01.wav")
        try fm.createSymbolicLink(atPath: corpus.appendingPathComponent("Actor_03/03-01-07-01-01-01-03.wav").path,
                                  withDestinationPath: "/nonexistent/03-01-07-01-01-01-03.wav")
        try fm.createSymbolicLink(atPath: corpus.appendingPathComponent("Actor_03/loop").path, withDestinationPath: corpus.path)

        let c = try RAVDESSLoader().load(from: corpus)
        XCTAssertEqual(c.entries.map(\.id), ["Actor_01/03-01-01-01-01-01-01", "Actor_01/03-01-05-02-02-01-01",
                                             "Actor_01/03-01-08-01-01-02-01", "Actor_02/03-01-03-01-01-01-02",
                                             "Actor_03/03-01-06-01-01-01-03", "Actor_03/real/03-01-04-01-01-01-03"])
        let broken = c.problems.filter { $0.file == "Actor_03/03-01-07-01-01-01-03.wav" }.map(\.reason)
        guard case .missingAudio? = broken.first else { return XCTFail("broken link not reported: \(c.problems)") }
        // The relative link and its target have the same bytes: reported, as for plain copies.
        XCTAssertTrue(c.problems.contains { $0.reason == .identicalContent(to: "Actor_01/03-01-01-01-01-01-01") }, "\(c.problems)")
    }

    /// The case: a tree of links to the real EMO-DB files loads every clip (535), as the
    /// original folder does (before, 495 of the 535 links were skipped silently).
    func testLinkedCopyOfEMODBLoadsEveryClip() throws {
        guard let real = SharedData.path("corpora/emodb") else {
            throw XCTSkip("needs ../shared/corpora/emodb (absent on a fresh clone)")
        }
        let original = try EMODBLoader().load(from: real)
        let t = try FixtureTree("emodb-links"); defer { t.remove() }
        let fm = FileManager.default
        for name in try fm.contentsOfDirectory(atPath: real.path) {
            let src = real.appendingPathComponent(name)
            if name == "wav" {
                try fm.createDirectory(at: t.root.appendingPathComponent("wav"), withIntermediateDirectories: true)
                for f in try fm.contentsOfDirectory(atPath: src.path) {
                    try fm.createSymbolicLink(atPath: t.root.appendingPathComponent("wav/\(f)").path,
                                              withDestinationPath: src.appendingPathComponent(f).path)
                }
            } else {
                try fm.createSymbolicLink(atPath: t.root.appendingPathComponent(name).path, withDestinationPath: src.path)
            }
        }
        let linked = try EMODBLoader().load(from: t.root)
        XCTAssertEqual(original.entries.count, 535)
        XCTAssertEqual(linked.entries.map(\.id), original.entries.map(\.id))
        XCTAssertEqual(linked.entries.map(\.label), original.entries.map(\.label))
    }

    func testNonUTF8NamesInCorpusScans() throws {
        let t = try FixtureTree("bytes"); defer { t.remove() }
        try t.wav("Actor_01/03-01-01-01-01-01-01.wav")
        let dir = t.root.appendingPathComponent("Actor_01")
        // "03-01-02-01-01-01-01\xE9.wav": a Latin-1 byte in the name, created by bytes.
        let nameBytes = Array("03-01-02-01-01-01-01".utf8) + [0xE9] + Array(".wav".utf8)
        let path = FileNames.string(fromBytes: Array(dir.path.utf8) + [0x2F] + nameBytes)
        let bytes = FixtureTree.wavBytes(salt: 3)
        let fd = FileNames.withCString(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)

        let files = CorpusFiles.files(under: t.root)
        XCTAssertEqual(files.count, 2)
        let odd = try XCTUnwrap(files.first { FileNames.isEscaped($0.relative) })
        XCTAssertEqual(FileNames.bytes(odd.url.path), Array(dir.path.utf8) + [0x2F] + nameBytes, "byte-exact path")
        XCTAssertEqual(CorpusFiles.sniff(odd.url), .wav, "readable through its bytes")
        // RAVDESS names are digits: the file is reported by name, not dropped silently.
        let c = try RAVDESSLoader().load(from: t.root)
        XCTAssertEqual(c.entries.count, 1)
        XCTAssertTrue(c.problems.contains { $0.file == odd.relative }, "\(c.problems)")
    }
}
