import Foundation
import SERAudio

/// Settings of an ``EmotionRecognizer``.
public struct RecognizerOptions: Sendable, Equatable {
    /// Longest recording accepted, in seconds; `nil` for no limit (default). Files are checked from
    /// their header before decoding when possible.
    public var maxDuration: Double?
    /// Frames per block when decoding files (the streaming granularity of ``EmotionRecognizer/timeline(file:options:)``).
    public var blockFrames: Int
    /// Whole-recording recognition (`recognize`) drops leading and trailing non-speech found by
    /// the voice activity detector, answers "no speech" when there is none, and classifies
    /// speech longer than ``window`` window by window (default true). False: the whole
    /// recording is one clip, as the model saw its training clips.
    public var trimSilence: Bool
    /// Longest stretch of speech classified as one clip, in seconds (default 3, the timeline's
    /// window); longer speech is cut into windows of this length.
    public var window: Double
    /// Step between those windows in seconds (default 1.5).
    public var hop: Double
    /// The voice activity detector's settings.
    public var voiceActivity: VoiceActivityOptions
    /// Seconds of the recording's own audio kept before and after the speech when it is
    /// classified as one clip (default 1 s, clipped to the recording). Models are trained on clips
    /// that start and end with a short pause (RAVDESS: about 1 s; the bundled model loses more than
    /// half its accuracy on clips cut tight to the speech), so the trim removes any longer lead-in
    /// or tail but keeps a pause of the usual length. 0 cuts tight to the speech.
    public var margin: Double
    /// Files and uploads whose header promises at most this many seconds are decoded once into
    /// memory; longer ones, and those whose length the header does not give, are decoded as a
    /// stream (two or three passes), so memory does not grow with the recording's length
    /// (default 120 s: about 7.7 MB of samples at 16 kHz). The answers are the same either way.
    public var inMemoryDuration: Double

    /// The duration limit of `ser predict` when none is given: 4 hours.
    public static let defaultMaxDuration: Double = 4 * 3600

    /// 64 Ki-frame decode blocks, silence trimmed, 3 s windows every 1.5 s, no duration limit
    /// unless given (``defaultMaxDuration`` is the CLI's).
    public init(maxDuration: Double? = nil, blockFrames: Int = 65536, trimSilence: Bool = true,
                window: Double = 3, hop: Double = 1.5, voiceActivity: VoiceActivityOptions = .init(), margin: Double = 1,
                inMemoryDuration: Double = 120) {
        self.inMemoryDuration = inMemoryDuration
        self.maxDuration = maxDuration
        self.blockFrames = blockFrames
        self.trimSilence = trimSilence
        self.window = window
        self.hop = hop
        self.voiceActivity = voiceActivity
        self.margin = margin
    }

    /// Throws ``RecognizerError/invalidOptions(reason:)`` for unusable values.
    public func validate() throws {
        // Window, hop and detector: the same rules as the timeline's.
        try SegmentOptions(window: window, hop: hop, voiceActivity: voiceActivity).validate()
        guard margin >= 0, margin.isFinite else { throw RecognizerError.invalidOptions(reason: "margin must be >= 0 s (got \(margin))") }
    }
}

