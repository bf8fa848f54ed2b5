import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import SERCore
import SERTestSupport
@testable import SERReports

final class ReportTests: XCTestCase {
    /// Synthetic predictions (seeded): each item is right with probability `skill`, else a random class.
    /// These are made-up numbers for exercising the report code, not results of any model.
    static func syntheticRun(labels: [String], perClass: Int, skill: Float, seed: UInt64) throws -> ClassificationMetrics {
        var rng = SeededRandom(seed: seed)
        var truth: [Int] = [], pred: [Int] = []
        for c in labels.indices {
            for _ in 0..<(c == 0 ? perClass / 2 : perClass) {
                truth.append(c)
                pred.append(rng.nextUniform() < skill ? c : Int(rng.next() % UInt64(labels.count)))
            }
        }
        return try ClassificationMetrics(labels: labels, truth: truth, predicted: pred)
    }

    static func syntheticHistory(epochs: Int, seed: UInt64) -> TrainingHistory {
        var rng = SeededRandom(seed: seed)
        let recs = (1...epochs).map { e -> EpochRecord in
            let t = Double(e)
            return EpochRecord(epoch: e, trainLoss: 2.1 * exp(-t / 12) + 0.05 + Double(rng.nextUniform()) * 0.03,
                               trainAccuracy: min(0.99, 0.15 + 0.85 * (1 - exp(-t / 10))),
                               validationLoss: 2.1 * exp(-t / 10) + 0.6 + 0.012 * max(0, t - 25) + Double(rng.nextUniform()) * 0.05,
                               validationAccuracy: 0.15 + 0.6 * (1 - exp(-t / 9)) - 0.002 * max(0, t - 28) + Double(rng.nextUniform()) * 0.02)
        }
        return TrainingHistory(epochs: recs)
    }

    static func demoReport() throws -> ExperimentReport {
        let labels = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
        let folds = try (1...6).map { k in
            FoldResult(name: "fold-\(k)", metrics: try syntheticRun(labels: labels, perClass: 32, skill: 0.7, seed: UInt64(k)),
                       history: k <= 2 ? syntheticHistory(epochs: 50, seed: UInt64(k)) : nil,
                       trainCount: 960, validationCount: 240)
        }
        var r = try ExperimentReport(title: "Synthetic demo report (made-up predictions)", corpus: "RAVDESS",
                                     protocolName: "speaker-kfold", settings: ["seed": "1", "epochs": "50"],
                                     folds: folds, notes: ["Predictions are synthetic; this checks the report code only."])
        r.comparison = r.comparisonWithPaper()
        return r
    }

    private func assertWellFormedXML(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let parser = XMLParser(data: try Data(contentsOf: url))
        XCTAssertTrue(parser.parse(), "\(url.lastPathComponent): \(String(describing: parser.parserError))", file: file, line: line)
    }

