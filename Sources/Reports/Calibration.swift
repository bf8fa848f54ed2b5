import Foundation
import SERCore

/// One confidence bin of a reliability diagram.
public struct ReliabilityBin: Codable, Sendable, Equatable {
    /// Lower edge (exclusive, except 0 for the first bin).
    public var lower: Double
    /// Upper edge (inclusive).
    public var upper: Double
    /// Clips whose top-1 confidence falls in the bin.
    public var count: Int
    /// Their mean top-1 confidence (0 when empty).
    public var confidence: Double
    /// The share of them whose top-1 class is right (0 when empty).
    public var accuracy: Double
}

/// How well top-1 confidences match top-1 accuracy on a set of clips: the reliability diagram's
/// bins, the expected calibration error, and the mean negative log-likelihood.
///
/// Expected calibration error (ECE; Naeini et al. 2015, Guo et al. 2017): the top-1 confidences
/// are put in ``binCount`` equal-width bins `(0, 1/M], (1/M, 2/M], …, ((M−1)/M, 1]` (a confidence
/// of exactly 0 goes to the first), and `ECE = Σ_b (n_b / N) · |acc_b − conf_b|`, where `acc_b` is
/// the share of the bin's clips classified right and `conf_b` their mean confidence. 0 is perfect
/// calibration; a model that is always sure and right half the time has ECE 0.5.
public struct CalibrationSummary: Codable, Sendable, Equatable {
    /// Number of bins (`M`): 15, as in Guo et al. 2017.
    public static let binCount = 15

    /// The bins, lowest confidence first.
    public var bins: [ReliabilityBin]
    /// Clips summarised (`N`).
    public var count: Int
    /// Expected calibration error in [0, 1].
    public var ece: Double
    /// Mean top-1 confidence.
    public var meanConfidence: Double
    /// Top-1 accuracy.
    public var accuracy: Double
    /// Mean negative log-likelihood (natural log) of the true classes, when computed from full
    /// probability vectors.
    public var nll: Double?

    /// The summary of clips given by their top-1 confidence and whether the top-1 class is right.
    public init(confidences: [Double], correct: [Bool], nll: Double? = nil, bins M: Int = CalibrationSummary.binCount) {
        precondition(confidences.count == correct.count && M > 0, "CalibrationSummary: one flag per confidence")
        var n = [Int](repeating: 0, count: M), conf = [Double](repeating: 0, count: M), right = [Int](repeating: 0, count: M)
        for (c, ok) in zip(confidences, correct) {
            let b = Self.bin(of: c, bins: M)
            n[b] += 1; conf[b] += c; right[b] += ok ? 1 : 0
        }
        self.init(counts: n, confidenceSums: conf, correct: right, nll: nll)
    }

    /// The summary of probability vectors `(N, K)` row-major against `labels (N)`: top-1
    /// confidence (the first maximum on ties), correctness and the NLL of the true class.
    public init(probabilities: [Float], labels: [Int], classes K: Int, bins M: Int = CalibrationSummary.binCount) {
        precondition(K > 0 && probabilities.count == labels.count * K, "CalibrationSummary: \(probabilities.count) values for \(labels.count) rows of \(K)")
        var conf: [Double] = [], ok: [Bool] = [], nll = 0.0
        conf.reserveCapacity(labels.count); ok.reserveCapacity(labels.count)
        for (i, y) in labels.enumerated() {
            let row = probabilities[(i * K)..<((i + 1) * K)]
            var best = row.startIndex
            for j in row.indices where row[j] > row[best] { best = j }
            conf.append(Double(row[best])); ok.append(best - row.startIndex == y)
            nll -= Foundation.log(max(Double(row[row.startIndex + y]), 1e-12))
        }
        self.init(confidences: conf, correct: ok, nll: labels.isEmpty ? nil : nll / Double(labels.count), bins: M)
    }