/// The library entry point: recognises the emotion of a recording (a file, bytes in memory or
/// samples), or follows it over time in a long recording.
///
/// Audio is decoded and resampled to the classifier's rate (``SERAudio/AudioDecoder``), mixed to
/// mono, and passed to the ``ClipClassifier``.
///
/// ``recognize(file:)`` (and `data`, `samples`) gives one emotion for the recording:
/// 1. The ``VoiceActivityDetector`` finds the speech regions. None: the answer is "no speech"
///    (``EmotionPrediction/speech`` false, no emotion), not an error.
/// 2. Leading and trailing non-speech is dropped: the speech runs from the first speech frame's
///    start to the last speech frame's end (no hangover; pauses inside are kept).
/// 3. When that speech lasts at most ``RecognizerOptions/window`` seconds (3 s by default; most
///    single utterances), it is classified as one clip, with up to ``RecognizerOptions/margin``
///    (1 s) of the recording's own audio before and after it: the pause models saw around
///    their training clips. Silence added beyond that margin changes nothing.
/// 4. Longer speech is cut into windows exactly as the timeline cuts it (``WindowPlanner``:
///    windows every ``RecognizerOptions/hop`` seconds over each speech region, the span each
///    window speaks for tiling the regions); the result is the mean of the windows' class
///    probabilities weighted by the seconds of speech each window speaks for, so every second of
///    speech counts once and the silence between regions not at all.
/// With ``RecognizerOptions/trimSilence`` off the whole recording is one clip.
///
/// ``timeline(file:options:)`` classifies sliding windows over the speech found by a
/// ``VoiceActivityDetector`` and merges them into segments, decoding files twice in a streaming
/// fashion (levels first, then windows) so memory stays bounded by the window length.
///
/// The value is `Sendable` and immutable; calls may run concurrently when the classifier allows it.
///
/// ```swift
/// let recognizer = EmotionRecognizer(classifier: try loadClassifier(modelPath: "model.safetensors"))
/// let p = try recognizer.recognize(file: URL(fileURLWithPath: "a.wav"))
/// print(p.emotion, p.confidence)
/// let t = try recognizer.timeline(file: url, options: SegmentOptions(window: 3, hop: 1.5))
/// try TimelineSVG.render(t).write(toFile: "t.svg", atomically: true, encoding: .utf8)
/// ```
public struct EmotionRecognizer: Sendable {
    /// The model.
    public let classifier: any ClipClassifier
    /// The settings.
    public let options: RecognizerOptions
    /// The classifier's labels (cached).
    public let labels: [String]

    /// A recognizer around `classifier`.
    public init(classifier: any ClipClassifier, options: RecognizerOptions = .init()) {
        self.classifier = classifier
        self.options = options
        self.labels = classifier.labels
    }

    private var audioOptions: AudioOptions {
        AudioOptions(sampleRate: classifier.sampleRate, maxDuration: options.maxDuration, blockFrames: options.blockFrames)
    }

    // MARK: - Whole clips

    /// The emotion of an audio file (any format the decoder reads).
    public func recognize(file: URL) throws -> EmotionPrediction {
        let info = try audio { try AudioDecoder.info(contentsOf: file) }
        if fitsInMemory(info) {
            let clip = try audio { try AudioDecoder.load(contentsOf: file, options: audioOptions) }
            return try classify(Recording(source: file.path, samples: clip.samples))
        }
        return try classify(Recording(source: file.path) { body in
            try audio { _ = try AudioDecoder.stream(contentsOf: file, options: audioOptions, body) }
        })
    }

    /// The emotion of an audio file held in memory; `name` is used as the source in results and errors.
    public func recognize(data: Data, name: String) throws -> EmotionPrediction {
        let info = try audio { try AudioDecoder.info(data: data, name: name) }
        if fitsInMemory(info) {
            let clip = try audio { try AudioDecoder.load(data: data, name: name, options: audioOptions) }
            return try classify(Recording(source: name, samples: clip.samples))
        }
        return try classify(Recording(source: name) { body in
            try audio { _ = try AudioDecoder.stream(data: data, name: name, options: audioOptions, body) }
        })
    }

    /// The emotion of mono `samples` at `sampleRate` (resampled to the classifier's rate when different).
    public func recognize(samples: [Float], sampleRate: Int) throws -> EmotionPrediction {
        let x = try prepare(samples: samples, sampleRate: sampleRate, source: "<samples>")
        var p = try classify(Recording(source: "<samples>", samples: x))
        p.source = nil
        return p
    }

    // MARK: - Timelines

    /// The emotions over time of an audio file, decoded as a stream (two passes).
    public func timeline(file: URL, options: SegmentOptions = .init()) throws -> Timeline {
        try timeline(Recording(source: file.path) { body in
            try audio { _ = try AudioDecoder.stream(contentsOf: file, options: audioOptions, body) }
        }, options: options)
    }

    /// The emotions over time of an audio file held in memory, decoded as a stream (two passes).
    public func timeline(data: Data, name: String, options: SegmentOptions = .init()) throws -> Timeline {
        try timeline(Recording(source: name) { body in
            try audio { _ = try AudioDecoder.stream(data: data, name: name, options: audioOptions, body) }
        }, options: options)
    }

