import Foundation
import SERCore

/// Renders a ``Timeline`` as a stand-alone SVG: coloured bands per emotion segment over the energy
/// envelope (dBFS, with the voice activity threshold dashed), a time axis, and a legend with each
/// emotion's share of the speech.
///
/// ```swift
/// try TimelineSVG.render(timeline).write(toFile: "timeline.svg", atomically: true, encoding: .utf8)
/// ```
public enum TimelineSVG {
    /// Fixed colours for common emotion names; others take the next colour of ``palette``.
    public static let knownColours: [String: String] = [
        "angry": "#d62728", "anger": "#d62728", "happy": "#f2b705", "happiness": "#f2b705", "joy": "#f2b705",
        "sad": "#1f77b4", "sadness": "#1f77b4", "neutral": "#8c8c8c", "calm": "#17becf",
        "fear": "#9467bd", "fearful": "#9467bd", "disgust": "#2ca02c", "surprise": "#e377c2",
        "surprised": "#e377c2", "boredom": "#8c564b", "bored": "#8c564b", "frustration": "#ff7f0e",
        "excited": "#bcbd22",
    ]
    /// Colours for labels without a fixed colour, used in label order.
    public static let palette = ["#ff7f0e", "#bcbd22", "#7f7f7f", "#aec7e8", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2"]

    /// The colour of each label, in label order.
    public static func colours(labels: [String]) -> [String: String] {
        var out: [String: String] = [:]
        var next = 0
        for l in labels {
            if let c = knownColours[l.lowercased()] { out[l] = c } else { out[l] = palette[next % palette.count]; next += 1 }
        }
        return out
    }

    /// The SVG document (`width` pixels wide).
    public static func render(_ t: Timeline, width: Int = 1100, title: String? = nil) -> String {
        let W = Double(width), left = 60.0, right = 20.0, top = 44.0, plotH = 220.0
        let plotW = W - left - right
        let legendRows = (t.labels.count + 3) / 4
        let H = top + plotH + 40 + Double(legendRows) * 22 + 16
        let duration = max(t.duration, 1e-6)
        func x(_ s: Double) -> Double { left + s / duration * plotW }
        let dbMin = -80.0, dbMax = 0.0
        func y(_ db: Double) -> Double { top + (1 - (min(max(db, dbMin), dbMax) - dbMin) / (dbMax - dbMin)) * plotH }
        let colour = colours(labels: t.labels)
        var s = ""
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(Int(H))\" viewBox=\"0 0 \(width) \(Int(H))\" "
        s += "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        let heading = title ?? "Emotion timeline" + (t.source.map { " — " + ($0 as NSString).lastPathComponent } ?? "")
        s += "<text x=\"\(left)\" y=\"22\" font-size=\"15\" font-weight=\"bold\">\(escape(heading))</text>\n"
        s += "<text x=\"\(f(W - right))\" y=\"22\" text-anchor=\"end\" fill=\"#555\">"
        s += "\(f(t.duration, 1)) s, speech \(f(t.speechDuration, 1)) s, \(t.segments.count) segments, window \(f(t.options.window, 2)) s / hop \(f(t.options.hop, 2)) s</text>\n"
        // Plot frame and silence background.
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"#f4f4f4\" stroke=\"#999\"/>\n"
        // Emotion bands.
        for seg in t.segments {
            let c = colour[seg.emotion] ?? "#999"
            let op = 0.35 + 0.5 * Double(min(max(seg.confidence, 0), 1))
            s += "<rect x=\"\(f(x(seg.start)))\" y=\"\(f(top))\" width=\"\(f(max(0.5, x(seg.end) - x(seg.start))))\" height=\"\(f(plotH))\" "
            s += "fill=\"\(c)\" fill-opacity=\"\(f(op, 2))\"><title>\(escape(seg.emotion)) \(f(seg.start, 2))–\(f(seg.end, 2)) s, "
            s += "confidence \(f(Double(seg.confidence), 2))</title></rect>\n"
            if x(seg.end) - x(seg.start) > 46 {
                s += "<text x=\"\(f((x(seg.start) + x(seg.end)) / 2))\" y=\"\(f(top + 16))\" text-anchor=\"middle\" fill=\"#222\">"
                s += "\(escape(seg.emotion))</text>\n"
            }
        }
        // Energy envelope (filled area from the bottom).
        if !t.envelope.levels.isEmpty {
            var d = "M\(f(left)) \(f(top + plotH))"
            for (i, v) in t.envelope.levels.enumerated() {
                let tx = min(duration, (Double(i) + 0.5) * t.envelope.step)
                d += " L\(f(x(tx))) \(f(y(Double(v))))"
            }
            d += " L\(f(left + plotW)) \(f(top + plotH)) Z"
            s += "<path d=\"\(d)\" fill=\"#202020\" fill-opacity=\"0.28\" stroke=\"#202020\" stroke-width=\"0.8\"/>\n"
            let ty = y(Double(t.envelope.threshold))
            s += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(ty))\" y2=\"\(f(ty))\" stroke=\"#333\" stroke-dasharray=\"5 4\"/>\n"
            s += "<text x=\"\(f(left + plotW - 4))\" y=\"\(f(ty - 4))\" text-anchor=\"end\" fill=\"#333\" font-size=\"10\">VAD threshold \(f(Double(t.envelope.threshold), 0)) dBFS</text>\n"
        }
        // Level axis.
        for db in stride(from: dbMin, through: dbMax, by: 20) {
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y(db) + 4))\" text-anchor=\"end\" fill=\"#555\" font-size=\"10\">\(Int(db))</text>\n"
        }
        s += "<text transform=\"translate(14 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\" fill=\"#555\">level (dBFS)</text>\n"
        // Time axis.
        let step = niceStep(duration / 10)
        var tick = 0.0
        let axisY = top + plotH
        while tick <= duration + 1e-9 {
            let tx = x(tick)
            s += "<line x1=\"\(f(tx))\" x2=\"\(f(tx))\" y1=\"\(f(axisY))\" y2=\"\(f(axisY + 5))\" stroke=\"#333\"/>\n"
            s += "<text x=\"\(f(tx))\" y=\"\(f(axisY + 18))\" text-anchor=\"middle\">\(clock(tick, step: step))</text>\n"
            tick += step
        }
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(axisY + 34))\" text-anchor=\"middle\" fill=\"#555\">time</text>\n"
        // Legend: colour, label, share of the segmented speech time.
        let segTotal = t.segments.reduce(0) { $0 + ($1.end - $1.start) }
        let legendTop = axisY + 48
        for (i, label) in t.labels.enumerated() {
            let lx = left + Double(i % 4) * (plotW / 4), ly = legendTop + Double(i / 4) * 22
            let share = segTotal > 0 ? t.segments.filter { $0.emotion == label }.reduce(0) { $0 + ($1.end - $1.start) } / segTotal : 0
            s += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 11))\" width=\"14\" height=\"14\" fill=\"\(colour[label] ?? "#999")\" fill-opacity=\"0.8\"/>\n"
            s += "<text x=\"\(f(lx + 20))\" y=\"\(f(ly))\">\(escape(label)) \(f(share * 100, 0))%</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    private static func niceStep(_ raw: Double) -> Double {
        let candidates: [Double] = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]
        return candidates.first { $0 >= raw } ?? 3600 * ((raw / 3600).rounded(.up))
    }

    private static func clock(_ t: Double, step: Double) -> String {
        if t < 60 && step < 60 { return step < 1 ? f(t, 1) + "s" : "\(Int(t.rounded()))s" }
        let s = Int(t.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    private static func f(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }

    private static func escape(_ s: String) -> String { SVGDocument.escape(s) }
}
