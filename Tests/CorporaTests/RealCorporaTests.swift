import Foundation
import XCTest
import SERTestSupport
@testable import SERCorpora

/// Loads the real corpora in ../shared/corpora (skipped on a fresh clone).
final class RealCorporaTests: XCTestCase {
    private func root(_ name: String) throws -> URL {
        guard let u = SharedData.path("corpora/\(name)") else {
            throw XCTSkip("needs ../shared/corpora/\(name) (absent on a fresh clone)")
        }
        return u
    }

    private func counts(_ c: Corpus) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: c.classCounts.map { ($0.label, $0.count) })
    }

    func testRAVDESS() throws {
        let c = try RAVDESSLoader().load(from: try root("ravdess"))
        print(c.summary)
        XCTAssertEqual(c.entries.count, 1440)
        XCTAssertEqual(counts(c), ["neutral": 96, "calm": 192, "happy": 192, "sad": 192, "angry": 192,
                                   "fearful": 192, "disgust": 192, "surprised": 192])
        XCTAssertEqual(c.speakers.count, 24)
        XCTAssertTrue(c.speakerCounts.allSatisfy { $0.count == 60 })
        XCTAssertEqual(c.entries.filter { $0.tags["gender"] == "male" }.count, 720)
        // The release's byte-identical pair is reported, and kept.
        XCTAssertEqual(c.problems, [CorpusProblem(file: "Actor_07/03-01-03-01-02-02-07",
                                                  reason: .identicalContent(to: "Actor_07/03-01-03-01-02-01-07"))])
        let plan = try SplitProtocols.speakerKFold(c, folds: 6, seed: 1)
        try plan.validate(against: c)
        XCTAssertEqual(plan.folds.map(\.test.count), Array(repeating: 240, count: 6))
        let holdout = try SplitProtocols.stratifiedHoldout(c, seed: 1)
        try holdout.validate(against: c)
        XCTAssertEqual(holdout.folds[0].test.count, 288)
        XCTAssertEqual(holdout.folds[0].validation.count, 288)
        XCTAssertEqual(holdout.folds[0].train.count, 864)
    }

    func testEMODB() throws {
        let c = try EMODBLoader().load(from: try root("emodb"))
        print(c.summary)
        XCTAssertEqual(c.entries.count, 535)
        XCTAssertEqual(counts(c), ["angry": 127, "bored": 81, "disgust": 46, "fearful": 69, "happy": 71,
                                   "neutral": 79, "sad": 62])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: c.speakerCounts.map { ($0.speaker, $0.count) }),
                       ["03": 49, "08": 58, "09": 43, "10": 38, "11": 55, "12": 35, "13": 61, "14": 69,
                        "15": 56, "16": 71])
        XCTAssertEqual(c.problems, [])
        try SplitProtocols.leaveOneSpeakerOut(c, seed: 1).validate(against: c)
    }

    func testSAVEE() throws {
        let c = try SAVEELoader().load(from: try root("savee"))
        print(c.summary)
        XCTAssertEqual(c.entries.count, 480)
        XCTAssertEqual(counts(c), ["angry": 60, "disgust": 60, "fearful": 60, "happy": 60, "neutral": 120,
                                   "sad": 60, "surprised": 60])
        XCTAssertEqual(c.speakers, ["DC", "JE", "JK", "KL"])
        XCTAssertEqual(c.problems, [], "Info.txt is ignored quietly")
        try SplitProtocols.leaveOneSpeakerOut(c, seed: 1).validate(against: c)
    }
}