    private init(counts n: [Int], confidenceSums conf: [Double], correct right: [Int], nll: Double?) {
        let M = n.count, total = n.reduce(0, +)
        bins = (0..<M).map { b in
            ReliabilityBin(lower: Double(b) / Double(M), upper: Double(b + 1) / Double(M), count: n[b],
                           confidence: n[b] > 0 ? conf[b] / Double(n[b]) : 0,
                           accuracy: n[b] > 0 ? Double(right[b]) / Double(n[b]) : 0)
        }
        count = total
        let N = Double(max(total, 1))
        var e = 0.0
        for b in 0..<M where n[b] > 0 {
            let nb = Double(n[b])
            let gap: Double = abs(Double(right[b]) / nb - conf[b] / nb)
            e += nb / N * gap
        }
        ece = e
        meanConfidence = conf.reduce(0, +) / N
        accuracy = Double(right.reduce(0, +)) / N
        self.nll = nll
    }

    /// Summaries of disjoint clip sets pooled into one (bins summed; the same as summarising all
    /// clips at once). Nil for an empty list or differing bin counts.
    public static func pooled(_ parts: [CalibrationSummary]) -> CalibrationSummary? {
        guard let M = parts.first?.bins.count, parts.allSatisfy({ $0.bins.count == M }) else { return nil }
        var n = [Int](repeating: 0, count: M), conf = [Double](repeating: 0, count: M), right = [Int](repeating: 0, count: M)
        for p in parts {
            for (b, bin) in p.bins.enumerated() {
                n[b] += bin.count
                conf[b] += bin.confidence * Double(bin.count)
                right[b] += Int((bin.accuracy * Double(bin.count)).rounded())
            }
        }
        let total = parts.reduce(0) { $0 + $1.count }
        let nll: Double? = parts.allSatisfy({ $0.nll != nil }) && total > 0
            ? parts.reduce(0.0) { $0 + ($1.nll ?? 0) * Double($1.count) } / Double(total) : nil
        return CalibrationSummary(counts: n, confidenceSums: conf, correct: right, nll: nll)
    }

    /// The bin of confidence `c` among `M` equal-width bins `(b/M, (b+1)/M]`, 0 for `c <= 0`.
    public static func bin(of c: Double, bins M: Int) -> Int {
        guard c.isFinite, c > 0 else { return 0 }
        return min(M - 1, max(0, Int((c * Double(M)).rounded(.up)) - 1))
    }
}

/// A fold's calibration: the temperature its model uses and the test clips' calibration with the
/// plain softmax (`before`, T = 1) and with the temperature (`after`).
public struct FoldCalibration: Codable, Sendable, Equatable {
    /// The softmax temperature fitted on the fold's validation clips (1 for a model without one).
    public var temperature: Double
    /// Test clips, `softmax(logits)`.
    public var before: CalibrationSummary
    /// Test clips, `softmax(logits / temperature)`: the probabilities `ser predict` reports.
    public var after: CalibrationSummary

    /// Creates the record.
    public init(temperature: Double, before: CalibrationSummary, after: CalibrationSummary) {
        self.temperature = temperature; self.before = before; self.after = after
    }
}

/// Calibration over every fold of a report: ECE mean ± SD over folds, and the pooled test clips.
public struct CalibrationAggregate: Codable, Sendable, Equatable {
    /// Temperatures over folds.
    public var temperature: MeanStd?
    /// ECE before temperature scaling, over folds.
    public var eceBefore: MeanStd?
    /// ECE after temperature scaling, over folds.
    public var eceAfter: MeanStd?
    /// Every fold's test clips pooled, before.
    public var pooledBefore: CalibrationSummary
    /// Every fold's test clips pooled, after.
    public var pooledAfter: CalibrationSummary

    /// The aggregate of the folds that have a calibration record; nil when none has.
    public init?(_ folds: [FoldCalibration]) {
        guard let before = CalibrationSummary.pooled(folds.map(\.before)),
              let after = CalibrationSummary.pooled(folds.map(\.after)) else { return nil }
        temperature = MeanStd(folds.map { $0.temperature })
        eceBefore = MeanStd(folds.map { $0.before.ece })
        eceAfter = MeanStd(folds.map { $0.after.ece })
        pooledBefore = before
        pooledAfter = after
    }
}

