import Foundation

/// How ``EmotionRecognizer/timeline(samples:sampleRate:options:)`` cuts a long recording.
public struct SegmentOptions: Codable, Sendable, Equatable {
    /// Length of each classified window in seconds (default 3).
    public var window: Double
    /// Step between window starts in seconds (default 1.5).
    public var hop: Double
    /// Skip stretches the voice activity detector calls silent (default true); when false the
    /// whole recording is one speech region.
    public var skipSilence: Bool
    /// Merge adjacent segments with the same emotion (default true).
    public var mergeAdjacent: Bool
    /// Voice activity detector settings.
    public var voiceActivity: VoiceActivityOptions
    /// Most points kept in the energy envelope of the timeline (for plots; default 1200).
    public var envelopePoints: Int

    /// 3 s windows every 1.5 s over the speech found by the default detector.
    public init(window: Double = 3, hop: Double = 1.5, skipSilence: Bool = true, mergeAdjacent: Bool = true,
                voiceActivity: VoiceActivityOptions = .init(), envelopePoints: Int = 1200) {
        self.window = window
        self.hop = hop
        self.skipSilence = skipSilence
        self.mergeAdjacent = mergeAdjacent
        self.voiceActivity = voiceActivity
        self.envelopePoints = envelopePoints
    }

    /// Throws ``RecognizerError/invalidOptions(reason:)`` for unusable values.
    public func validate() throws {
        guard window > 0, window.isFinite else { throw RecognizerError.invalidOptions(reason: "window must be positive (got \(window))") }
        guard hop > 0, hop.isFinite else { throw RecognizerError.invalidOptions(reason: "hop must be positive (got \(hop))") }
        guard hop <= window else { throw RecognizerError.invalidOptions(reason: "hop (\(hop) s) must not exceed the window (\(window) s)") }
        guard envelopePoints >= 2 else { throw RecognizerError.invalidOptions(reason: "envelopePoints must be at least 2") }
        try voiceActivity.validate()
    }
}

/// One classified window of a timeline.
///
/// JSON: the shared row shape (``ResultRow``) with `windows: 1` and the `span`.
public struct TimelineWindow: Codable, Sendable, Equatable {
    /// Audio classified: start in seconds.
    public var start: Double
    /// Audio classified: end in seconds.
    public var end: Double
    /// The part of the timeline this window speaks for (the stretch nearer its centre than its
    /// neighbours', clipped to its speech region).
    public var span: TimeRange
    /// Most probable class.
    public var emotion: String
    /// Its probability.
    public var confidence: Float
    /// Class probabilities in the timeline's label order.
    public var probabilities: [EmotionScore]

    /// A window from its fields.
    public init(start: Double, end: Double, span: TimeRange, emotion: String, confidence: Float, probabilities: [EmotionScore]) {
        self.start = start; self.end = end; self.span = span; self.emotion = emotion
        self.confidence = confidence; self.probabilities = probabilities
    }

    /// Writes the shared row shape.
    public func encode(to encoder: any Encoder) throws { try ResultRow(self).encode(to: encoder) }

    /// Reads the row shape (the older one too: probabilities as a plain array need the
    /// timeline's labels, see ``Timeline``).
    public init(from decoder: any Decoder) throws {
        let r = try ResultRow(from: decoder)
        self.init(start: r.start, end: r.end, span: r.span ?? TimeRange(start: r.start, end: r.end), emotion: r.emotion ?? "",
                  confidence: r.confidence ?? 0, probabilities: r.probabilities)
    }
}

/// A stretch of speech with one emotion (adjacent windows with the same emotion merged).
///
/// JSON: the shared row shape (``ResultRow``).
public struct TimelineSegment: Codable, Sendable, Equatable {
    /// Start in seconds.
    public var start: Double
    /// End in seconds.
    public var end: Double
    /// The emotion.
    public var emotion: String
    /// Its mean probability over the merged windows (weighted by the time each speaks for).
    public var confidence: Float
    /// Mean class probabilities over the merged windows, in label order.
    public var probabilities: [EmotionScore]
    /// Number of windows merged.
    public var windows: Int

    /// A segment from its fields.
    public init(start: Double, end: Double, emotion: String, confidence: Float, probabilities: [EmotionScore], windows: Int) {
        self.start = start; self.end = end; self.emotion = emotion; self.confidence = confidence
        self.probabilities = probabilities; self.windows = windows
    }

    /// Writes the shared row shape.
    public func encode(to encoder: any Encoder) throws { try ResultRow(self).encode(to: encoder) }

    /// Reads the row shape (or the older one).
    public init(from decoder: any Decoder) throws {
        let r = try ResultRow(from: decoder)
        self.init(start: r.start, end: r.end, emotion: r.emotion ?? "", confidence: r.confidence ?? 0,
                  probabilities: r.probabilities, windows: r.windows ?? 1)
    }
}

