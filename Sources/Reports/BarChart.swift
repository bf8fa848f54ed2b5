import Foundation
import SERCore

/// A horizontal bar chart of accuracies grouped by dataset (e.g. this project against the paper's
/// Table VIII). Published baselines are grey, the paper's STA-CNN blue, this project's results orange
/// with a ± standard-deviation whisker; every bar prints its value.
public enum ComparisonBarChart {
    /// Colour of a row.
    static func color(_ r: ComparisonRow) -> String {
        if r.isOurs { return "#e6550d" }
        return r.model.hasPrefix("STA-CNN") ? "#4292c6" : "#a8a8a8"
    }

    /// The SVG text; the axis runs from 0 to 100 %.
    public static func svg(_ rows: [ComparisonRow], title: String, subtitle: String? = nil) -> String {
        var datasets: [String] = []
        for r in rows where !datasets.contains(r.dataset) { datasets.append(r.dataset) }
        let barH = 20.0, rowH = 27.0, groupGap = 16.0, headerH = 26.0
        let labelW = (rows.map { SVGDocument.textWidth($0.model, size: 12.5) }.max() ?? 80) + 24
        let left = 20 + labelW, plotW = 520.0, top = subtitle == nil ? 84.0 : 100.0
        let plotH = Double(datasets.count) * (headerH + groupGap) + Double(rows.count) * rowH
        var d = SVGDocument(width: left + plotW + 90, height: top + plotH + 50)
        d.text(title, 20, 28, size: 17, weight: "bold")
        if let s = subtitle { d.text(s, 20, 50, size: 12.5, fill: "#555") }
        // Legend.
        var lx = 20.0
        let ly = subtitle == nil ? 54.0 : 72.0
        for (name, c) in [("published baselines", "#a8a8a8"), ("STA-CNN (paper)", "#4292c6"), ("this implementation", "#e6550d")] {
            d.rect(lx, ly - 10, 14, 14, fill: c, rx: 2)
            d.text(name, lx + 20, ly + 1.5, size: 12.5); lx += 20 + SVGDocument.textWidth(name, size: 12.5) + 26
        }
        func px(_ v: Double) -> Double { left + max(0, min(v, 100)) / 100 * plotW }
        for t in stride(from: 0.0, through: 100, by: 10) {
            d.line(px(t), top, px(t), top + plotH, stroke: t == 0 ? PlotStyle.axis : PlotStyle.grid)
            d.text("\(Int(t))", px(t), top + plotH + 17, size: 11, anchor: "middle", fill: "#444")
        }
        d.text("accuracy (%)", left + plotW / 2, top + plotH + 38, size: 12, anchor: "middle")
        var y = top
        for ds in datasets {
            d.text(ds, 20, y + 18, size: 14, weight: "bold")
            d.line(20, y + headerH - 2, left + plotW, y + headerH - 2, stroke: "#cccccc")
            y += headerH
            for r in rows where r.dataset == ds {
                let cy = y + rowH / 2
                d.text(r.model, left - 10, cy + 4.5, size: 12.5, anchor: "end",
                       weight: r.isOurs ? "bold" : nil)
                d.rect(left, cy - barH / 2, px(r.accuracy) - left, barH, fill: color(r), rx: 2,
                       tooltip: "\(r.model): \(String(format: "%.2f", r.accuracy))% (\(r.source))")
                var end = px(r.accuracy)
                if let s = r.std, s > 0 {
                    let a = px(r.accuracy - s), b = px(r.accuracy + s)
                    d.line(a, cy, b, cy, stroke: "#222", width: 1.4)
                    d.line(a, cy - 5, a, cy + 5, stroke: "#222", width: 1.4)
                    d.line(b, cy - 5, b, cy + 5, stroke: "#222", width: 1.4)
                    end = max(end, b)
                }
                let value = String(format: "%.2f", r.accuracy) + (r.std.map { String(format: " ± %.2f", $0) } ?? "")
                d.text(value, end + 6, cy + 4.5, size: 12, weight: r.isOurs ? "bold" : nil)
                y += rowH
            }
            y += groupGap
        }
        return d.render()
    }
}