    func testWritesMarkdownJSONAndSVG() throws {
        let r = try Self.demoReport()
        let dir = try SharedData.temporaryDirectory("report"); defer { try? FileManager.default.removeItem(at: dir) }
        let files = try r.write(to: dir)
        XCTAssertEqual(Set(files.map(\.lastPathComponent)),
                       ["report.md", "report.json", "confusion-matrix.svg", "learning-curve-fold-1.svg",
                        "learning-curve-fold-2.svg", "comparison.svg"])
        for f in files where f.pathExtension == "svg" { try assertWellFormedXML(f) }

        // JSON holds every number and reads back identically.
        let back = try ExperimentReport.read(from: dir.appendingPathComponent("report.json"))
        XCTAssertEqual(back, r)
        XCTAssertEqual(back.aggregate.pooled.count, 6 * (16 + 7 * 32))

        // Markdown tables carry the computed numbers.
        let md = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        let acc = try XCTUnwrap(r.aggregate.accuracy)
        XCTAssertTrue(md.contains("| Weighted accuracy (WA) | \(acc.percent()) |"), md)
        XCTAssertTrue(md.contains("| fold-3 | 960 | 240 | 240 |"))
        XCTAssertTrue(md.contains("| RAVDESS | STA-CNN (paper) | 76.39 | paper, Table VIII |"))
        XCTAssertTrue(md.contains("![Confusion matrix, pooled over runs"))
        let pooled = r.aggregate.pooled.confusion
        let neutralRow = "| neutral | **\(pooled.counts[0][0])** | " + pooled.counts[0].dropFirst().map(String.init).joined(separator: " | ")
        XCTAssertTrue(md.contains(neutralRow), neutralRow)

        // The heatmap prints every count; the curve marks the kept epoch; the chart prints values.
        let heat = try String(contentsOf: dir.appendingPathComponent("confusion-matrix.svg"), encoding: .utf8)
        XCTAssertEqual(heat.components(separatedBy: "<title>true ").count - 1, 64)
        XCTAssertTrue(heat.contains(">\(pooled.counts[3][3])</text>"))
        let curve = try String(contentsOf: dir.appendingPathComponent("learning-curve-fold-1.svg"), encoding: .utf8)
        let best = try XCTUnwrap(r.folds[0].history?.bestEpoch)
        XCTAssertTrue(curve.contains("kept epoch \(best) (highest validation accuracy)"))
        let bars = try String(contentsOf: dir.appendingPathComponent("comparison.svg"), encoding: .utf8)
        XCTAssertTrue(bars.contains(">76.39</text>"))
        XCTAssertTrue(bars.contains(String(format: ">%.2f ± %.2f</text>", acc.mean * 100, acc.std * 100)))

        // Optional: keep a copy to look at (SER_REPORT_DEMO=/some/dir).
        if let keep = ProcessInfo.processInfo.environment["SER_REPORT_DEMO"] {
            try r.write(to: URL(fileURLWithPath: keep))
            let all = PaperResults.tableVIII + [ComparisonRow(dataset: "RAVDESS", model: "STA-CNN (synthetic)",
                                                              accuracy: 70, std: 2, source: "demo", isOurs: true)]
            try ComparisonBarChart.svg(all, title: "Table VIII").write(
                to: URL(fileURLWithPath: keep).appendingPathComponent("table-viii.svg"), atomically: true, encoding: .utf8)
        }
    }

    func testComparisonWithThePaperSaysWhenTheProtocolsDiffer() throws {
        var r = try Self.demoReport()                     // speaker-kfold: speakers unseen in training
        XCTAssertFalse(r.isRandomSplit)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ser-cmp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try r.write(to: dir)
        let md = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        let svg = try String(contentsOf: dir.appendingPathComponent("comparison.svg"), encoding: .utf8)
        XCTAssertTrue(md.contains("Not like for like"), md)
        XCTAssertTrue(svg.contains("Not like for like"))
        r.protocolName = "holdout-6:2:2"                  // the paper's own protocol
        XCTAssertTrue(r.isRandomSplit)
        _ = try r.write(to: dir)
        let md2 = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertFalse(md2.contains("Not like for like"))
        XCTAssertTrue(md2.contains("Both on random 6:2:2 splits"))
    }

    func testSVGEscapesText() throws {
        let cm = ConfusionMatrix(labels: ["a<b", "c&d"], counts: [[1, 0], [0, 1]])
        let svg = ConfusionMatrixPlot.svg(cm, title: "x \"quoted\" & <tag>")
        XCTAssertTrue(svg.contains("a&lt;b")); XCTAssertTrue(svg.contains("c&amp;d"))
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse())
    }

    func testTicks() {
        XCTAssertEqual(PlotStyle.ticks(0, 100, count: 5), [0, 20, 40, 60, 80, 100])
        XCTAssertEqual(PlotStyle.ticks(1, 50, count: 6), [10, 20, 30, 40, 50])
        XCTAssertEqual(PlotStyle.niceRange(0.3, 2.6).lo, 0); XCTAssertEqual(PlotStyle.niceRange(0.3, 2.6).hi, 3)
        XCTAssertEqual(PlotStyle.blues(0), "#f7fbff"); XCTAssertEqual(PlotStyle.blues(1), "#08306b")
    }
}
