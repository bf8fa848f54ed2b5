import Foundation
import SERCore

/// A confusion-matrix heatmap: cell colour is the row-normalised share (recall per true class),
/// each cell prints its count and row percentage, true classes down the left, predictions below.
public enum ConfusionMatrixPlot {
    /// The SVG text. `subtitle` (e.g. "RAVDESS · 6 folds pooled · WA 76.4 % · UA 75.9 %") goes under the title.
    public static func svg(_ cm: ConfusionMatrix, title: String, subtitle: String? = nil) -> String {
        let n = cm.labels.count
        let cell = max(46, min(76, 600 / Double(max(n, 1))))
        let labelW = (cm.labels.map { SVGDocument.textWidth($0, size: 13) }.max() ?? 40) + 14
        let left = 36 + labelW, top = subtitle == nil ? 56.0 : 74.0
        let grid = cell * Double(n)
        let bottomLabelH = (cm.labels.map { SVGDocument.textWidth($0, size: 13) }.max() ?? 40) * 0.72 + 20
        let barX = left + grid + 28
        let width = barX + 16 + 60, height = top + grid + bottomLabelH + 34
        var d = SVGDocument(width: max(width, SVGDocument.textWidth(title, size: 17) + 40), height: height)
        d.text(title, 20, 28, size: 17, weight: "bold")
        if let s = subtitle { d.text(s, 20, 50, size: 12.5, fill: "#555") }

        let norm = cm.rowNormalized, support = cm.support
        for i in 0..<n {
            for j in 0..<n {
                let x = left + Double(j) * cell, y = top + Double(i) * cell
                let frac = norm[i][j]
                let fill = support[i] == 0 ? "#f2f2f2" : PlotStyle.blues(frac)
                d.rect(x, y, cell, cell, fill: fill, stroke: "#ffffff", strokeWidth: 1.5,
                       tooltip: "true \(cm.labels[i]) → predicted \(cm.labels[j]): \(cm.counts[i][j])")
                let ink = frac > 0.5 ? "#ffffff" : "#1a1a1a"
                let count = cm.counts[i][j]
                d.text("\(count)", x + cell / 2, y + cell / 2 - (support[i] > 0 ? 2 : -4), size: 14,
                       anchor: "middle", weight: i == j ? "bold" : nil, fill: count == 0 ? "#9a9a9a" : ink)
                if support[i] > 0 && count > 0 {
                    d.text(String(format: "%.0f%%", frac * 100), x + cell / 2, y + cell / 2 + 14, size: 10.5,
                           anchor: "middle", fill: ink)
                }
            }
            // Row label (true class) with its support.
            d.text(cm.labels[i], left - 8, top + (Double(i) + 0.5) * cell + 4.5, size: 13, anchor: "end")
        }
        d.rect(left, top, grid, grid, fill: "none", stroke: "#888", strokeWidth: 1)
        for j in 0..<n {
            let x = left + (Double(j) + 0.5) * cell, y = top + grid + 12
            d.text(cm.labels[j], x + 4, y, size: 13, anchor: "end", rotate: -40, baseline: "hanging")
        }
        d.text("True emotion", 16, top + grid / 2, size: 13, anchor: "middle", weight: "bold", rotate: -90,
               baseline: "hanging")
        d.text("Predicted emotion", left + grid / 2, height - 10, size: 13, anchor: "middle", weight: "bold")

        // Colour bar: share of the true class (row %).
        d.verticalGradient(id: "blues", stops: (0...8).map { (Double($0) / 8, PlotStyle.blues(Double($0) / 8)) })
        d.rect(barX, top, 16, grid, fill: "url(#blues)")
        d.rect(barX, top, 16, grid, fill: "none", stroke: "#888")
        for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let y = top + grid * (1 - t)
            d.line(barX + 16, y, barX + 20, y, stroke: PlotStyle.axis)
            d.text(String(format: "%.0f%%", t * 100), barX + 23, y + 4, size: 11)
        }
        d.text("row %", barX + 8, top - 8, size: 11, anchor: "middle", fill: "#555")
        return d.render()
    }
}
