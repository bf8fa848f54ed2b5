import Foundation

/// Settings of the energy-based voice activity detector (``VoiceActivityDetector``).
public struct VoiceActivityOptions: Codable, Sendable, Equatable {
    /// Analysis frame length in seconds (default 25 ms).
    public var frameLength: Double
    /// Hop between frames in seconds (default 10 ms).
    public var frameHop: Double
    /// Percentile (0...100) of the frame levels taken as the recording's loud reference (default 95).
    public var referencePercentile: Double
    /// A frame is speech when its level is within this many dB of the loud reference (default 35 dB).
    public var relativeThreshold: Double
    /// …and at least this absolute level in dBFS (default −55 dBFS), so near-silent recordings stay silent.
    public var absoluteFloor: Double
    /// Speech is held this long (seconds) after the level falls (hangover, default 0.25 s); it also
    /// bridges pauses shorter than this.
    public var hangover: Double
    /// Speech runs shorter than this (seconds, before the hangover) are dropped as clicks (default 0.08 s).
    public var minimumSpeech: Double

    /// Defaults suited to speech at 16–48 kHz.
    public init(frameLength: Double = 0.025, frameHop: Double = 0.010, referencePercentile: Double = 95,
                relativeThreshold: Double = 35, absoluteFloor: Double = -55, hangover: Double = 0.25,
                minimumSpeech: Double = 0.08) {
        self.frameLength = frameLength
        self.frameHop = frameHop
        self.referencePercentile = referencePercentile
        self.relativeThreshold = relativeThreshold
        self.absoluteFloor = absoluteFloor
        self.hangover = hangover
        self.minimumSpeech = minimumSpeech
    }

    /// Throws ``RecognizerError/invalidOptions(reason:)`` for unusable values.
    public func validate() throws {
        func bad(_ r: String) -> RecognizerError { .invalidOptions(reason: "voice activity: " + r) }
        guard frameLength > 0, frameLength.isFinite else { throw bad("frameLength must be positive") }
        guard frameHop > 0, frameHop.isFinite else { throw bad("frameHop must be positive") }
        guard (0...100).contains(referencePercentile) else { throw bad("referencePercentile must be in 0...100") }
        guard relativeThreshold >= 0, relativeThreshold.isFinite else { throw bad("relativeThreshold must be >= 0 dB") }
        guard absoluteFloor.isFinite else { throw bad("absoluteFloor must be finite") }
        guard hangover >= 0, hangover.isFinite else { throw bad("hangover must be >= 0") }
        guard minimumSpeech >= 0, minimumSpeech.isFinite else { throw bad("minimumSpeech must be >= 0") }
    }
}

/// A stretch of time in seconds, `start < end`.
public struct TimeRange: Codable, Sendable, Equatable {
    /// Start in seconds.
    public var start: Double
    /// End in seconds.
    public var end: Double
    /// Creates a range.
    public init(start: Double, end: Double) { self.start = start; self.end = end }
    /// `end - start`.
    public var duration: Double { end - start }
}

/// Frame levels (RMS in dBFS) of a recording, computed incrementally so a file can be streamed
/// through it block by block without keeping its samples.
///
/// Frame `i` covers samples `[i·hop, i·hop + length)`; the last partial frame is kept when it
/// holds at least one hop of samples.
public struct FrameLevels: Sendable {
    /// Samples per frame.
    public let frameLength: Int
    /// Samples between frame starts.
    public let hop: Int
    /// Level of each frame so far, in dBFS (RMS relative to full scale 1.0; −120 for digital silence).
    public private(set) var levels: [Float] = []
    /// Samples consumed so far.
    public private(set) var sampleCount = 0
    private var pending: [Float] = []   // samples from the start of the next frame on

    /// Frames of `frameLength` samples every `hop` samples (`hop <= frameLength`).
    public init(frameLength: Int, hop: Int) {
        precondition(frameLength > 0 && hop > 0, "positive frame length and hop")
        self.frameLength = frameLength
        self.hop = min(hop, frameLength)
    }

    /// Frame sizes for `options` at `sampleRate`.
    public init(options: VoiceActivityOptions, sampleRate: Int) {
        let len = max(1, Int((options.frameLength * Double(sampleRate)).rounded()))
        let hop = max(1, Int((options.frameHop * Double(sampleRate)).rounded()))
        self.init(frameLength: len, hop: hop)
    }

