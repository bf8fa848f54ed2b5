import Foundation
import SERAudio
import SERRecognizer
import SERTestSupport
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

final class TimelineTests: XCTestCase {
    let recognizer = EmotionRecognizer(classifier: ToneClassifier())

    func testVoiceActivitySkipsSilence() {
        let regions = VoiceActivityDetector().regions(samples: Signals.bursts(), sampleRate: 16000)
        // Truth: 0.5–4.5, 7–11, 12–20. Starts within a frame, ends within the hangover + a frame.
        let truth = [(0.5, 4.5), (7.0, 11.0), (12.0, 20.0)]
        XCTAssertEqual(regions.count, truth.count, "\(regions)")
        for (r, t) in zip(regions, truth) {
            XCTAssertEqual(r.start, t.0, accuracy: 0.03, "\(r)")
            XCTAssertGreaterThanOrEqual(r.end, t.1)
            XCTAssertLessThanOrEqual(r.end, t.1 + 0.25 + 0.03)
        }
    }

    func testVoiceActivityOnSilenceAndClicks() {
        let vad = VoiceActivityDetector()
        XCTAssertEqual(vad.regions(samples: Signals.silence(seconds: 3), sampleRate: 16000), [], "noise below the floor")
        XCTAssertEqual(vad.regions(samples: [Float](repeating: 0, count: 16000), sampleRate: 16000), [])
        var clicky = Signals.silence(seconds: 3) + Signals.tone(220, seconds: 1) + Signals.silence(seconds: 1)
        for i in 8000..<8040 { clicky[i] = 0.5 }   // a 2.5 ms click
        let r = vad.regions(samples: clicky, sampleRate: 16000)
        XCTAssertEqual(r.count, 1, "the click is dropped: \(r)")
        XCTAssertEqual(r.first?.start ?? 0, 3, accuracy: 0.03)
    }

    func testWindowPlannerTilesRegions() {
        let regions = [TimeRange(start: 0.5, end: 4.5), TimeRange(start: 7, end: 8), TimeRange(start: 9.5, end: 10)]
        let plan = WindowPlanner.plan(regions: regions, duration: 10, window: 3, hop: 1.5)
        for (ri, r) in regions.enumerated() {
            let w = plan.filter { $0.region == ri }
            XCTAssertFalse(w.isEmpty)
            XCTAssertEqual(w.first?.span.start, r.start)
            XCTAssertEqual(w.last?.span.end, r.end)
            for (a, b) in zip(w, w.dropFirst()) { XCTAssertEqual(a.span.end, b.span.start, accuracy: 1e-9) }
            for x in w {
                XCTAssertEqual(x.audio.duration, 3, accuracy: 1e-9)
                XCTAssertGreaterThanOrEqual(x.audio.start, 0)
                XCTAssertLessThanOrEqual(x.audio.end, 10 + 1e-9)
            }
        }
        // Region 0.5–4.5 with 3 s windows every 1.5 s: 0.5–3.5, then the last one ends at 4.5.
        XCTAssertEqual(plan.filter { $0.region == 0 }.map(\.audio.start), [0.5, 1.5])
        // The short region near the end is covered by a window moved inside the recording.
        XCTAssertEqual(plan.last?.audio.end ?? 0, 10, accuracy: 1e-9)
        XCTAssertTrue(WindowPlanner.plan(regions: [], duration: 10, window: 3, hop: 1.5).isEmpty)
    }

    func testTimelineSegmentsFollowTheBursts() throws {
        let t = try recognizer.timeline(samples: Signals.bursts(), sampleRate: 16000, options: SegmentOptions())
        XCTAssertEqual(t.duration, 21, accuracy: 1e-6)
        XCTAssertEqual(t.labels, ["low", "high", "quiet"])
        let truth: [(Double, Double, String)] = [(0.5, 4.5, "low"), (7, 11, "high"), (12, 16, "low"), (16, 20, "high")]
        XCTAssertEqual(t.segments.map(\.emotion), truth.map(\.2), "\(t.segments)")
        let hop = t.options.hop
        for (s, e) in zip(t.segments, truth) {
            XCTAssertEqual(s.start, e.0, accuracy: hop, "\(s)")
            XCTAssertEqual(s.end, e.1, accuracy: hop, "\(s)")
            XCTAssertEqual(s.probabilities.map(\.probability).reduce(0, +), 1, accuracy: 1e-4)
            XCTAssertEqual(s.confidence, s.probabilities.first { $0.emotion == s.emotion }?.probability)
        }
        // The silences are skipped: no segment and no window span lies in them.
        for gap in [(4.5 + 0.3, 7.0 - 0.05), (11.0 + 0.3, 12.0 - 0.05)] {   // minus hangover and frame slack
            XCTAssertFalse(t.segments.contains { $0.start < gap.1 && $0.end > gap.0 }, "segment in silence \(gap): \(t.segments.map { ($0.start, $0.end) }) \(t.speech)")
            XCTAssertFalse(t.windows.contains { $0.span.start < gap.1 && $0.span.end > gap.0 })
        }
        // Adjacent equal windows were merged: fewer segments than windows.
        XCTAssertGreaterThan(t.windows.count, t.segments.count)
        XCTAssertEqual(t.speech.count, 3)
        XCTAssertFalse(t.envelope.levels.isEmpty)
        XCTAssertLessThanOrEqual(t.envelope.levels.count, t.options.envelopePoints)
        // Without merging every window span is its own segment.
        var unmerged = SegmentOptions()
        unmerged.mergeAdjacent = false
        let u = try recognizer.timeline(samples: Signals.bursts(), sampleRate: 16000, options: unmerged)
        XCTAssertEqual(u.segments.count, u.windows.count)
    }