/// Reliability diagram: for each confidence bin, a bar at the bin's accuracy, the diagonal of
/// perfect calibration, and the gap between the bar and the bin's mean confidence shaded; one
/// panel per summary (e.g. before and after temperature scaling), each titled with its ECE.
public enum ReliabilityDiagramPlot {
    /// The SVG text; `panels` pairs a title with a summary.
    public static func svg(_ panels: [(title: String, summary: CalibrationSummary)], title: String, subtitle: String? = nil) -> String {
        let pw = 300.0, ph = 300.0, top = subtitle == nil ? 84.0 : 104.0, gap = 90.0, left = 70.0
        let n = Double(max(1, panels.count))
        var d = SVGDocument(width: max(620, left + n * pw + (n - 1) * gap + 40), height: top + ph + 96)
        d.text(title, 20, 28, size: 17, weight: "bold")
        if let subtitle { d.text(subtitle, 20, 50, size: 12.5, fill: "#444") }
        // Legend.
        let ly = top - 30
        d.rect(20, ly - 10, 14, 12, fill: PlotStyle.train, rx: 1)
        d.text("accuracy of the bin's clips", 40, ly, size: 12)
        d.rect(220, ly - 10, 14, 12, fill: "#e6550d", rx: 1)
        d.text("gap to their mean confidence", 240, ly, size: 12)
        d.line(440, ly - 4, 466, ly - 4, stroke: "#555", width: 1.5, dash: "5 4")
        d.text("perfect calibration", 472, ly, size: 12)
        for (i, p) in panels.enumerated() {
            let x = left + Double(i) * (pw + gap)
            panel(&d, x: x, y: top, w: pw, h: ph, title: p.title, summary: p.summary)
        }
        return d.render()
    }

    private static func panel(_ d: inout SVGDocument, x: Double, y: Double, w: Double, h: Double, title: String,
                              summary s: CalibrationSummary) {
        func px(_ v: Double) -> Double { x + v * w }
        func py(_ v: Double) -> Double { y + h - v * h }
        d.text(title, x, y - 12, size: 14, weight: "bold")
        for t in stride(from: 0.0, through: 1.0001, by: 0.2) {
            d.line(x, py(t), x + w, py(t), stroke: PlotStyle.grid)
            d.text(String(format: "%.1f", t), x - 7, py(t) + 4, size: 11, anchor: "end", fill: "#444")
            d.line(px(t), y + h, px(t), y + h + 5, stroke: PlotStyle.axis)
            d.text(String(format: "%.1f", t), px(t), y + h + 18, size: 11, anchor: "middle", fill: "#444")
        }
        for b in s.bins where b.count > 0 {
            let bw = (b.upper - b.lower) * w
            let tip = String(format: "confidence %.2f–%.2f: %d clips, accuracy %.3f, mean confidence %.3f",
                             b.lower, b.upper, b.count, b.accuracy, b.confidence)
            d.rect(px(b.lower), py(b.accuracy), bw, b.accuracy * h, fill: PlotStyle.train, stroke: "#ffffff",
                   strokeWidth: 0.8, tooltip: tip)
            let lo = min(b.accuracy, b.confidence), hi = max(b.accuracy, b.confidence)
            d.rect(px(b.lower), py(hi), bw, (hi - lo) * h, fill: "#e6550d", stroke: "#e6550d", strokeWidth: 0.5, tooltip: tip)
        }
        d.line(px(0), py(0), px(1), py(1), stroke: "#555", width: 1.5, dash: "5 4")
        d.line(x, y + h, x + w, y + h, stroke: PlotStyle.axis)
        d.line(x, y, x, y + h, stroke: PlotStyle.axis)
        d.text("top-1 confidence", x + w / 2, y + h + 38, size: 12, anchor: "middle")
        d.text("accuracy", x - 48, y + h / 2, size: 12, anchor: "middle", rotate: -90)
        let nll = s.nll.map { String(format: " · NLL %.3f", $0) } ?? ""
        d.text(String(format: "ECE %.3f · n = %d · accuracy %.1f%% · mean confidence %.1f%%", s.ece, s.count,
                      s.accuracy * 100, s.meanConfidence * 100) + nll,
               x, y + h + 60, size: 11.5, fill: "#333")
    }
}
