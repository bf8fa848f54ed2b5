import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import SERCore
import SERTestSupport
@testable import SERReports

final class CalibrationMetricsTests: XCTestCase {
    func testBinsAreEqualWidthAndRightClosed() {
        XCTAssertEqual(CalibrationSummary.bin(of: 0, bins: 15), 0)
        XCTAssertEqual(CalibrationSummary.bin(of: 1.0 / 15, bins: 15), 0)          // upper edge inclusive
        XCTAssertEqual(CalibrationSummary.bin(of: 1.0 / 15 + 1e-9, bins: 15), 1)
        XCTAssertEqual(CalibrationSummary.bin(of: 0.5, bins: 15), 7)               // (7/15, 8/15]
        XCTAssertEqual(CalibrationSummary.bin(of: 1, bins: 15), 14)
        XCTAssertEqual(CalibrationSummary.bin(of: 0.999, bins: 15), 14)
    }

    /// Worked by hand: four clips.
    /// - 0.95, right; 0.95, wrong     -> bin (14/15, 1]:   acc 0.5,  conf 0.95, gap 0.45, weight 2/4
    /// - 0.60, right                  -> bin (8/15, 9/15]: acc 1,    conf 0.60, gap 0.40, weight 1/4
    /// - 0.30, wrong                  -> bin (4/15, 5/15]: acc 0,    conf 0.30, gap 0.30, weight 1/4
    /// ECE = 0.5·0.45 + 0.25·0.40 + 0.25·0.30 = 0.4
    func testECEOfAHandMadeExample() {
        let s = CalibrationSummary(confidences: [0.95, 0.95, 0.6, 0.3], correct: [true, false, true, false])
        XCTAssertEqual(s.ece, 0.4, accuracy: 1e-12)
        XCTAssertEqual(s.count, 4)
        XCTAssertEqual(s.bins.count, 15)
        XCTAssertEqual(s.bins[14].count, 2)
        XCTAssertEqual(s.bins[14].accuracy, 0.5)
        XCTAssertEqual(s.bins[8].count, 1)
        XCTAssertEqual(s.bins[4].count, 1)
        XCTAssertEqual(s.bins.reduce(0) { $0 + $1.count }, 4)
        XCTAssertEqual(s.accuracy, 0.5)
        XCTAssertEqual(s.meanConfidence, 0.7, accuracy: 1e-12)
        // Confidences that are right exactly as often as they say: ECE 0.
        let perfect = CalibrationSummary(confidences: [0.8, 0.8, 0.8, 0.8, 0.8], correct: [true, true, true, true, false])
        XCTAssertEqual(perfect.ece, 0, accuracy: 1e-12)
        // Always sure, right half the time: 0.5.
        XCTAssertEqual(CalibrationSummary(confidences: [1, 1], correct: [true, false]).ece, 0.5, accuracy: 1e-12)
    }

    func testFromProbabilityVectors() {
        // Rows (K = 3): top-1 0.7 (class 0, truth 0: right), 0.5 (class 2, truth 1: wrong).
        let s = CalibrationSummary(probabilities: [0.7, 0.2, 0.1, 0.2, 0.3, 0.5], labels: [0, 1], classes: 3)
        XCTAssertEqual(s.accuracy, 0.5)
        XCTAssertEqual(s.meanConfidence, 0.6, accuracy: 1e-6)
        XCTAssertEqual(s.ece, 0.5 * 0.3 + 0.5 * 0.5, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(s.nll), -(log(0.7) + log(0.3)) / 2, accuracy: 1e-6)
    }

    func testPoolingEqualsSummarisingEverythingAtOnce() throws {
        var rng = SeededRandom(seed: 4)
        var conf: [Double] = [], ok: [Bool] = []
        for _ in 0..<300 { let c = 0.2 + 0.8 * Double(rng.nextUniform()); conf.append(c); ok.append(Double(rng.nextUniform()) < c * c) }
        let whole = CalibrationSummary(confidences: conf, correct: ok)
        let parts = [0..<100, 100..<130, 130..<300].map { CalibrationSummary(confidences: Array(conf[$0]), correct: Array(ok[$0])) }
        let pooled = try XCTUnwrap(CalibrationSummary.pooled(parts))
        XCTAssertEqual(pooled.count, whole.count)
        XCTAssertEqual(pooled.ece, whole.ece, accuracy: 1e-12)
        XCTAssertEqual(pooled.accuracy, whole.accuracy, accuracy: 1e-12)
        for (a, b) in zip(pooled.bins, whole.bins) { XCTAssertEqual(a.count, b.count); XCTAssertEqual(a.accuracy, b.accuracy, accuracy: 1e-12) }
    }