    /// The emotions over time of mono `samples` at `sampleRate`.
    public func timeline(samples: [Float], sampleRate: Int, options: SegmentOptions = .init()) throws -> Timeline {
        let x = try prepare(samples: samples, sampleRate: sampleRate, source: "<samples>")
        var t = try timeline(Recording(source: "<samples>", samples: x), options: options)
        t.source = nil
        return t
    }

    // MARK: - Pipeline

    /// A recording at the classifier's rate that can be read more than once: held in memory, or
    /// decoded again on every pass.
    private struct Recording {
        /// The name in results and errors.
        var source: String
        /// The samples, when held in memory.
        var samples: [Float]?
        /// Delivers every sample in consecutive blocks (one decoding pass).
        var pass: (_ body: (UnsafeBufferPointer<Float>) throws -> Void) throws -> Void

        init(source: String, samples: [Float]) {
            self.source = source
            self.samples = samples
            self.pass = { body in try samples.withUnsafeBufferPointer { try body($0) } }
        }

        init(source: String, pass: @escaping (_ body: (UnsafeBufferPointer<Float>) throws -> Void) throws -> Void) {
            self.source = source
            self.pass = pass
        }

        /// The frame levels of the whole recording (one pass).
        func levels(_ options: VoiceActivityOptions, sampleRate: Int) throws -> FrameLevels {
            var levels = FrameLevels(options: options, sampleRate: sampleRate)
            if let samples { levels.append(samples) } else { try pass { levels.append($0) } }
            guard levels.sampleCount > 0 else { throw RecognizerError.empty(source: source) }
            return levels
        }

