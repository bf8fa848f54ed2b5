import Foundation
import SERCore
import XCTest

final class ShardingTests: XCTestCase {
    // MARK: - Choosing a shard

    func testParsesIndexOverCount() throws {
        XCTAssertEqual(try Shard(parsing: "3/8"), try Shard(index: 3, count: 8))
        XCTAssertTrue(try Shard(parsing: "0/1").isWhole)
        for bad in ["8/8", "-1/4", "1", "a/4", "1/0", "1/2/3", ""] {
            XCTAssertThrowsError(try Shard(parsing: bad), bad) { XCTAssertTrue("\($0)".contains("INDEX/COUNT"), "\($0)") }
        }
    }

    func testDefaultsFromSlurmKubernetesAndSERShard() throws {
        XCTAssertNil(try Shard.fromEnvironment([:]))
        // --array=0-3
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"]), try Shard(index: 2, count: 4))
        // --array=1-4: ids start at 1.
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"]),
                       try Shard(index: 0, count: 4))
        // --array=10-16:2 (10, 12, 14, 16).
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "14", "SLURM_ARRAY_TASK_COUNT": "4",
                                                  "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "2"]), try Shard(index: 2, count: 4))
        // --array=1,4,9: not a range.
        XCTAssertThrowsError(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"]))
        XCTAssertThrowsError(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "3"]))
        // Kubernetes: the count must be given.
        XCTAssertEqual(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "5", "SER_SHARD_COUNT": "6"]), try Shard(index: 5, count: 6))
        XCTAssertThrowsError(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "5"])) { error in
            XCTAssertEqual(error as? ShardError, .missingCount(index: 5))
            XCTAssertTrue("\(error)".contains("SER_SHARD_COUNT"))
        }
        XCTAssertThrowsError(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "6", "SER_SHARD_COUNT": "6"]))
        // SER_SHARD wins.
        XCTAssertEqual(try Shard.fromEnvironment(["SER_SHARD": "1/2", "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4"]),
                       try Shard(index: 1, count: 2))
    }

    // MARK: - Partition

    func testShardsPartitionTheInputsWhateverTheirOrder() throws {
        var g = SystemRandomNumberGenerator()
        let names = (0..<103).map { "corpus/speaker\($0 % 7)/clip-\($0).wav" } + ["é.wav", "Z.wav", "a b.wav", "a/b.wav"]
        for count in [1, 2, 3, 8, 200] {
            var union: [String] = []
            var sizes: [Int] = []
            for i in 0..<count {
                let shard = try Shard(index: i, count: count)
                let mine = shard.select(names, name: { $0 })
                // The same whatever order the inputs come in; the given order is kept.
                let shuffled = names.shuffled(using: &g)
                XCTAssertEqual(Set(shard.select(shuffled, name: { $0 })), Set(mine))
                XCTAssertEqual(mine, names.filter(Set(mine).contains))
                union += mine
                sizes.append(mine.count)
            }
            XCTAssertEqual(union.count, names.count, "each input in exactly one shard")
            XCTAssertEqual(Set(union), Set(names))
            XCTAssertLessThanOrEqual((sizes.max() ?? 0) - (sizes.min() ?? 0), 1, "balanced")
        }
    }

    func testShardFileNames() throws {
        let s = try Shard(index: 3, count: 8)
        XCTAssertEqual(s.fileName(for: "out/preds.jsonl"), "out/preds.shard-3-of-8.jsonl")
        XCTAssertEqual(s.fileName(for: "preds"), "preds.shard-3-of-8")
        XCTAssertEqual(Shard.whole.fileName(for: "preds.csv"), "preds.csv")
        let parsed = try XCTUnwrap(Shard.parseFileName("out/preds.shard-3-of-8.jsonl"))
        XCTAssertEqual(parsed.shard, s)
        XCTAssertEqual(parsed.base, "out/preds.jsonl")
        XCTAssertNil(Shard.parseFileName("preds.jsonl"))
        XCTAssertNil(Shard.parseFileName("preds.shard-8-of-8.jsonl"))
    }

    // MARK: - Output layout

    func testOutputsMirrorSeveralFoldersAndRefuseCollisions() throws {
        typealias I = OutputLayout.Input
        // One folder: paths relative to it, as before.
        XCTAssertEqual(try OutputLayout.relativePaths([I(root: "t/a", rootIsFolder: true, relativePath: "s/x.wav", name: "t/a/s/x.wav")],
                                                      extension: "npy"), ["s/x.npy"])
        // Two folders holding x.wav: under each folder's name.
        let two = [I(root: "t/a", rootIsFolder: true, relativePath: "x.wav", name: "t/a/x.wav"),
                   I(root: "t/b/", rootIsFolder: true, relativePath: "x.wav", name: "t/b/x.wav"),
                   I(root: "y.flac", rootIsFolder: false, relativePath: "y.flac", name: "y.flac")]
        XCTAssertEqual(try OutputLayout.relativePaths(two, extension: "safetensors"), ["a/x.safetensors", "b/x.safetensors", "y.safetensors"])
        // x.wav and x.flac in one folder; two folders with one name; a file given twice.
        let clashes: [[I]] = [
            [I(root: "t", rootIsFolder: true, relativePath: "x.wav", name: "t/x.wav"), I(root: "t", rootIsFolder: true, relativePath: "x.flac", name: "t/x.flac")],
            [I(root: "p/a", rootIsFolder: true, relativePath: "x.wav", name: "p/a/x.wav"), I(root: "q/a", rootIsFolder: true, relativePath: "x.wav", name: "q/a/x.wav")],
            [I(root: "x.wav", rootIsFolder: false, relativePath: "x.wav", name: "x.wav"), I(root: "d/x.wav", rootIsFolder: false, relativePath: "x.wav", name: "d/x.wav")],
        ]
        for c in clashes {
            XCTAssertThrowsError(try OutputLayout.relativePaths(c, extension: "svg")) { error in
                guard case let .collision(_, inputs)? = error as? OutputLayoutError else { return XCTFail("\(error)") }
                XCTAssertEqual(inputs, c.map(\.name))
            }
        }
    }

    func testInOrderEmitterReleasesResultsInIndexOrderAsSoonAsPossible() {
        let n = 500
        let seen = Locked<[Int]>([])
        let emitter = InOrderEmitter<Int> { i, v in seen.withLock { $0.append(i); XCTAssertEqual(i, v) } }
        Parallel.forEach(count: n, threads: 4) { _, i in
            if i % 7 == 0 { usleep(200) }
            emitter.submit(i, i)
        }
        XCTAssertEqual(seen.withLock { $0 }, Array(0..<n))
        // A later result waits; it leaves with the one before it.
        let out = Locked<[Int]>([])
        let e = InOrderEmitter<Int> { i, _ in out.withLock { $0.append(i) } }
        e.submit(1, 1)
        XCTAssertEqual(out.withLock { $0 }, [])
        e.submit(0, 0)
        XCTAssertEqual(out.withLock { $0 }, [0, 1])
    }

    // MARK: - Merge

    /// Rows of an unsharded run: several rows per input (segments) for some.
    private static func rows(_ names: [String]) -> [(file: String, text: String)] {
        names.flatMap { name -> [(String, String)] in
            let k = name.count % 3 + 1
            return (0..<k).map { s in (name, #"{"end":\#(s + 1),"file":"\#(name)","start":\#(s)}"#) }
        }
    }

    private func writeShards(_ names: [String], count: Int, in dir: URL, ext: String = "jsonl") throws -> [String] {
        var paths: [String] = []
        for i in 0..<count {
            let shard = try Shard(index: i, count: count)
            let mine = shard.select(names, name: { $0 })
            let text = Self.rows(mine).map { $0.text + "\n" }.joined()
            let path = shard.fileName(for: dir.appendingPathComponent("preds.\(ext)").path)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        return paths
    }

    func testMergedShardsEqualOneRunInCanonicalOrder() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let names = (0..<40).map { "c/s\($0 % 5)/f\($0).wav" }.shuffled()
        let whole = Self.rows(names.sorted { Shard.canonicalOrder($0, $1) }).map { $0.text + "\n" }.joined()
        for count in [2, 3, 7] {
            let paths = try writeShards(names, count: count, in: dir)
            let merged = try ShardMerge.merge(paths: paths.reversed())
            XCTAssertEqual(merged.text, whole, "\(count) shards")
            XCTAssertEqual(merged.shards, count)
            for p in paths { try FileManager.default.removeItem(atPath: p) }
        }
    }

    func testMergeRefusesMissingRepeatedOverlappingAndTruncatedShards() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let names = (0..<10).map { "f\($0).wav" }
        let paths = try writeShards(names, count: 4, in: dir)
        func refuses(_ p: [String], _ check: (ShardError) -> Bool) {
            XCTAssertThrowsError(try ShardMerge.merge(paths: p)) { e in
                guard let s = e as? ShardError else { return XCTFail("\(e)") }
                XCTAssertTrue(check(s), "\(s)")
            }
        }
        refuses(Array(paths.dropLast())) { if case .missingShards([3], 4, _) = $0 { return true }; return false }
        // A shard still writing (or killed) has only its .partial file: said so.
        let partial = try OutputFile(path: paths[3] + ".tmp", partial: true)
        partial.write("{\"file\":\"f9.wav\"}\n")
        try FileManager.default.moveItem(atPath: paths[3], toPath: paths[3] + ".done")
        try FileManager.default.moveItem(atPath: partial.writingPath, toPath: paths[3] + ".partial")
        refuses(Array(paths.dropLast())) { if case .unfinished = $0 { return true }; return false }
        try FileManager.default.removeItem(atPath: paths[3] + ".partial")
        try FileManager.default.moveItem(atPath: paths[3] + ".done", toPath: paths[3])
        refuses(paths + [paths[0]]) { if case .duplicateShard(0, 4, _) = $0 { return true }; return false }
        refuses(paths + [dir.appendingPathComponent("x.jsonl").path]) { if case .notAShardFile = $0 { return true }; return false }
        let other = try writeShards(names, count: 2, in: dir.appendingPathComponent("two").creatingDirectory())
        refuses(paths + other) { if case .mixedCounts = $0 { return true }; return false }
        // An input in two shards.
        let first = try String(contentsOfFile: paths[1], encoding: .utf8)
        try (try String(contentsOfFile: paths[0], encoding: .utf8) + first.split(separator: "\n")[0] + "\n")
            .write(toFile: paths[0], atomically: true, encoding: .utf8)
        refuses(paths) { if case .overlap = $0 { return true }; return false }
        // An interrupted shard: the last line has no newline.
        try String(first.dropLast(3)).write(toFile: paths[1], atomically: true, encoding: .utf8)
        refuses([paths[1]] + Array(paths.dropFirst(2)) + [try writeShards(names, count: 4, in: dir.appendingPathComponent("b").creatingDirectory())[0]]) {
            if case .unreadable = $0 { return true }; return false
        }
    }

    func testMergesCSVWithQuotedFieldsAndChecksColumns() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let header = "file,start,angry"
        let a = header + "\n" + "\"b, \"\"quoted\"\"\nname.wav\",0.0,0.5\n" + "d.wav,0.0,0.25\n"
        let b = header + "\n" + "a.wav,0.0,1e-05\n" + "c.wav,1.5,0.75\r\n"
        let pa = dir.appendingPathComponent("p.shard-0-of-2.csv").path, pb = dir.appendingPathComponent("p.shard-1-of-2.csv").path
        try a.write(toFile: pa, atomically: true, encoding: .utf8)
        try b.write(toFile: pb, atomically: true, encoding: .utf8)
        let merged = try ShardMerge.merge(paths: [pa, pb])
        XCTAssertEqual(merged.rows.map(\.file), ["a.wav", "b, \"quoted\"\nname.wav", "c.wav", "d.wav"])
        XCTAssertEqual(merged.text, header + "\na.wav,0.0,1e-05\n\"b, \"\"quoted\"\"\nname.wav\",0.0,0.5\nc.wav,1.5,0.75\nd.wav,0.0,0.25\n")
        XCTAssertEqual(CSV.records(merged.text).map(\.fields.count), [3, 3, 3, 3, 3])
        try "file,start,sad\nz.wav,0,1\n".write(toFile: pb, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ShardMerge.merge(paths: [pa, pb])) { XCTAssertTrue("\($0)".contains("columns"), "\($0)") }
    }

    func testOutputFileAppearsUnderItsNameOnlyWhenFinished() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sub/p.shard-0-of-2.jsonl").path
        try "old\n".write(toFile: dir.appendingPathComponent("sub").creatingDirectory().appendingPathComponent("p.shard-0-of-2.jsonl").path,
                          atomically: true, encoding: .utf8)
        let f = try OutputFile(path: path, partial: true)
        f.write("a\n")
        XCTAssertEqual(try String(contentsOfFile: path + ".partial", encoding: .utf8), "a\n")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old\n")
        f.write("b\n")
        try f.finish()
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "a\nb\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
    }

    private func temporaryDirectory() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("ser-shard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}

private extension URL {
    func creatingDirectory() throws -> URL {
        try FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
        return self
    }
}
