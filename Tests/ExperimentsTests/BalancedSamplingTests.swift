import XCTest
import SERCore
@testable import SERExperiments

/// Batches balanced by (corpus, class) group.
final class BalancedSamplingTests: XCTestCase {
    func testEveryGroupIsDrawnAboutEquallyOften() {
        // Group 0 has 90 clips, group 1 has 9, group 2 has 1.
        let groups = Array(repeating: 0, count: 90) + Array(repeating: 1, count: 9) + [2]
        var rng = SeededRandom(seed: 5)
        let draw = Trainer.balancedDraw(groups: groups, count: 3000, rng: &rng)
        XCTAssertEqual(draw.count, 3000)
        var perGroup = [0, 0, 0]
        for i in draw { perGroup[groups[i]] += 1 }
        for c in perGroup { XCTAssertEqual(Double(c), 1000, accuracy: 100) }
        var again = SeededRandom(seed: 5)
        XCTAssertEqual(Trainer.balancedDraw(groups: groups, count: 3000, rng: &again), draw)
    }

    func testClipsPerEpoch() throws {
        var t = TrainingConfig()
        XCTAssertEqual(t.clipsPerEpoch(available: 800), 800)            // default: every clip, copies included
        t.epochClips = 100
        XCTAssertEqual(t.clipsPerEpoch(available: 800), 100)            // a random subset
        XCTAssertEqual(t.clipsPerEpoch(available: 50), 50)              // never more than there are, unbalanced
        t.balancedSampling = true
        XCTAssertEqual(t.clipsPerEpoch(available: 50), 100)             // draws with replacement
        XCTAssertNoThrow(try t.validate())
        t.epochClipsOriginals = true
        XCTAssertThrowsError(try t.validate())                          // a number or 'originals', not both
        t.epochClips = nil
        XCTAssertNoThrow(try t.validate())
        t.epochClips = 0; t.epochClipsOriginals = nil
        XCTAssertThrowsError(try t.validate())
    }

    func testEpochClipsKeepsOlderSpecsEqual() throws {
        // A spec.json written before the setting existed decodes to nil, and nil is not written back.
        let json = try JSONEncoder().encode(TrainingConfig())
        XCTAssertFalse(String(decoding: json, as: UTF8.self).contains("epochClips"))
        XCTAssertEqual(try JSONDecoder().decode(TrainingConfig.self, from: json), TrainingConfig())
    }
}