    /// A report whose folds carry calibration records shows ECE before and after, per run and
    /// pooled, draws the reliability diagrams, and older report.json files (no calibration) still read.
    func testReportContainsECEAndReliabilityDiagrams() throws {
        var r = try ReportTests.demoReport()
        var rng = SeededRandom(seed: 9)
        for i in r.folds.indices {
            var conf: [Double] = [], ok: [Bool] = [], soft: [Double] = []
            for _ in 0..<200 {
                let c = 0.5 + 0.5 * Double(rng.nextUniform())
                conf.append(c); soft.append(0.4 + 0.6 * (c - 0.5)); ok.append(Double(rng.nextUniform()) < 0.6)
            }
            r.folds[i].calibration = FoldCalibration(temperature: 1.5 + Double(i) / 10,
                                                     before: CalibrationSummary(confidences: conf, correct: ok),
                                                     after: CalibrationSummary(confidences: soft, correct: ok))
        }
        r = try ExperimentReport(title: r.title, corpus: r.corpus, protocolName: r.protocolName, settings: r.settings,
                                 folds: r.folds, comparison: r.comparison, notes: r.notes)
        let cal = try XCTUnwrap(r.calibration)
        XCTAssertEqual(cal.pooledBefore.count, 1200)
        XCTAssertEqual(cal.eceBefore?.n, 6)
        XCTAssertGreaterThan(cal.pooledBefore.ece, cal.pooledAfter.ece)
        let dir = try SharedData.temporaryDirectory("report-cal"); defer { try? FileManager.default.removeItem(at: dir) }
        let files = Set(try r.write(to: dir).map(\.lastPathComponent))
        XCTAssertTrue(files.isSuperset(of: ["reliability-diagram.svg", "reliability-fold-1.svg", "reliability-fold-6.svg"]), "\(files)")
        for f in files where f.hasSuffix(".svg") {
            XCTAssertTrue(XMLParser(data: try Data(contentsOf: dir.appendingPathComponent(f))).parse(), f)
        }
        let md = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(md.contains("## Calibration"))
        XCTAssertTrue(md.contains("| Run | T | ECE before | ECE after |"))
        XCTAssertTrue(md.contains(String(format: "| fold-1 | 1.500 | %.4f | %.4f |", r.folds[0].calibration!.before.ece,
                                         r.folds[0].calibration!.after.ece)), md)
        XCTAssertTrue(md.contains(String(format: "| **pooled** |  | %.4f | %.4f |", cal.pooledBefore.ece, cal.pooledAfter.ece)), md)
        XCTAssertTrue(md.contains("![Reliability diagram, test clips pooled over runs"))
        let svg = try String(contentsOf: dir.appendingPathComponent("reliability-diagram.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains(String(format: "ECE %.3f", cal.pooledAfter.ece)))
        // JSON round trip with the calibration; and a report.json from before calibration existed.
        let back = try ExperimentReport.read(from: dir.appendingPathComponent("report.json"))
        XCTAssertEqual(back, r)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("report.json"))) as? [String: Any])
        object["calibration"] = nil
        object["folds"] = (object["folds"] as? [[String: Any]])?.map { var f = $0; f["calibration"] = nil; return f }
        let old = dir.appendingPathComponent("old.json")
        try JSONSerialization.data(withJSONObject: object).write(to: old)
        let older = try ExperimentReport.read(from: old)
        XCTAssertNil(older.calibration)
        XCTAssertTrue(older.folds.allSatisfy { $0.calibration == nil })
        XCTAssertFalse(older.markdown().contains("## Calibration"))
    }
}
