import Foundation
import XCTest
import SERCore
@testable import SERCorpora

/// Label sets, pooled corpora and leave-one-corpus-out, on corpora made in memory.
final class PoolingTests: XCTestCase {
    /// A corpus with `speakers` speakers, each with one clip per label.
    private func corpus(_ name: String, labels: [String], speakers: Int) -> Corpus {
        var entries: [CorpusEntry] = []
        for s in 0..<speakers {
            for l in labels {
                let id = "s\(s)/\(l)"
                entries.append(CorpusEntry(id: id, url: URL(fileURLWithPath: "/data/\(name)/\(id).wav"), label: l, speaker: "s\(s)"))
            }
        }
        return Corpus(name: name, root: URL(fileURLWithPath: "/data/\(name)"), labels: labels, entries: entries)
    }

    func testLabelSetsMapCalmToNeutralAndDropBored() {
        XCTAssertEqual(LabelSet.shared7.map("calm"), "neutral")
        XCTAssertNil(LabelSet.shared7.map("bored"))
        XCTAssertEqual(LabelSet.shared7.map("surprised"), "surprised")
        XCTAssertNil(LabelSet.shared6.map("surprised"))
        XCTAssertEqual(LabelSet.corpus.map("bored"), "bored")
        XCTAssertEqual(LabelSet.shared6.labels, ["neutral", "happy", "sad", "angry", "fearful", "disgust"])

        let emodb = corpus("EMO-DB", labels: ["neutral", "happy", "sad", "angry", "fearful", "disgust", "bored"], speakers: 2)
        let r = emodb.relabelled(.shared7)
        XCTAssertEqual(r.labels.count, 7)
        XCTAssertEqual(r.entries.count, 12)
        XCTAssertEqual(r.excluded["EMO-DB label bored (shared7)"], 2)
        let ravdess = corpus("RAVDESS", labels: ["neutral", "calm", "happy"], speakers: 1).relabelled(.shared7)
        XCTAssertEqual(ravdess.entries.filter { $0.label == "neutral" }.count, 2)
        XCTAssertEqual(ravdess.entries.first { $0.id == "s0/calm" }?.tags["original_label"], "calm")
    }

    func testPoolingPrefixesIdsAndSpeakersAndRefusesMismatchedLabels() throws {
        let a = corpus("A", labels: ["happy", "sad"], speakers: 3), b = corpus("B", labels: ["happy", "sad"], speakers: 2)
        let p = try Corpus.pooled([a, b])
        XCTAssertEqual(p.name, "A+B")
        XCTAssertEqual(p.entries.count, 10)
        XCTAssertEqual(p.speakers.count, 5)                       // s0 of A and s0 of B stay apart
        XCTAssertTrue(p.entries.allSatisfy { $0.id.hasPrefix($0.tags["corpus"]! + "/") })
        XCTAssertEqual(p.memberCorpora, ["A", "B"])
        XCTAssertThrowsError(try Corpus.pooled([a, corpus("C", labels: ["happy"], speakers: 2)]))
        XCTAssertThrowsError(try Corpus.pooled([a, a]))
    }

    func testLeaveOneCorpusOutTestsEveryClipOfTheLeftOutCorpus() throws {
        let labels = ["happy", "sad"]
        let p = try Corpus.pooled([corpus("A", labels: labels, speakers: 10), corpus("B", labels: labels, speakers: 4),
                                   corpus("C", labels: labels, speakers: 3)])
        let plan = try SplitProtocols.leaveOneCorpusOut(p, seed: 1)
        try plan.validate(against: p)
        XCTAssertEqual(plan.folds.map(\.name), ["corpus-A", "corpus-B", "corpus-C"])
        for fold in plan.folds {
            let left = String(fold.name.dropFirst("corpus-".count))
            XCTAssertTrue(fold.test.allSatisfy { $0.hasPrefix(left + "/") })
            XCTAssertEqual(fold.test.count, p.entries.filter { $0.tags["corpus"] == left }.count)
            XCTAssertFalse(fold.train.contains { $0.hasPrefix(left + "/") })
            // Every training corpus gives validation speakers, and none of them trains.
            let valSpeakers = Set(fold.validationSpeakers)
            for other in ["A", "B", "C"] where other != left {
                XCTAssertTrue(valSpeakers.contains { $0.hasPrefix(other + "/") }, "\(fold.name): no validation speaker of \(other)")
            }
            let trainSpeakers = Set(fold.train.map { String($0.split(separator: "/").prefix(2).joined(separator: "/")) })
            XCTAssertTrue(trainSpeakers.isDisjoint(with: valSpeakers))
        }
        XCTAssertThrowsError(try SplitProtocols.leaveOneCorpusOut(corpus("A", labels: labels, speakers: 3), seed: 1))
        // Same seed, same plan.
        XCTAssertEqual(try SplitProtocols.leaveOneCorpusOut(p, seed: 1), plan)
    }
}
