import Foundation
import SERCore

/// Learning curves of one training run: loss (train, validation) on the left, accuracy
/// (validation, and train when recorded) on the right, the kept epoch marked in both.
public enum LearningCurvePlot {
    /// The SVG text.
    public static func svg(_ h: TrainingHistory, title: String) -> String {
        let pw = 400.0, ph = 250.0, top = 104.0, gap = 90.0, left = 70.0
        var d = SVGDocument(width: left + 2 * pw + gap + 30, height: top + ph + 70)
        d.text(title, 20, 28, size: 17, weight: "bold")
        // Legend.
        var lx = 20.0
        func legend(_ name: String, _ color: String, dash: String?) {
            d.line(lx, 52, lx + 26, 52, stroke: color, width: 2.5, dash: dash)
            d.text(name, lx + 32, 56, size: 12.5); lx += 32 + SVGDocument.textWidth(name, size: 12.5) + 22
        }
        legend("training", PlotStyle.train, dash: nil)
        legend("validation", PlotStyle.validation, dash: nil)
        if let b = h.bestEpoch {
            let crit = h.criterion == .validationAccuracy ? "highest validation accuracy" : "lowest validation loss"
            legend("kept epoch \(b) (\(crit))", "#555", dash: "5 4")
        }
        let epochs = h.epochs.map { Double($0.epoch) }
        let lossValues = h.epochs.flatMap { [$0.trainLoss] + ($0.validationLoss.map { [$0] } ?? []) }
        let accValues = h.epochs.flatMap { [$0.trainAccuracy, $0.validationAccuracy].compactMap { $0 } }.map { $0 * 100 }
        panel(&d, x: left, y: top, w: pw, h: ph, title: "Loss", yLabel: "cross-entropy", epochs: epochs,
              yRange: range(lossValues, floorZero: true),
              series: [(h.epochs.map { $0.trainLoss }, PlotStyle.train), (h.epochs.map { $0.validationLoss }, PlotStyle.validation)],
              best: h.bestEpoch, format: { String(format: "%.3f", $0) })
        let lo = accValues.min() ?? 0, hi = accValues.max() ?? 100
        let accRange: (Double, Double) = accValues.isEmpty ? (0, 100)
            : (max(0, ((lo - 5) / 10).rounded(.down) * 10), min(100, ((hi + 5) / 10).rounded(.up) * 10))
        panel(&d, x: left + pw + gap, y: top, w: pw, h: ph, title: "Accuracy", yLabel: "accuracy (%)", epochs: epochs,
              yRange: accRange,
              series: [(h.epochs.map { $0.trainAccuracy.map { $0 * 100 } }, PlotStyle.train),
                       (h.epochs.map { $0.validationAccuracy.map { $0 * 100 } }, PlotStyle.validation)],
              best: h.bestEpoch, format: { String(format: "%.1f%%", $0) })
        return d.render()
    }

    private static func range(_ v: [Double], floorZero: Bool) -> (Double, Double) {
        guard let lo = v.min(), let hi = v.max() else { return (0, 1) }
        let pad = max((hi - lo) * 0.08, 1e-6)
        return (floorZero && lo >= 0 ? 0 : lo - pad, hi + pad)
    }

    private static func panel(_ d: inout SVGDocument, x: Double, y: Double, w: Double, h: Double, title: String,
                              yLabel: String, epochs: [Double], yRange: (Double, Double),
                              series: [([Double?], String)], best: Int?, format: (Double) -> String) {
        let x0 = 1.0, x1 = max(epochs.max() ?? 1, 2)
        let nice = PlotStyle.niceRange(yRange.0, yRange.1, count: 5)
        let y0 = nice.lo, y1 = nice.hi
        func px(_ e: Double) -> Double { x + (e - x0) / (x1 - x0) * w }
        func py(_ v: Double) -> Double { y + h - (v - y0) / (y1 - y0) * h }
        d.text(title, x, y - 12, size: 14, weight: "bold")
        for t in nice.ticks {
            d.line(x, py(t), x + w, py(t), stroke: PlotStyle.grid)
            d.text(PlotStyle.label(t), x - 7, py(t) + 4, size: 11, anchor: "end", fill: "#444")
        }
        for t in PlotStyle.ticks(x0, x1, count: 6) where t >= x0 {
            d.line(px(t), y + h, px(t), y + h + 5, stroke: PlotStyle.axis)
            d.text(PlotStyle.label(t), px(t), y + h + 18, size: 11, anchor: "middle", fill: "#444")
        }
        d.line(x, y + h, x + w, y + h, stroke: PlotStyle.axis)
        d.line(x, y, x, y + h, stroke: PlotStyle.axis)
        d.text("epoch", x + w / 2, y + h + 38, size: 12, anchor: "middle")
        d.text(yLabel, x - 48, y + h / 2, size: 12, anchor: "middle", rotate: -90)
        if let b = best {
            d.line(px(Double(b)), y, px(Double(b)), y + h, stroke: "#555", width: 1.2, dash: "5 4")
        }
        let dots = epochs.count <= 40
        for (values, color) in series {
            let pts = zip(epochs, values).compactMap { e, v in v.map { (px(e), py($0)) } }
            d.polyline(pts, stroke: color, width: 2.2)
            if dots { for p in pts { d.circle(p.0, p.1, r: 2.6, fill: color) } }
            if let b = best, let i = epochs.firstIndex(of: Double(b)), let v = values[i], color == PlotStyle.validation {
                d.circle(px(Double(b)), py(v), r: 6, fill: "#ffffff", stroke: color, strokeWidth: 2.5)
                let label = format(v)
                let right = px(Double(b)) + 10 + SVGDocument.textWidth(label, size: 12) < x + w
                d.text(label, px(Double(b)) + (right ? 10 : -10), py(v) - 10, size: 12,
                       anchor: right ? "start" : "end", weight: "bold", fill: color)
            }
        }
    }
}