    /// Consumes the next samples.
    public mutating func append(_ block: UnsafeBufferPointer<Float>) {
        sampleCount += block.count
        pending.append(contentsOf: block)
        var offset = 0
        while pending.count - offset >= frameLength {
            levels.append(Self.level(pending[offset..<(offset + frameLength)]))
            offset += hop
        }
        if offset > 0 { pending.removeFirst(offset) }
    }

    /// Consumes the next samples.
    public mutating func append(_ samples: [Float]) {
        samples.withUnsafeBufferPointer { append($0) }
    }

    /// Levels including the final partial frame (when it holds at least one hop of samples,
    /// or when no full frame was seen).
    public func finished() -> [Float] {
        var out = levels
        if !pending.isEmpty && (pending.count >= hop || out.isEmpty) {
            out.append(Self.level(pending[...]))
        }
        return out
    }

    static func level(_ x: ArraySlice<Float>) -> Float {
        var sum: Double = 0
        for v in x { sum += Double(v) * Double(v) }
        let rms = (sum / Double(max(1, x.count))).squareRoot()
        return Float(max(-120, 20 * log10(max(rms, 1e-6))))
    }
}

/// Energy-based voice activity detection.
///
/// Algorithm:
/// 1. Frame levels: RMS of 25 ms frames every 10 ms, in dBFS (``FrameLevels``).
/// 2. Loud reference: the 95th percentile of the frame levels (robust to a few clicks).
/// 3. Threshold: `max(reference − 35 dB, −55 dBFS)` — relative to the recording's loud frames so
///    quiet and loud recordings behave alike, with an absolute floor so a recording of pure
///    background noise is not turned into "speech".
/// 4. A frame is speech when its level reaches the threshold; runs of speech frames shorter than
///    ``VoiceActivityOptions/minimumSpeech`` are dropped (clicks).
/// 5. Hangover: each run is held ``VoiceActivityOptions/hangover`` seconds past its last frame,
///    which also bridges short pauses between words; overlapping runs are merged.
/// All numbers are ``VoiceActivityOptions``.
public struct VoiceActivityDetector: Sendable {
    /// The settings.
    public var options: VoiceActivityOptions

    /// A detector with `options`.
    public init(options: VoiceActivityOptions = .init()) { self.options = options }

    /// The speech threshold in dBFS for frame `levels`.
    public func threshold(levels: [Float]) -> Float {
        guard !levels.isEmpty else { return Float(options.absoluteFloor) }
        let sorted = levels.sorted()
        let rank = Int((options.referencePercentile / 100 * Double(sorted.count - 1)).rounded())
        let reference = sorted[min(max(rank, 0), sorted.count - 1)]
        return max(reference - Float(options.relativeThreshold), Float(options.absoluteFloor))
    }

    /// Speech regions (seconds) of a recording of `duration` seconds from its frame levels
    /// (frames every `hopSeconds`, each `frameSeconds` long: the exact values of ``FrameLevels``).
    public func regions(levels: [Float], hopSeconds: Double, frameSeconds: Double, duration: Double) -> [TimeRange] {
        var merged: [TimeRange] = []
        for r in runs(levels: levels, hopSeconds: hopSeconds, frameSeconds: frameSeconds, duration: duration) {
            let held = TimeRange(start: r.start, end: min(duration, r.end + options.hangover))
            if let last = merged.last, held.start <= last.end {
                merged[merged.count - 1].end = max(last.end, held.end)
            } else {
                merged.append(held)
            }
        }
        return merged
    }

    /// The runs of speech frames (steps 1–4: no hangover, pauses not bridged), in seconds.
    public func runs(levels: [Float], hopSeconds: Double, frameSeconds: Double, duration: Double) -> [TimeRange] {
        guard !levels.isEmpty, duration > 0 else { return [] }
        let t = threshold(levels: levels)
        let hop = hopSeconds
        var runs: [TimeRange] = []
        var i = 0
        while i < levels.count {
            guard levels[i] >= t else { i += 1; continue }
            var j = i
            while j + 1 < levels.count && levels[j + 1] >= t { j += 1 }
            let start = Double(i) * hop
            let end = min(duration, Double(j) * hop + frameSeconds)
            if end - start >= options.minimumSpeech { runs.append(TimeRange(start: start, end: end)) }
            i = j + 1
        }
        return runs
    }

    /// Speech regions of `samples` at `sampleRate`.
    public func regions(samples: [Float], sampleRate: Int) -> [TimeRange] {
        analyse(samples: samples, sampleRate: sampleRate).regions
    }