    func testStreamingFileAndDataMatchInMemorySamples() throws {
        let x = Signals.bursts()
        let dir = try SharedData.temporaryDirectory("timeline")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bursts.wav")
        try AudioEncoder.writeWAV(x, sampleRate: 16000, to: url, float: true)
        // Small decode blocks so windows straddle many blocks.
        let small = EmotionRecognizer(classifier: ToneClassifier(), options: .init(blockFrames: 1000))
        let ref = try small.timeline(samples: x, sampleRate: 16000)
        var fromFile = try small.timeline(file: url)
        XCTAssertEqual(fromFile.source, url.path)
        fromFile.source = nil
        XCTAssertEqual(fromFile, ref)
        var fromData = try recognizer.timeline(data: try Data(contentsOf: url), name: "b.wav")
        XCTAssertEqual(fromData.source, "b.wav")
        fromData.source = nil
        XCTAssertEqual(fromData, ref)
        let decoded = try JSONDecoder().decode(Timeline.self, from: JSONEncoder().encode(ref))
        XCTAssertEqual(decoded, ref)
    }

    func testSilentRecordingHasNoSegmentsAndKeepSilenceCoversAll() throws {
        let t = try recognizer.timeline(samples: Signals.silence(seconds: 5), sampleRate: 16000)
        XCTAssertTrue(t.segments.isEmpty)
        XCTAssertTrue(t.windows.isEmpty)
        var keep = SegmentOptions()
        keep.skipSilence = false
        let k = try recognizer.timeline(samples: Signals.silence(seconds: 5), sampleRate: 16000, options: keep)
        XCTAssertEqual(k.segments.first?.start, 0)
        XCTAssertEqual(k.segments.last?.end ?? 0, 5, accuracy: 1e-9)
        XCTAssertEqual(k.segments.map(\.emotion), ["quiet"])
        // A clip shorter than the window is classified as one window.
        let short = try recognizer.timeline(samples: Signals.tone(1760, seconds: 1), sampleRate: 16000)
        XCTAssertEqual(short.windows.count, 1)
        XCTAssertEqual(short.segments.map(\.emotion), ["high"])
    }

    func testBadSegmentOptions() {
        for o in [SegmentOptions(window: 0), SegmentOptions(window: 1, hop: 2), SegmentOptions(hop: .nan)] {
            XCTAssertThrowsError(try recognizer.timeline(samples: Signals.tone(220, seconds: 1), sampleRate: 16000, options: o)) {
                guard case .invalidOptions? = $0 as? RecognizerError else { return XCTFail("\($0)") }
            }
        }
    }

    func testSVGIsWellFormedWithBandsAxisAndLegend() throws {
        var t = try recognizer.timeline(samples: Signals.bursts(), sampleRate: 16000)
        t.source = "talk <1>.wav"
        let svg = TimelineSVG.render(t)
        XCTAssertTrue(svg.hasPrefix("<svg"))
        XCTAssertTrue(svg.contains("talk &lt;1&gt;.wav"), "escaped title")
        for label in t.labels { XCTAssertTrue(svg.contains(">\(label) "), "legend entry \(label)") }
        XCTAssertEqual(svg.components(separatedBy: "<title>").count - 1, t.segments.count, "one band per segment")
        XCTAssertTrue(svg.contains(">10s<"), "time axis tick")
        let colours = TimelineSVG.colours(labels: t.labels)
        XCTAssertEqual(Set(colours.values).count, t.labels.count, "distinct colours")
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "well-formed XML: \(String(describing: parser.parserError))")
    }
}