/// Frame energy of a recording reduced to at most ``SegmentOptions/envelopePoints`` values.
public struct EnergyEnvelope: Codable, Sendable, Equatable {
    /// Seconds per value.
    public var step: Double
    /// Loudest frame level (dBFS) in each step.
    public var levels: [Float]
    /// The voice activity threshold (dBFS) used.
    public var threshold: Float
}

/// The emotions of a long recording over time.
///
/// JSON: `{"file": "talk.wav", "start": 0, "end": 60, "duration": 60, "labels": […],
/// "options": {…}, "speechRegions": [{"start": …, "end": …}], "speechDuration": 41.5,
/// "segments": [row, …], "windows": [row, …], "envelope": {…}}`, the segments and windows in
/// the shared row shape (``ResultRow``). Decoding puts their probabilities back in ``labels``
/// order, and reads the older shape too (`source`, `speech` for the regions).
public struct Timeline: Codable, Sendable, Equatable {
    /// Where the audio came from; `nil` for raw samples. JSON: `file`.
    public var source: String?
    /// Duration in seconds.
    public var duration: Double
    /// Class names, the order of the window probabilities.
    public var labels: [String]
    /// The settings used.
    public var options: SegmentOptions
    /// Speech regions found by the voice activity detector (the whole recording when not
    /// skipping silence). JSON: `speechRegions`.
    public var speech: [TimeRange]
    /// Every classified window, in time order.
    public var windows: [TimelineWindow]
    /// Segments: window spans with adjacent equal emotions merged, in time order.
    public var segments: [TimelineSegment]
    /// Energy envelope for plots.
    public var envelope: EnergyEnvelope

    /// Seconds of speech (sum of ``speech``).
    public var speechDuration: Double { speech.reduce(0) { $0 + $1.duration } }

    /// A timeline from its fields.
    public init(source: String?, duration: Double, labels: [String], options: SegmentOptions, speech: [TimeRange],
                windows: [TimelineWindow], segments: [TimelineSegment], envelope: EnergyEnvelope) {
        self.source = source; self.duration = duration; self.labels = labels; self.options = options
        self.speech = speech; self.windows = windows; self.segments = segments; self.envelope = envelope
    }

    /// One row per segment (``ResultRow``) named `file` (default ``source``), or one no-speech row
    /// when there is none; `normalization` goes on the rows with speech, as on predictions.
    public func segmentRows(file: String? = nil, normalization: String? = nil) -> [ResultRow] {
        let name = file ?? source
        guard !segments.isEmpty else { return [.noSpeech(file: name, duration: duration)] }
        return segments.map { ResultRow($0, file: name, normalization: normalization) }
    }

    /// One row per classified window (``ResultRow``) named `file`, or one no-speech row when there is none.
    public func windowRows(file: String? = nil, normalization: String? = nil) -> [ResultRow] {
        let name = file ?? source
        guard !windows.isEmpty else { return [.noSpeech(file: name, duration: duration)] }
        return windows.map { ResultRow($0, file: name, normalization: normalization) }
    }

    private enum CodingKeys: String, CodingKey {
        case file, start, end, duration, labels, options, speechRegions, speechDuration, windows, segments, envelope
        case source, speech     // older names
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(source, forKey: .file)
        try c.encode(0.0, forKey: .start)
        try c.encode(duration, forKey: .end)
        try c.encode(duration, forKey: .duration)
        try c.encode(labels, forKey: .labels)
        try c.encode(options, forKey: .options)
        try c.encode(speech, forKey: .speechRegions)
        try c.encode(speechDuration, forKey: .speechDuration)
        try c.encode(segments, forKey: .segments)
        try c.encode(windows, forKey: .windows)
        try c.encode(envelope, forKey: .envelope)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decodeIfPresent(String.self, forKey: .file) ?? c.decodeIfPresent(String.self, forKey: .source)
        duration = try c.decode(Double.self, forKey: .duration)
        labels = try c.decode([String].self, forKey: .labels)
        options = try c.decode(SegmentOptions.self, forKey: .options)
        speech = try c.decodeIfPresent([TimeRange].self, forKey: .speechRegions) ?? c.decode([TimeRange].self, forKey: .speech)
        envelope = try c.decode(EnergyEnvelope.self, forKey: .envelope)
        let labels = self.labels
        /// Label order (the map decodes alphabetically; the older window arrays are bare numbers).
        func ordered(_ scores: [EmotionScore]) -> [EmotionScore] {
            let p = Dictionary(scores.map { ($0.emotion, $0.probability) }, uniquingKeysWith: { a, _ in a })
            return labels.allSatisfy { p[$0] != nil } ? labels.map { EmotionScore(emotion: $0, probability: p[$0] ?? 0) } : scores
        }
        if let w = try? c.decode([TimelineWindow].self, forKey: .windows) {
            windows = w.map { var w = $0; w.probabilities = ordered(w.probabilities); return w }
        } else {
            windows = try c.decode([OldWindow].self, forKey: .windows).map {
                TimelineWindow(start: $0.start, end: $0.end, span: $0.span, emotion: $0.emotion, confidence: $0.confidence,
                               probabilities: zip(labels, $0.probabilities).map { EmotionScore(emotion: $0, probability: $1) })
            }
        }
        segments = try c.decode([TimelineSegment].self, forKey: .segments).map {
            var s = $0; s.probabilities = ordered(s.probabilities); return s
        }
    }