        /// Calls `each(i, samples)` for every range, in order, with the samples of `ranges[i]`
        /// (clipped to the recording). `ranges` are sorted by lower bound; they may overlap or nest.
        /// Streamed, this is one pass that keeps only the samples from the next range's start
        /// onwards, so memory is bounded by the longest range plus a decoding block.
        func collect(_ ranges: [Range<Int>], _ each: (Int, ArraySlice<Float>) throws -> Void) throws {
            guard !ranges.isEmpty else { return }
            if let samples {
                for (i, r) in ranges.enumerated() {
                    try each(i, samples[min(r.lowerBound, samples.count)..<min(r.upperBound, samples.count)])
                }
                return
            }
            var buffer: [Float] = []        // samples [bufferStart, bufferStart + buffer.count)
            var bufferStart = 0
            var next = 0                    // next range to deliver
            var position = 0                // samples seen
            func flush(final: Bool) throws {
                while next < ranges.count, ranges[next].upperBound <= position || final {
                    let r = ranges[next]
                    let lo = min(buffer.count, max(0, r.lowerBound - bufferStart))
                    let hi = max(lo, min(buffer.count, r.upperBound - bufferStart))
                    try each(next, buffer[lo..<hi])
                    next += 1
                    let keepFrom = next < ranges.count ? ranges[next].lowerBound : position
                    let drop = min(buffer.count, max(0, keepFrom - bufferStart))
                    if drop > 0 { buffer.removeFirst(drop); bufferStart += drop }
                }
            }
            try pass { block in
                // Samples before the next range (silence between regions) are never kept.
                let blockStart = position
                position += block.count
                guard next < ranges.count else { return }
                if buffer.isEmpty { bufferStart = max(blockStart, ranges[next].lowerBound) }
                let from = max(0, bufferStart + buffer.count - blockStart)
                if from < block.count { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: block[from...])) }
                try flush(final: false)
            }
            try flush(final: true)
        }
    }

    /// Whether a file with this header is decoded into memory (see ``RecognizerOptions/inMemoryDuration``).
    private func fitsInMemory(_ info: AudioInfo) -> Bool {
        guard let frames = info.frames, frames > 0, info.sampleRate > 0 else { return false }
        return Double(frames) / Double(info.sampleRate) <= options.inMemoryDuration
    }

    /// Sample indices of a span in seconds, clipped to `0..<count`.
    private func sampleRange(_ r: TimeRange, count: Int) -> Range<Int> {
        let rate = Double(classifier.sampleRate)
        let a = min(count, max(0, Int((r.start * rate).rounded())))
        return a..<min(count, max(a, Int((r.end * rate).rounded())))
    }

    private func timeline(_ recording: Recording, options seg: SegmentOptions) throws -> Timeline {
        try seg.validate()
        let source = recording.source
        let rate = classifier.sampleRate
        // Pass 1: frame levels only.
        let levels = try recording.levels(seg.voiceActivity, sampleRate: rate)
        let total = levels.sampleCount
        let duration = Double(total) / Double(rate)
        let frameLevels = levels.finished()
        let vad = VoiceActivityDetector(options: seg.voiceActivity)
        let hopSeconds = Double(levels.hop) / Double(rate)
        let threshold = vad.threshold(levels: frameLevels)
        let speech = seg.skipSilence
            ? vad.regions(levels: frameLevels, hopSeconds: hopSeconds,
                          frameSeconds: Double(levels.frameLength) / Double(rate), duration: duration)
            : [TimeRange(start: 0, end: duration)]
        let plan = WindowPlanner.plan(regions: speech, duration: duration, window: seg.window, hop: seg.hop)

        // Pass 2: each planned window's samples, classified as soon as the stream has passed them.
        var windows: [TimelineWindow] = []
        windows.reserveCapacity(plan.count)
        try recording.collect(plan.map { sampleRange($0.audio, count: total) }) { i, x in
            let p = try probabilities(Array(x), source: source)
            let best = EmotionPrediction.argmax(p)
            windows.append(TimelineWindow(start: plan[i].audio.start, end: plan[i].audio.end, span: plan[i].span,
                                          emotion: labels[best], confidence: p[best],
                                          probabilities: zip(labels, p).map { EmotionScore(emotion: $0, probability: $1) }))
        }
        let segments = SegmentMerger.segments(windows: windows, regionOf: plan.map(\.region), labels: labels,
                                              merge: seg.mergeAdjacent)
        let envelope = SegmentMerger.envelope(levels: frameLevels, hopSeconds: hopSeconds, points: seg.envelopePoints,
                                              threshold: threshold)
        return Timeline(source: source, duration: duration, labels: labels, options: seg, speech: speech,
                        windows: windows, segments: segments, envelope: envelope)
    }

    private func audio<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as AudioError {
            switch e {
            case let .tooLong(path, duration, limit): throw RecognizerError.tooLong(source: path, duration: duration, limit: limit)
            default: throw RecognizerError.audio(e)
            }
        }
    }

    private func prepare(samples: [Float], sampleRate: Int, source: String) throws -> [Float] {
        guard sampleRate > 0 else { throw RecognizerError.invalidSampleRate(source: source, sampleRate: sampleRate) }
        guard !samples.isEmpty else { throw RecognizerError.empty(source: source) }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw RecognizerError.nonFiniteSample(source: source, index: bad)
        }
        let duration = Double(samples.count) / Double(sampleRate)
        if let limit = options.maxDuration, duration > limit {
            throw RecognizerError.tooLong(source: source, duration: duration, limit: limit)
        }
        if sampleRate == classifier.sampleRate { return samples }
        return try audio { try Resampler.resample(samples, from: sampleRate, to: classifier.sampleRate) }
    }

    /// One prediction for a whole recording (at the classifier's rate): see the type's
    /// documentation for the trimming and the combination of windows.
    private func classify(_ recording: Recording) throws -> EmotionPrediction {
        var p = try classifyUnlabelled(recording)
        if p.speech { p.normalization = classifier.normalization }
        return p
    }

    /// Streamed, this reads the recording two or three times: its frame levels; the edges of its
    /// speech (and, when the speech may fit one window, the clip around it); the windows of
    /// longer speech. Held in memory, the same steps slice the samples.
    private func classifyUnlabelled(_ recording: Recording) throws -> EmotionPrediction {
        let source = recording.source
        let rate = Double(classifier.sampleRate)
        guard options.trimSilence else {
            let samples: [Float]
            if let s = recording.samples { samples = s } else {
                var all: [Float] = []
                try recording.pass { all.append(contentsOf: $0) }
                samples = all
            }
            guard !samples.isEmpty else { throw RecognizerError.empty(source: source) }
            return EmotionPrediction(source: source, labels: labels, probabilities: try probabilities(samples, source: source),
                                     duration: Double(samples.count) / rate)
        }
        try options.validate()
        // Pass 1: frame levels, speech regions and the speech's frame-exact bounds.
        let levels = try recording.levels(options.voiceActivity, sampleRate: classifier.sampleRate)
        let total = levels.sampleCount
        let duration = Double(total) / rate
        let analysis = VoiceActivityDetector(options: options.voiceActivity).analysis(levels: levels, sampleRate: classifier.sampleRate)
        guard let coarse = analysis.coarseSpeech, !analysis.regions.isEmpty else { return .noSpeech(source: source, duration: duration) }

        // Pass 2: the first and last speech frame (to find the speech's sample-exact bounds) and,
        // when the speech may fit one window, the clip with its margin around it (trimming only
        // narrows the speech, so the clip lies inside this one).
        let (headRange, tailRange) = analysis.refinementRanges
        let mayFit = Double(coarse.count) / rate <= options.window + 2 * Double(analysis.frameLength) / rate + 1e-9
        let outer = sampleRange(TimeRange(start: Double(coarse.lowerBound) / rate - options.margin,
                                          end: Double(coarse.upperBound) / rate + options.margin), count: total)
        var ranges = [headRange, tailRange]
        if mayFit { ranges.insert(outer, at: 0) }
        var pieces: [ArraySlice<Float>] = []
        try recording.collect(ranges) { _, x in pieces.append(x) }
        guard let speech = analysis.speech(head: pieces[pieces.count - 2], tail: pieces[pieces.count - 1]) else { return .noSpeech(source: source, duration: duration) }

        if speech.duration <= options.window + 1e-9 {
            let clip = sampleRange(TimeRange(start: max(0, speech.start - options.margin),
                                             end: min(duration, speech.end + options.margin)), count: total)
            // The clip lies inside `outer`, whose samples are pieces[0].
            let around = pieces[0], off = around.startIndex - outer.lowerBound
            let x = Array(around[max(around.startIndex, clip.lowerBound + off)..<min(around.endIndex, clip.upperBound + off)])
            return EmotionPrediction(source: source, labels: labels, probabilities: try probabilities(x, source: source),
                                     duration: duration, speechDuration: speech.duration, windows: 1)
        }
        // Pass 3: windows over the speech regions, combined by the seconds of speech each speaks for.
        let plan = WindowPlanner.plan(regions: analysis.regions, duration: duration, window: options.window, hop: options.hop)
        var sum = [Double](repeating: 0, count: labels.count)      // (K) Σ weight · p
        var weight = 0.0
        try recording.collect(plan.map { sampleRange($0.audio, count: total) }) { i, x in
            let p = try probabilities(Array(x), source: source)
            let d = plan[i].span.duration
            for k in sum.indices { sum[k] += d * Double(p[k]) }
            weight += d
        }
        guard weight > 0 else { return .noSpeech(source: source, duration: duration) }
        return EmotionPrediction(source: source, labels: labels, probabilities: sum.map { Float($0 / weight) },
                                 duration: duration, speechDuration: weight, windows: plan.count)
    }

    /// Runs the classifier and checks its output: one finite, non-negative value per label with a
    /// positive sum; the vector is renormalised to sum to 1.
    private func probabilities(_ samples: [Float], source: String) throws -> [Float] {
        var p: [Float]
        do { p = try classifier.probabilities(samples: samples) } catch {
            throw RecognizerError.classifier(source: source, reason: "\(error)")
        }
        guard p.count == labels.count else {
            throw RecognizerError.invalidOutput(source: source, reason: "\(p.count) values for \(labels.count) labels")
        }
        guard p.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw RecognizerError.invalidOutput(source: source, reason: "values must be finite and non-negative")
        }
        let sum = p.reduce(0, +)
        guard sum > 0 else { throw RecognizerError.invalidOutput(source: source, reason: "probabilities sum to 0") }
        if abs(sum - 1) > 1e-6 { for i in p.indices { p[i] /= sum } }
        return p
    }
}
