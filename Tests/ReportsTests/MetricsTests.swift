import Foundation
import XCTest
@testable import SERReports

final class MetricsTests: XCTestCase {
    func testHandComputedExample() throws {
        // truth a a a b b c ; predicted a a b b c c
        let m = try ClassificationMetrics(labels: ["a", "b", "c"], truth: [0, 0, 0, 1, 1, 2], predicted: [0, 0, 1, 1, 2, 2])
        XCTAssertEqual(m.confusion.counts, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
        XCTAssertEqual(m.count, 6)
        XCTAssertEqual(try XCTUnwrap(m.accuracy), 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(m.unweightedAccuracy), (2.0 / 3 + 1.0 / 2 + 1) / 3, accuracy: 1e-12)
        let p = m.perClass
        XCTAssertEqual(p.map(\.precision), [1, 0.5, 0.5])
        XCTAssertEqual(p.map(\.support), [3, 2, 1]); XCTAssertEqual(p.map(\.predicted), [2, 2, 2])
        XCTAssertEqual(try XCTUnwrap(p[0].f1), 0.8, accuracy: 1e-12)      // 2·(1·2/3)/(1+2/3)
        XCTAssertEqual(try XCTUnwrap(p[1].f1), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(p[2].f1), 2.0 / 3, accuracy: 1e-12)  // 2·(0.5·1)/1.5
        XCTAssertEqual(try XCTUnwrap(m.macroF1), (0.8 + 0.5 + 2.0 / 3) / 3, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(m.weightedF1), (0.8 * 3 + 0.5 * 2 + 2.0 / 3) / 6, accuracy: 1e-12)
        // Names give the same result.
        let byName = try ClassificationMetrics(labels: ["a", "b", "c"], truth: ["a", "a", "a", "b", "b", "c"],
                                               predicted: ["a", "a", "b", "b", "c", "c"])
        XCTAssertEqual(byName, m)
    }

    func testClassesWithoutSupport() throws {
        // c is predicted but never true; d is neither true nor predicted.
        let m = try ClassificationMetrics(labels: ["a", "b", "c", "d"], truth: [0, 0, 1, 1], predicted: [0, 2, 1, 1])
        let c = m.perClass[2], d = m.perClass[3]
        XCTAssertNil(c.recall); XCTAssertEqual(c.precision, 0); XCTAssertEqual(c.f1, 0)
        XCTAssertNil(d.recall); XCTAssertNil(d.precision); XCTAssertNil(d.f1)
        XCTAssertEqual(try XCTUnwrap(m.unweightedAccuracy), (0.5 + 1) / 2, accuracy: 1e-12)   // over a and b
        let fa = 2 * 1.0 / (2 + 1), fb = 1.0
        XCTAssertEqual(try XCTUnwrap(m.macroF1), (fa + fb + 0) / 3, accuracy: 1e-12)           // a, b, c
        // Nothing at all: no metric is invented.
        let empty = try ClassificationMetrics(labels: ["a", "b"], truth: [Int](), predicted: [Int]())
        XCTAssertNil(empty.accuracy); XCTAssertNil(empty.unweightedAccuracy); XCTAssertNil(empty.macroF1)
        XCTAssertEqual(ConfusionMatrix(labels: ["a", "b"]).rowNormalized, [[0, 0], [0, 0]])
        // Valid JSON (no NaN) round trip.
        let data = try JSONEncoder().encode(m)
        XCTAssertEqual(try JSONDecoder().decode(ClassificationMetrics.self, from: data), m)
    }

    func testBadInputThrows() {
        XCTAssertThrowsError(try ConfusionMatrix(labels: ["a"], truth: [0, 0], predicted: [0])) {
            XCTAssertEqual($0 as? MetricsError, .lengthMismatch(truth: 2, predicted: 1))
        }
        XCTAssertThrowsError(try ConfusionMatrix(labels: ["a"], truth: [0], predicted: [3]))
        XCTAssertThrowsError(try ConfusionMatrix(labels: ["a"], truth: ["a"], predicted: ["zzz"])) {
            XCTAssertEqual($0 as? MetricsError, .unknownClass("zzz"))
        }
        XCTAssertThrowsError(try AggregateMetrics([]))
        XCTAssertThrowsError(try ConfusionMatrix(labels: ["a"]) + ConfusionMatrix(labels: ["b"]))
    }

    func testAggregateMeanAndSampleStd() throws {
        let r1 = try ClassificationMetrics(labels: ["x", "y"], truth: [0, 0, 1, 1], predicted: [0, 1, 1, 0])  // acc .5
        let r2 = try ClassificationMetrics(labels: ["x", "y"], truth: [0, 0, 1, 1, 1], predicted: [0, 0, 1, 1, 0]) // acc .8
        let r3 = try ClassificationMetrics(labels: ["x", "y"], truth: [0, 1], predicted: [0, 1])  // acc 1
        let a = try AggregateMetrics([r1, r2, r3])
        let acc = try XCTUnwrap(a.accuracy)
        XCTAssertEqual(acc.n, 3)
        XCTAssertEqual(acc.mean, (0.5 + 0.8 + 1) / 3, accuracy: 1e-12)
        let m = acc.mean
        let sd = (((0.5 - m) * (0.5 - m) + (0.8 - m) * (0.8 - m) + (1 - m) * (1 - m)) / 2).squareRoot()
        XCTAssertEqual(acc.std, sd, accuracy: 1e-12)
        XCTAssertEqual(acc.min, 0.5); XCTAssertEqual(acc.max, 1)
        XCTAssertEqual(a.pooled.confusion.counts, [[4, 1], [2, 4]])
        XCTAssertEqual(a.perClass.map(\.support), [5, 6])
        XCTAssertEqual(MeanStd([0.7634])?.percent(), "76.34")
        XCTAssertEqual(MeanStd([0.5, 0.7])?.percent(1), "60.0 ± 14.1")
        XCTAssertNil(MeanStd([nil, nil]))
    }

    func testBestEpoch() {
        let e = [EpochRecord(epoch: 1, trainLoss: 2, validationLoss: 1.5, validationAccuracy: 0.4),
                 EpochRecord(epoch: 2, trainLoss: 1, validationLoss: 1.1, validationAccuracy: 0.6),
                 EpochRecord(epoch: 3, trainLoss: 0.5, validationLoss: 1.2, validationAccuracy: 0.6),
                 EpochRecord(epoch: 4, trainLoss: 0.3, validationLoss: 1.0, validationAccuracy: 0.55)]
        XCTAssertEqual(TrainingHistory(epochs: e).bestEpoch, 2, "ties keep the earlier epoch")
        XCTAssertEqual(TrainingHistory(epochs: e, criterion: .validationLoss).bestEpoch, 4)
        XCTAssertNil(TrainingHistory(epochs: [EpochRecord(epoch: 1, trainLoss: 1)]).bestEpoch)
    }

    func testPaperTable() {
        XCTAssertEqual(PaperResults.tableVIII.count, 16)
        XCTAssertEqual(PaperResults.rows(for: "EMO-DB").last?.accuracy, 80.23)
        XCTAssertEqual(PaperResults.rows(for: "ravdess").map(\.model).last, "STA-CNN (paper)")
        XCTAssertEqual(PaperResults.rows(for: "SAVEE").count, 5)
        XCTAssertTrue(PaperResults.rows(for: "TESS").isEmpty)
    }
}