    /// A window as written before the shared row shape (probabilities as a bare array in label order).
    private struct OldWindow: Decodable {
        var start: Double, end: Double, span: TimeRange, emotion: String, confidence: Float, probabilities: [Float]
    }
}

/// A window to classify: the audio range and the time it speaks for.
public struct PlannedWindow: Sendable, Equatable {
    /// Audio classified (seconds).
    public var audio: TimeRange
    /// Time it speaks for (seconds), within its region.
    public var span: TimeRange
    /// Index of its speech region.
    public var region: Int
}

/// Places sliding windows over speech regions.
///
/// In a region longer than the window, windows start at the region start every `hop` seconds and a
/// last window ends exactly at the region end, so every instant of speech is covered. A shorter
/// region gets one window centred on it (moved to stay inside the recording). Each window speaks
/// for the time closer to its centre than to its neighbours' centres, clipped to the region, so
/// the spans of a region tile it without overlap.
public enum WindowPlanner {
    /// Windows over `regions` of a recording lasting `duration` seconds.
    public static func plan(regions: [TimeRange], duration: Double, window: Double, hop: Double) -> [PlannedWindow] {
        var out: [PlannedWindow] = []
        let w = min(window, duration)
        for (ri, r) in regions.enumerated() where r.duration > 0 {
            var starts: [Double] = []
            if r.duration <= w {
                let centre = (r.start + r.end) / 2
                starts = [min(max(0, centre - w / 2), duration - w)]
            } else {
                var s = r.start
                while s + w < r.end - 1e-9 { starts.append(s); s += hop }
                let last = r.end - w
                if let prev = starts.last, last - prev < 1e-6 { starts.removeLast() }
                starts.append(last)
            }
            let centres = starts.map { $0 + w / 2 }
            for (k, s) in starts.enumerated() {
                let lo = k == 0 ? r.start : (centres[k - 1] + centres[k]) / 2
                let hi = k == starts.count - 1 ? r.end : (centres[k] + centres[k + 1]) / 2
                out.append(PlannedWindow(audio: TimeRange(start: s, end: s + w), span: TimeRange(start: lo, end: hi), region: ri))
            }
        }
        return out
    }
}

/// Builds segments from classified windows.
enum SegmentMerger {
    static func segments(windows: [TimelineWindow], regionOf: [Int], labels: [String], merge: Bool) -> [TimelineSegment] {
        var out: [TimelineSegment] = []
        var acc: [Double] = []
        var weight = 0.0
        var lastRegion = -1
        func close() {
            guard var seg = out.last, weight > 0 else { return }
            let mean = acc.map { Float($0 / weight) }
            seg.probabilities = zip(labels, mean).map { EmotionScore(emotion: $0, probability: $1) }
            seg.confidence = mean[labels.firstIndex(of: seg.emotion) ?? 0]
            out[out.count - 1] = seg
        }
        for (i, w) in windows.enumerated() {
            let d = max(w.span.duration, 1e-9)
            if merge, let last = out.last, last.emotion == w.emotion, regionOf[i] == lastRegion,
               abs(last.end - w.span.start) < 1e-6 {
                out[out.count - 1].end = w.span.end
                out[out.count - 1].windows += 1
            } else {
                close()
                out.append(TimelineSegment(start: w.span.start, end: w.span.end, emotion: w.emotion, confidence: w.confidence,
                                           probabilities: [], windows: 1))
                acc = Array(repeating: 0, count: labels.count)
                weight = 0
            }
            for j in acc.indices where j < w.probabilities.count { acc[j] += Double(w.probabilities[j].probability) * d }
            weight += d
            lastRegion = regionOf[i]
        }
        close()
        return out
    }

    static func envelope(levels: [Float], hopSeconds: Double, points: Int, threshold: Float) -> EnergyEnvelope {
        guard !levels.isEmpty else { return EnergyEnvelope(step: hopSeconds, levels: [], threshold: threshold) }
        let per = max(1, Int((Double(levels.count) / Double(points)).rounded(.up)))
        var out: [Float] = []
        out.reserveCapacity(levels.count / per + 1)
        var i = 0
        while i < levels.count {
            out.append(levels[i..<min(levels.count, i + per)].max() ?? -120)
            i += per
        }
        return EnergyEnvelope(step: hopSeconds * Double(per), levels: out, threshold: threshold)
    }
}