    /// Speech regions of `samples` at `sampleRate` (with hangover), and the stretch of speech
    /// left once leading and trailing non-speech is trimmed (nil when there is no speech): from
    /// the first speech frame to the last one (no hangover), narrowed inside those two frames to
    /// the first and last sample whose magnitude reaches the threshold level, so that the bounds
    /// do not depend on where the 10 ms frame grid falls.
    public func analyse(samples: [Float], sampleRate: Int) -> (regions: [TimeRange], speech: TimeRange?) {
        var f = FrameLevels(options: options, sampleRate: sampleRate)
        f.append(samples)
        let a = analysis(levels: f, sampleRate: sampleRate)
        guard let coarse = a.coarseSpeech else { return (a.regions, nil) }
        let head = samples[coarse.lowerBound..<min(coarse.upperBound, coarse.lowerBound + a.frameLength)]
        let tail = samples[max(coarse.lowerBound, coarse.upperBound - a.frameLength)..<coarse.upperBound]
        return (a.regions, a.speech(head: head, tail: tail))
    }

    /// The detector's findings from a recording's frame levels alone, so that a recording
    /// streamed once through ``FrameLevels`` can be trimmed without keeping its samples.
    public func analysis(levels f: FrameLevels, sampleRate: Int) -> SpeechAnalysis {
        let levels = f.finished(), hop = Double(f.hop) / Double(sampleRate)
        let frame = Double(f.frameLength) / Double(sampleRate), duration = Double(f.sampleCount) / Double(sampleRate)
        let runs = runs(levels: levels, hopSeconds: hop, frameSeconds: frame, duration: duration)
        let regions = regions(levels: levels, hopSeconds: hop, frameSeconds: frame, duration: duration)
        var coarse: Range<Int>? = nil
        if let first = runs.first, let last = runs.last {
            let rate = Double(sampleRate), n = f.sampleCount
            let a = min(n, max(0, Int((first.start * rate).rounded())))
            coarse = a..<min(n, max(a, Int((last.end * rate).rounded())))
        }
        return SpeechAnalysis(sampleRate: sampleRate, sampleCount: f.sampleCount, frameLength: f.frameLength,
                              regions: regions, coarseSpeech: coarse,
                              amplitude: Float(pow(10, Double(threshold(levels: levels)) / 20)))
    }
}

/// What the ``VoiceActivityDetector`` finds from a recording's frame levels
/// (``VoiceActivityDetector/analysis(levels:sampleRate:)``).
public struct SpeechAnalysis: Sendable, Equatable {
    /// Rate of the samples analysed, in Hz.
    public var sampleRate: Int
    /// Length of the recording in samples.
    public var sampleCount: Int
    /// Samples per analysis frame.
    public var frameLength: Int
    /// Speech regions with hangover, in seconds.
    public var regions: [TimeRange]
    /// Samples from the first speech frame's start to the last speech frame's end (no hangover);
    /// nil when there is no speech.
    public var coarseSpeech: Range<Int>?
    /// The speech threshold as a sample magnitude.
    public var amplitude: Float

    /// The samples needed to narrow ``coarseSpeech`` to exact sample bounds: its first and last
    /// frame (empty when there is no speech).
    public var refinementRanges: (head: Range<Int>, tail: Range<Int>) {
        guard let c = coarseSpeech else { return (0..<0, 0..<0) }
        return (c.lowerBound..<min(c.upperBound, c.lowerBound + frameLength),
                max(c.lowerBound, c.upperBound - frameLength)..<c.upperBound)
    }

    /// The trimmed speech in seconds, from ``coarseSpeech`` narrowed to the first sample of `head`
    /// and the last sample of `tail` (the samples of ``refinementRanges``) whose magnitude reaches
    /// ``amplitude``; nil when there is no speech.
    public func speech<C: BidirectionalCollection<Float>>(head: C, tail: C) -> TimeRange? {
        guard let c = coarseSpeech else { return nil }
        let (h, t) = refinementRanges
        var a = c.lowerBound, b = c.upperBound
        if let i = head.prefix(h.count).firstIndex(where: { abs($0) >= amplitude }) { a = h.lowerBound + head.distance(from: head.startIndex, to: i) }
        // The tail's samples from index `a` of the recording on.
        let skip = max(0, a - t.lowerBound)
        let rest = tail.prefix(t.count).dropFirst(skip)
        if let i = rest.lastIndex(where: { abs($0) >= amplitude }) { b = t.lowerBound + tail.distance(from: tail.startIndex, to: i) + 1 }
        let rate = Double(sampleRate)
        return TimeRange(start: Double(a) / rate, end: Double(b) / rate)
    }
}

