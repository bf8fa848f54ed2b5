// SVG writing shared by the reports (SERReports) and the timeline plot (SERRecognizer).
import Foundation

/// A tiny SVG writer: shapes and text appended in drawing order, rendered as one standalone file
/// that browsers display directly (white background, system sans-serif font).
public struct SVGDocument: Sendable {
    /// Width in pixels.
    public var width: Double
    /// Height in pixels.
    public var height: Double
    private var body: [String] = []

    /// An empty drawing.
    public init(width: Double, height: Double) { self.width = width; self.height = height }

    /// Escapes `&`, `<`, `>`, `"` and `'` for XML text and attributes.
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A number with at most 2 decimals, no trailing zeros.
    static func n(_ v: Double) -> String {
        let s = String(format: "%.2f", v)
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t == "-0" ? "0" : t
    }

    /// A vertical linear gradient with id `id`, from `stops` (offset 0 = bottom, 1 = top).
    public mutating func verticalGradient(id: String, stops: [(offset: Double, color: String)]) {
        let st = stops.map { "<stop offset=\"\(Self.n($0.offset * 100))%\" stop-color=\"\($0.color)\"/>" }.joined()
        body.append("<defs><linearGradient id=\"\(id)\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\(st)</linearGradient></defs>")
    }

    /// A rectangle.
    public mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String,
                              stroke: String? = nil, strokeWidth: Double = 1, rx: Double = 0, tooltip: String? = nil) {
        var a = "<rect x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" width=\"\(Self.n(max(0, w)))\" height=\"\(Self.n(max(0, h)))\" fill=\"\(fill)\""
        if let s = stroke { a += " stroke=\"\(s)\" stroke-width=\"\(Self.n(strokeWidth))\"" }
        if rx > 0 { a += " rx=\"\(Self.n(rx))\"" }
        if let t = tooltip { body.append(a + "><title>\(Self.escape(t))</title></rect>") } else { body.append(a + "/>") }
    }

    /// A straight line.
    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                              width: Double = 1, dash: String? = nil) {
        var a = "<line x1=\"\(Self.n(x1))\" y1=\"\(Self.n(y1))\" x2=\"\(Self.n(x2))\" y2=\"\(Self.n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\""
        if let d = dash { a += " stroke-dasharray=\"\(d)\"" }
        body.append(a + "/>")
    }

    /// A connected line through `points`.
    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2, dash: String? = nil) {
        guard points.count > 1 else { return }
        let p = points.map { "\(Self.n($0.0)),\(Self.n($0.1))" }.joined(separator: " ")
        var a = "<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\" stroke-linejoin=\"round\""
        if let d = dash { a += " stroke-dasharray=\"\(d)\"" }
        body.append(a + "/>")
    }

    /// A circle.
    public mutating func circle(_ cx: Double, _ cy: Double, r: Double, fill: String, stroke: String? = nil,
                                strokeWidth: Double = 1.5) {
        var a = "<circle cx=\"\(Self.n(cx))\" cy=\"\(Self.n(cy))\" r=\"\(Self.n(r))\" fill=\"\(fill)\""
        if let s = stroke { a += " stroke=\"\(s)\" stroke-width=\"\(Self.n(strokeWidth))\"" }
        body.append(a + "/>")
    }

    /// Text; `anchor` is `start`, `middle` or `end`; `rotate` turns it about (x, y) in degrees.
    public mutating func text(_ s: String, _ x: Double, _ y: Double, size: Double = 12, anchor: String = "start",
                              weight: String? = nil, fill: String = "#222", rotate: Double? = nil,
                              baseline: String? = nil) {
        var a = "<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" font-size=\"\(Self.n(size))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\""
        if let w = weight { a += " font-weight=\"\(w)\"" }
        if let b = baseline { a += " dominant-baseline=\"\(b)\"" }
        if let r = rotate { a += " transform=\"rotate(\(Self.n(r)) \(Self.n(x)) \(Self.n(y)))\"" }
        body.append(a + ">\(Self.escape(s))</text>")
    }

    /// The SVG file's text.
    public func render() -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.n(width))" height="\(Self.n(height))" \
        viewBox="0 0 \(Self.n(width)) \(Self.n(height))" font-family="Helvetica, Arial, 'DejaVu Sans', sans-serif">
        <rect width="100%" height="100%" fill="#ffffff"/>
        \(body.joined(separator: "\n"))
        </svg>

        """
    }

    /// Rough width of `s` in pixels at font size `size` (for layout; sans-serif averages ~0.56 em).
    public static func textWidth(_ s: String, size: Double) -> Double { Double(s.count) * size * 0.56 }
}

/// Colours and axis helpers for the plots.
public enum PlotStyle {
    /// Series colours: training, validation, then more.
    public static let train = "#1f77b4"
    /// Validation series colour.
    public static let validation = "#e6550d"
    /// Grid lines.
    public static let grid = "#e5e5e5"
    /// Axis lines and ticks.
    public static let axis = "#555555"

    /// The "Blues" sequential colour map (matplotlib's stops), `t` in [0, 1].
    public static func blues(_ t: Double) -> String {
        let stops: [(Double, Double, Double)] = [
            (247, 251, 255), (222, 235, 247), (198, 219, 239), (158, 202, 225), (107, 174, 214),
            (66, 146, 198), (33, 113, 181), (8, 81, 156), (8, 48, 107),
        ]
        let x = Swift.min(Swift.max(t, 0), 1) * Double(stops.count - 1)
        let i = Swift.min(Int(x), stops.count - 2), f = x - Double(i)
        let a = stops[i], b = stops[i + 1]
        func c(_ u: Double, _ v: Double) -> Int { Int((u + (v - u) * f).rounded()) }
        return String(format: "#%02x%02x%02x", c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
    }

    /// About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k).
    public static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo, count > 0 else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let mag = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = (lo / step).rounded(.up) * step, out: [Double] = []
        while t <= hi + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    /// Round axis limits enclosing [lo, hi] and their ticks (about `count` intervals).
    public static func niceRange(_ lo: Double, _ hi: Double, count: Int = 5) -> (lo: Double, hi: Double, ticks: [Double]) {
        guard hi > lo else { return (lo - 1, lo + 1, [lo - 1, lo, lo + 1]) }
        let t = ticks(lo, hi, count: count)
        let step = t.count > 1 ? t[1] - t[0] : (hi - lo)
        let a = (lo / step).rounded(.down) * step, b = (hi / step).rounded(.up) * step
        return (a, b, ticks(a, b, count: count))
    }

    /// A tick label: no decimals for whole numbers, else up to 3 significant decimals.
    public static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e9 { return String(Int(v)) }
        return SVGDocument.n(v) == "0" ? String(format: "%.3g", v) : SVGDocument.n(v)
    }
}
