import Foundation
import XCTest
import SERCore
import SERTestSupport
@testable import SERCorpora

final class SplitTests: XCTestCase {
    /// An in-memory corpus: `speakers` speakers, each with `perLabel` utterances of every label.
    private func synthetic(speakers: Int, labels: [String], perLabel: Int, sessions: Int? = nil) -> Corpus {
        var entries: [CorpusEntry] = []
        for s in 1...speakers {
            let speaker = String(format: "S%02d", s)
            for l in labels { for k in 0..<perLabel {
                let id = "\(speaker)/\(l)-\(k)"
                var tags: [String: String] = [:]
                if let n = sessions { tags["session"] = "\((s - 1) % n + 1)" }
                entries.append(CorpusEntry(id: id, url: URL(fileURLWithPath: "/x/\(id).wav"), label: l,
                                           speaker: speaker, tags: tags))
            } }
        }
        return Corpus(name: "synthetic", root: URL(fileURLWithPath: "/x"), labels: labels,
                      entries: entries.sorted { $0.id < $1.id })
    }

    private let eight = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]

    func testStratifiedHoldoutIsStratifiedSeededAndComplete() throws {
        // Unbalanced classes: 50 of label a, 23 of b, 7 of c.
        var entries: [CorpusEntry] = []
        for (l, n) in [("a", 50), ("b", 23), ("c", 7)] { for k in 0..<n {
            entries.append(CorpusEntry(id: "\(l)\(k)", url: URL(fileURLWithPath: "/\(l)\(k)"), label: l, speaker: "s\(k % 4)"))
        } }
        let c = Corpus(name: "u", root: URL(fileURLWithPath: "/"), labels: ["a", "b", "c"], entries: entries)
        let p = try SplitProtocols.stratifiedHoldout(c, seed: 42)
        try p.validate(against: c)
        let f = try XCTUnwrap(p.folds.first)
        XCTAssertEqual(f.train.count + f.validation.count + f.test.count, 80)
        func count(_ ids: [String], _ l: String) -> Int { ids.filter { $0.hasPrefix(l) }.count }
        XCTAssertEqual(f.test.count, 16); XCTAssertEqual(f.validation.count, 16); XCTAssertEqual(f.train.count, 48)
        for (l, n) in [("a", 50), ("b", 23), ("c", 7)] {
            let q = Double(n) * 0.2
            for set in [f.test, f.validation] {
                XCTAssertTrue(count(set, l) == Int(q.rounded(.down)) || count(set, l) == Int(q.rounded(.up)), l)
            }
            XCTAssertEqual(count(f.train, l) + count(f.test, l) + count(f.validation, l), n)
        }
        XCTAssertEqual(SplitProtocols.apportion([192, 192, 96], fraction: 0.2), [39, 38, 19])
        XCTAssertEqual(SplitProtocols.apportion([1, 1, 1], fraction: 0.5), [1, 1, 0])
        XCTAssertEqual(try SplitProtocols.stratifiedHoldout(c, seed: 42), p, "same seed, same split")
        // Entry order must not matter.
        let shuffled = Corpus(name: "u", root: c.root, labels: c.labels, entries: c.entries.reversed())
        XCTAssertEqual(try SplitProtocols.stratifiedHoldout(shuffled, seed: 42).folds, p.folds)
        XCTAssertNotEqual(try SplitProtocols.stratifiedHoldout(c, seed: 43).folds, p.folds, "another seed differs")
        XCTAssertThrowsError(try SplitProtocols.stratifiedHoldout(c, seed: 1, validation: 0.5, test: 0.6))
    }

    func testSpeakerKFoldRAVDESSLike() throws {
        let c = synthetic(speakers: 24, labels: eight, perLabel: 2)
        let p = try SplitProtocols.speakerKFold(c, folds: 6, seed: 7)
        try p.validate(against: c)
        XCTAssertEqual(p.folds.count, 6)
        XCTAssertEqual(p.folds[0].testSpeakers, ["S01", "S02", "S03", "S04"])
        XCTAssertEqual(p.folds[0].validationSpeakers, ["S05", "S06", "S07", "S08"])
        XCTAssertEqual(p.folds[5].validationSpeakers, ["S01", "S02", "S03", "S04"])
        var tested = Set<String>()
        for f in p.folds {
            let speakers = { (ids: [String]) in Set(ids.map { String($0.prefix(3)) }) }
            XCTAssertEqual(speakers(f.test).count, 4)
            XCTAssertTrue(speakers(f.test).isDisjoint(with: speakers(f.train)))
            XCTAssertTrue(speakers(f.test).isDisjoint(with: speakers(f.validation)))
            XCTAssertTrue(speakers(f.validation).isDisjoint(with: speakers(f.train)))
            XCTAssertEqual(f.train.count, 16 * 16); XCTAssertEqual(f.test.count, 4 * 16)
            tested.formUnion(f.test)
        }
        XCTAssertEqual(tested.count, c.entries.count)
        let shuffledPlan = try SplitProtocols.speakerKFold(c, folds: 6, seed: 7, shuffleSpeakers: true)
        try shuffledPlan.validate(against: c)
        XCTAssertEqual(try SplitProtocols.speakerKFold(c, folds: 6, seed: 7, shuffleSpeakers: true), shuffledPlan)
        XCTAssertNotEqual(shuffledPlan.folds.map(\.testSpeakers), p.folds.map(\.testSpeakers))
        // Uneven: 10 speakers, 3 folds -> 4, 3, 3.
        let ten = synthetic(speakers: 10, labels: ["a", "b"], perLabel: 1)
        let q = try SplitProtocols.speakerKFold(ten, folds: 3, seed: 1, validation: .stratifiedFraction(0.25))
        try q.validate(against: ten)
        XCTAssertEqual(q.folds.map(\.testSpeakers.count), [4, 3, 3])
        XCTAssertFalse(q.validationSpeakerIndependent)
        XCTAssertThrowsError(try SplitProtocols.speakerKFold(ten, folds: 11, seed: 1))
    }

    func testLeaveOneSpeakerOut() throws {
        let c = synthetic(speakers: 10, labels: ["neutral", "angry", "bored"], perLabel: 3)
        let p = try SplitProtocols.leaveOneSpeakerOut(c, seed: 3)
        try p.validate(against: c)
        XCTAssertEqual(p.folds.count, 10)
        for f in p.folds {
            XCTAssertEqual(f.testSpeakers.count, 1); XCTAssertEqual(f.validationSpeakers.count, 1)
            XCTAssertNotEqual(f.testSpeakers, f.validationSpeakers)
            XCTAssertEqual(f.test.count, 9); XCTAssertEqual(f.validation.count, 9); XCTAssertEqual(f.train.count, 72)
        }
        XCTAssertEqual(try SplitProtocols.leaveOneSpeakerOut(c, seed: 3), p)
    }

    func testLeaveOneSessionOut() throws {
        // 10 speakers over 5 sessions, 2 per session, like IEMOCAP.
        let c = synthetic(speakers: 10, labels: ["neutral", "happy", "sad", "angry"], perLabel: 2, sessions: 5)
        let p = try SplitProtocols.leaveOneSessionOut(c, seed: 11)
        try p.validate(against: c)
        XCTAssertEqual(p.folds.map(\.name), ["session-1", "session-2", "session-3", "session-4", "session-5"])
        for f in p.folds {
            XCTAssertEqual(f.testSpeakers.count, 2); XCTAssertEqual(f.validationSpeakers.count, 2)
            XCTAssertTrue(Set(f.testSpeakers).isDisjoint(with: f.validationSpeakers))
        }
        let noTags = synthetic(speakers: 4, labels: ["a"], perLabel: 1)
        XCTAssertThrowsError(try SplitProtocols.leaveOneSessionOut(noTags, seed: 1))
    }

    func testJSONRoundTripAndRepeatability() throws {
        let c = synthetic(speakers: 6, labels: ["a", "b"], perLabel: 5)
        let dir = try SharedData.temporaryDirectory("splits"); defer { try? FileManager.default.removeItem(at: dir) }
        for p in [try SplitProtocols.stratifiedHoldout(c, seed: 9), try SplitProtocols.speakerKFold(c, folds: 3, seed: 9),
                  try SplitProtocols.leaveOneSpeakerOut(c, seed: 9)] {
            let url = dir.appendingPathComponent("\(p.protocolName).json")
            try p.write(to: url)
            let back = try SplitPlan.read(from: url)
            XCTAssertEqual(back, p)
            XCTAssertEqual(back.entriesFingerprint, SplitPlan.fingerprint(c.entries.map(\.id)))
            let folds = try back.resolve(in: c)
            XCTAssertEqual(folds.count, p.folds.count)
            XCTAssertEqual(folds[0].test.map(\.id), p.folds[0].test)
        }
        try Data("{}".utf8).write(to: dir.appendingPathComponent("bad.json"))
        XCTAssertThrowsError(try SplitPlan.read(from: dir.appendingPathComponent("bad.json"))) {
            XCTAssertTrue("\($0)".contains("bad.json"))
        }
    }

    func testValidationCatchesBrokenPlans() throws {
        let c = synthetic(speakers: 6, labels: ["a", "b"], perLabel: 2)
        let good = try SplitProtocols.speakerKFold(c, folds: 3, seed: 1)
        var leak = good
        let moved = leak.folds[0].test.removeLast()     // a test utterance of a test speaker into training
        leak.folds[0].train.append(moved)
        XCTAssertThrowsError(try leak.validate(against: c)) {
            guard case .speakerLeak(_, _, "test/train") = $0 as? SplitError else { return XCTFail("\($0)") }
        }
        var overlap = good
        overlap.folds[1].validation.append(overlap.folds[1].train[0])
        XCTAssertThrowsError(try overlap.validate(against: c)) {
            guard case .overlap = $0 as? SplitError else { return XCTFail("\($0)") }
        }
        var missing = good
        missing.folds[2].train.removeFirst()
        XCTAssertThrowsError(try missing.validate(against: c)) {
            guard case .incomplete = $0 as? SplitError else { return XCTFail("\($0)") }
        }
        var unknown = good
        unknown.folds[0].train.append("nope")
        XCTAssertThrowsError(try unknown.validate(against: c)) {
            XCTAssertEqual($0 as? SplitError, .unknownEntry(fold: "fold-1", id: "nope"))
        }
        var twice = good                                  // fold 2 also tests a fold-1 test entry
        let id = twice.folds[0].test[0]
        twice.folds[1].train.removeAll { $0 == id }; twice.folds[1].validation.removeAll { $0 == id }
        twice.folds[1].test.append(id)
        XCTAssertThrowsError(try twice.validate(against: c))
    }

    func testShuffleIsAPermutationAndSeeded() {
        var a = Array(0..<100), b = Array(0..<100)
        var r1 = SeededRandom(seed: 5), r2 = SeededRandom(seed: 5)
        SplitProtocols.shuffle(&a, &r1); SplitProtocols.shuffle(&b, &r2)
        XCTAssertEqual(a, b); XCTAssertEqual(a.sorted(), Array(0..<100)); XCTAssertNotEqual(a, Array(0..<100))
    }
}
