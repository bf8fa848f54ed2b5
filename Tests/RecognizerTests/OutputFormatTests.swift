import Foundation
import SERAudio
import SERCore
import SERRecognizer
import SERTestSupport
import XCTest

/// The one result schema (``ResultRow``) of files, segments and windows, and the `ser predict`,
/// `ser features` and `ser merge` commands that write and join it.
final class OutputFormatTests: XCTestCase {
    private static func object(_ v: some Encodable) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(v)) as? [String: Any])
    }

    func testFileSegmentAndWindowResultsShareOneShape() throws {
        let recognizer = EmotionRecognizer(classifier: ToneClassifier())
        let x = Signals.tone(220, seconds: 4) + Signals.silence(seconds: 2) + Signals.tone(1760, seconds: 4)
        var p = try recognizer.recognize(samples: x, sampleRate: 16000)
        p.source = "talk.wav"
        let t = try recognizer.timeline(samples: x, sampleRate: 16000, options: SegmentOptions(window: 2, hop: 1))
        let file = try Self.object(p)
        let segment = try Self.object(try XCTUnwrap(t.segments.first))
        let window = try Self.object(try XCTUnwrap(t.windows.first))
        let common: Set<String> = ["start", "end", "duration", "speech", "emotion", "confidence", "probabilities"]
        for (name, o) in [("file", file), ("segment", segment), ("window", window)] {
            XCTAssertTrue(common.isSubset(of: Set(o.keys)), "\(name): \(o.keys.sorted())")
            // A flat {"label": p} map.
            let probs = try XCTUnwrap(o["probabilities"] as? [String: Double], "\(name)")
            XCTAssertEqual(Set(probs.keys), ["low", "high", "quiet"])
            XCTAssertEqual(probs.values.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(try XCTUnwrap(o["duration"] as? Double), try XCTUnwrap(o["end"] as? Double) - (try XCTUnwrap(o["start"] as? Double)), accuracy: 1e-12)
        }
        XCTAssertEqual(file["file"] as? String, "talk.wav")
        XCTAssertNil(file["source"])
        XCTAssertEqual(file["start"] as? Double, 0)
        XCTAssertEqual(file["end"] as? Double, p.duration)
        XCTAssertNotNil(window["span"])
        // The timeline itself: file, speech regions under their own name (`speech` is the Bool of rows).
        let timeline = try Self.object(t)
        XCTAssertNotNil(timeline["speechRegions"])
        XCTAssertNil(timeline["speech"])
    }

    func testJSONRoundTripsAndOlderShapesDecode() throws {
        let recognizer = EmotionRecognizer(classifier: ToneClassifier())
        let x = Signals.tone(220, seconds: 4) + Signals.silence(seconds: 2) + Signals.tone(1760, seconds: 4)
        var t = try recognizer.timeline(samples: x, sampleRate: 16000, options: SegmentOptions(window: 2, hop: 1))
        t.source = "a/b.wav"
        // A timeline knows its labels: probabilities come back in label order, equal.
        XCTAssertEqual(try JSONDecoder().decode(Timeline.self, from: JSONEncoder().encode(t)), t)
        // A prediction alone: the map comes back in alphabetical label order, same values.
        let p = try recognizer.recognize(samples: Signals.tone(1760, seconds: 2), sampleRate: 16000)
        let q = try JSONDecoder().decode(EmotionPrediction.self, from: JSONEncoder().encode(p))
        XCTAssertEqual(q.probabilities.map(\.emotion), ["high", "low", "quiet"])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: q.probabilities.map { ($0.emotion, $0.probability) }),
                       Dictionary(uniqueKeysWithValues: p.probabilities.map { ($0.emotion, $0.probability) }))
        XCTAssertEqual(q.emotion, p.emotion); XCTAssertEqual(q.confidence, p.confidence); XCTAssertEqual(q.duration, p.duration)
        XCTAssertEqual(q.speechDuration, p.speechDuration); XCTAssertEqual(q.windows, p.windows)
        XCTAssertEqual(q.normalization, p.normalization)
        // The older timeline shape: `source`, `speech` for the regions, windows' probabilities as a bare
        // array in label order, segments' as [{emotion, probability}].
        var old = try Self.object(t)
        old["source"] = old.removeValue(forKey: "file")
        old["speech"] = old.removeValue(forKey: "speechRegions")
        let labels = t.labels
        old["windows"] = try XCTUnwrap(old["windows"] as? [[String: Any]]).map { w -> [String: Any] in
            var w = w
            let m = w["probabilities"] as? [String: Double] ?? [:]
            w["probabilities"] = labels.map { m[$0] ?? -1 }
            return w
        }
        old["segments"] = try XCTUnwrap(old["segments"] as? [[String: Any]]).map { s -> [String: Any] in
            var s = s
            let m = s["probabilities"] as? [String: Double] ?? [:]
            s["probabilities"] = labels.map { ["emotion": $0, "probability": m[$0] ?? -1] }
            return s
        }
        let decoded = try JSONDecoder().decode(Timeline.self, from: JSONSerialization.data(withJSONObject: old))
        XCTAssertEqual(decoded, t)
        let oldPrediction = #"{"source":"a.wav","emotion":"sad","confidence":0.6,"duration":3.5,"probabilities":[{"emotion":"sad","probability":0.6},{"emotion":"calm","probability":0.4}]}"#
        let o = try JSONDecoder().decode(EmotionPrediction.self, from: Data(oldPrediction.utf8))
        XCTAssertEqual(o.source, "a.wav")
        XCTAssertEqual(o.probabilities.map(\.emotion), ["sad", "calm"], "an array keeps its order")
    }

    func testCSVHasFullPrecisionADurationAndTheJSONNames() throws {
        let labels = ["neutral", "angry"]
        let third: Float = 1.0 / 3.0
        let row = ResultRow(file: "a, \"b\".wav", start: 0.1, end: 2.35, speech: true, emotion: "angry", confidence: 1 - third,
                            probabilities: [EmotionScore(emotion: "angry", probability: 1 - third), EmotionScore(emotion: "neutral", probability: third)],
                            windows: 1, speechDuration: 2.25, normalization: "global")
        let header = CSV.records(ResultRow.csvHeader(labels: labels))[0].fields
        XCTAssertEqual(header, ["file", "start", "end", "duration", "speech", "emotion", "confidence", "windows", "speechDuration",
                                "normalization", "neutral", "angry"])
        let fields = CSV.records(row.csvLine(labels: labels))[0].fields
        XCTAssertEqual(fields.count, header.count)
        let f = Dictionary(uniqueKeysWithValues: zip(header, fields))
        XCTAssertEqual(f["file"], "a, \"b\".wav")
        XCTAssertEqual(Float(try XCTUnwrap(f["neutral"])), third, "the exact Float reads back")
        XCTAssertEqual(Float(try XCTUnwrap(f["confidence"])), 1 - third)
        XCTAssertEqual(Double(try XCTUnwrap(f["duration"])), 2.35 - 0.1)
        XCTAssertEqual(f["speech"], "true")
        // The same names in JSON.
        let json = try Self.object(row)
        for name in header.prefix(ResultRow.csvColumns.count) { XCTAssertNotNil(json[name], name) }
        XCTAssertEqual((json["probabilities"] as? [String: Double])?["neutral"].map { Float($0) }, third)
        // No speech: empty emotion, confidence and probabilities.
        let silent = CSV.records(ResultRow.noSpeech(file: "s.wav", duration: 2).csvLine(labels: labels))[0].fields
        XCTAssertEqual(silent[4], "false")
        XCTAssertEqual(Array(silent[5...6]) + Array(silent[10...]), ["", "", "", ""])
    }

    // MARK: - Commands

    static var ser: URL { SharedData.packageRoot.appendingPathComponent(".build/debug/ser") }
    static var model: URL { SharedData.packageRoot.appendingPathComponent("models/handmade.safetensors") }

    private func requireCommand() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.ser.path) else {
            throw XCTSkip("no .build/debug/ser (run `swift build --build-tests` first)")
        }
        guard FileManager.default.fileExists(atPath: Self.model.path) else { throw XCTSkip("models/handmade.safetensors is absent") }
    }

    @discardableResult
    private func ser(_ args: [String], env: [String: String] = [:], stdin: URL? = nil, expect status: Int32 = 0) throws -> (out: String, err: String) {
        let p = Process()
        if let stdin { p.standardInput = try FileHandle(forReadingFrom: stdin) }
        p.executableURL = Self.ser
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for k in ["SER_SHARD", "SER_SHARD_COUNT", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
                  "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX"] { environment[k] = nil }
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = Locked(Data())
        let reader = Thread { o.withLock { $0 = out.fileHandleForReading.readDataToEndOfFile() } }
        reader.start()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        let result = (String(decoding: o.withLock { $0 }, as: UTF8.self), String(decoding: e, as: UTF8.self))
        XCTAssertEqual(p.terminationStatus, status, "ser \(args.joined(separator: " ")): \(result.1)")
        return result
    }

    func testStandardInputIsAnsweredLikeTheFileAndNamedAsStandardInput() throws {
        try requireCommand()
        let dir = try SharedData.temporaryDirectory("stdin")
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = dir.appendingPathComponent("clip.wav")
        try AudioEncoder.writeWAV(Voice.signal(seconds: 1.5, rate: 16000), sampleRate: 16000, to: clip)
        let fromFile = try ser(["predict", clip.path, "--model", Self.model.path, "--format", "jsonl", "--quiet"]).out
        let piped = try ser(["predict", "-", "--model", Self.model.path, "--format", "jsonl", "--quiet"], stdin: clip).out
        XCTAssertEqual(piped.replacingOccurrences(of: "\"file\":\"-\"", with: "\"file\":\"\(clip.path)\""), fromFile)
        // Garbage on standard input: an error naming <stdin> (not the temporary copy), exit 1.
        let junk = dir.appendingPathComponent("junk")
        try Data("not audio at all".utf8).write(to: junk)
        let failed = try ser(["predict", "-", "--model", Self.model.path, "--quiet"], stdin: junk, expect: 1)
        XCTAssertTrue(failed.err.contains("<stdin>"), failed.err)
        XCTAssertFalse(failed.err.contains("ser-stdin-"), failed.err)
    }

    /// Two folders of short clips, with one file name in both.
    private func corpus() throws -> (dir: URL, inputs: [String]) {
        let dir = try SharedData.temporaryDirectory("output-cli")
        let a = dir.appendingPathComponent("t/a"), b = dir.appendingPathComponent("t/b/sub")
        for d in [a, b] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        var k = 0
        for (folder, names) in [(a, ["x.wav", "y.wav", "z.wav", "w.wav"]), (b, ["x.wav", "v.wav", "u.wav"])] {
            for n in names {
                k += 1
                let x = Signals.silence(seconds: 0.3, seed: UInt64(k)) + Signals.tone(150 + 90 * Double(k), seconds: 1.2, amplitude: 0.2)
                    + Signals.silence(seconds: 0.3, seed: UInt64(k + 50))
                try AudioEncoder.writeWAV(x, sampleRate: 16000, to: folder.appendingPathComponent(n))
            }
        }
        try AudioEncoder.writeWAV(Signals.silence(seconds: 1), sampleRate: 16000, to: a.appendingPathComponent("silent.wav"))
        return (dir, [a.path, dir.appendingPathComponent("t/b").path])
    }

    func testShardedPredictMergesToTheUnshardedRun() throws {
        try requireCommand()
        let (dir, inputs) = try corpus()
        defer { try? FileManager.default.removeItem(at: dir) }
        for format in ["jsonl", "csv"] {
            for segment in [false, true] {
                // --threads 3 and 2-3 files per shard: every process runs OpenBLAS single-threaded
                // (one worker would let it use every core, summing in another order).
                let common = inputs + ["--model", Self.model.path, "--format", format, "--quiet", "--threads", "3"]
                    + (segment ? ["--segment", "--window", "1", "--hop", "0.5"] : [])
                let whole = try ser(["predict"] + common).out
                // Input order: the rows of one run are already in canonical order for these inputs.
                let out = dir.appendingPathComponent("p.\(format)").path
                var shardFiles: [String] = []
                for i in 0..<3 {
                    let note = try ser(["predict"] + common + ["--shard", "\(i)/3", "--output", out]).err
                    XCTAssertTrue(note.contains("shard \(i)/3"), note)
                    shardFiles.append(dir.appendingPathComponent("p.shard-\(i)-of-3.\(format)").path)
                    XCTAssertFalse(FileManager.default.fileExists(atPath: shardFiles[i] + ".partial"), "renamed when done")
                }
                // The Slurm variables give the same shard (ids 1…3).
                try ser(["predict"] + common + ["--output", dir.appendingPathComponent("s.\(format)").path],
                        env: ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"])
                XCTAssertEqual(try String(contentsOfFile: dir.appendingPathComponent("s.shard-1-of-3.\(format)").path, encoding: .utf8),
                               try String(contentsOfFile: shardFiles[1], encoding: .utf8))
                let merged = try ser(["merge"] + shardFiles.reversed()).out
                XCTAssertEqual(merged, whole, "\(format), segment \(segment)")
                XCTAssertGreaterThanOrEqual(whole.split(separator: "\n").count, 8)
                // A missing shard is refused.
                let missing = try ser(["merge", shardFiles[0], shardFiles[2]], expect: 1).err
                XCTAssertTrue(missing.contains("missing 1 of 3 shards: 1"), missing)
            }
        }
        // jq-style use: every jsonl row has a file and a flat probability map.
        let rows = try ser(["predict"] + inputs + ["--model", Self.model.path, "--format", "jsonl", "--quiet"]).out.split(separator: "\n")
        for line in rows {
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertNotNil(o["file"] as? String)
            XCTAssertNotNil(o["probabilities"] as? [String: Any])
        }
        // Sharded runs need a mergeable format and a file.
        try ser(["predict", inputs[0], "--model", Self.model.path, "--shard", "0/2"], expect: 64)
        try ser(["predict", inputs[0], "--model", Self.model.path, "--format", "jsonl"], env: ["JOB_COMPLETION_INDEX": "1"], expect: 64)
    }

    func testFeaturesMirrorFoldersWithOneFileNameAndShardsMerge() throws {
        try requireCommand()
        let (dir, inputs) = try corpus()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("o")
        let blocks = ["--blocks", "mfcc,zcr", "--quiet", "--threads", "2"]
        let run = try ser(["features"] + inputs + ["--out", out.path] + blocks).out
        XCTAssertTrue(run.contains("features: 8 of 8 files"), run)
        for rel in ["a/x.safetensors", "b/sub/x.safetensors", "a/silent.safetensors", "b/sub/u.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(rel).path), rel)
        }
        let index = try String(contentsOf: out.appendingPathComponent("index.jsonl"), encoding: .utf8)
        XCTAssertEqual(index.split(separator: "\n").count, 8)
        // One folder: relative to it, as before.
        let single = dir.appendingPathComponent("one")
        try ser(["features", inputs[0], "--out", single.path] + blocks)
        XCTAssertTrue(FileManager.default.fileExists(atPath: single.appendingPathComponent("x.safetensors").path))
        // Two inputs that would share an output: refused before any work.
        let clash = dir.appendingPathComponent("t/a/x.flac")
        try AudioEncoder.writeWAV(Signals.tone(300, seconds: 1), sampleRate: 16000, to: dir.appendingPathComponent("t/a/x2.wav"))
        try FileManager.default.moveItem(at: dir.appendingPathComponent("t/a/x2.wav"), to: clash)
        let refused = dir.appendingPathComponent("refused")
        let err = try ser(["features", inputs[0], "--out", refused.path] + blocks, expect: 64).err
        XCTAssertTrue(err.contains("x.safetensors"), err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: refused.path), "nothing written")
        let svgErr = try ser(["predict", inputs[0], "--model", Self.model.path, "--svg", refused.path, "--quiet"], expect: 64).err
        XCTAssertTrue(svgErr.contains("x.svg"), svgErr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: refused.path), "nothing written")
        try FileManager.default.removeItem(at: clash)

        // Three shards into one folder, merged: the same index as one run.
        let sharded = dir.appendingPathComponent("s")
        for i in 0..<3 { try ser(["features"] + inputs + ["--out", sharded.path, "--shard", "\(i)/3"] + blocks) }
        let shardIndexes = (0..<3).map { sharded.appendingPathComponent("index.shard-\($0)-of-3.jsonl").path }
        let merged = try ser(["merge"] + shardIndexes).out
        XCTAssertEqual(merged, index)
        let files = { (u: URL) in Set((FileManager.default.enumerator(atPath: u.path)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".safetensors") }) }
        XCTAssertEqual(files(sharded), files(out))
        // A features file gone missing is named.
        try FileManager.default.removeItem(at: sharded.appendingPathComponent("b/sub/v.safetensors"))
        let gone = try ser(["merge"] + shardIndexes, expect: 1).err
        XCTAssertTrue(gone.contains("b/sub/v.safetensors"), gone)
    }
}
