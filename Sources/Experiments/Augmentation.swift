import Foundation
import SERAudio
import SERCore
import SERFeatures

/// SpecAugment-style masking of standardised feature matrices, for training data only.
///
/// Each call zeroes (= sets to the channel mean, since inputs are standardised) `timeMasks` random
/// spans of up to `maxTimeFraction` of the frames and `channelMasks` random bands of up to
/// `maxChannels` channels. Validation and test data are never augmented.
public struct FeatureMasking: Codable, Sendable, Equatable {
    /// Number of time masks per clip.
    public var timeMasks: Int = 2
    /// Longest time mask as a fraction of the clip's frames.
    public var maxTimeFraction: Float = 0.125
    /// Number of channel masks per clip.
    public var channelMasks: Int = 2
    /// Widest channel mask.
    public var maxChannels: Int = 20

    /// The defaults (2 + 2 masks, up to 1/8 of the frames and 20 channels), chosen on validation data.
    public init() {}

    /// No masking.
    public static let none: FeatureMasking = {
        var m = FeatureMasking(); m.timeMasks = 0; m.channelMasks = 0; return m
    }()

    /// Masks a `[C, T]` matrix in place.
    public func apply(_ x: inout Tensor, rng: inout SeededRandom) {
        let c = x.shape[0], t = x.shape[1]
        guard c > 0, t > 0 else { return }
        for _ in 0..<timeMasks {
            let w = Int(rng.next() % UInt64(max(1, Int(Float(t) * maxTimeFraction))))
            let t0 = Int(rng.next() % UInt64(max(1, t - w)))
            for ch in 0..<c { for j in t0..<min(t, t0 + w) { x.data[ch * t + j] = 0 } }
        }
        for _ in 0..<channelMasks {
            let w = Int(rng.next() % UInt64(max(1, maxChannels)))
            let c0 = Int(rng.next() % UInt64(max(1, c - w)))
            for ch in c0..<min(c, c0 + w) { for j in 0..<t { x.data[ch * t + j] = 0 } }
        }
    }
}

/// One deterministic change to a training clip's waveform (after decoding and resampling to the
/// feature rate). Each perturbation in a run gives one extra copy of every training clip.
///
/// Every perturbation is a function of the clip and its `seed` (the file's content hash) alone,
/// so a copy is the same in every run; every output is finite, and an empty clip comes back empty.
public enum AudioPerturbation: Sendable, Hashable, CustomStringConvertible {
    /// Speed perturbation (Ko et al., 2015): the clip played `factor` times as fast, tempo and
    /// pitch together, made by resampling the signal from `rate * factor` Hz to `rate` Hz.
    case speed(Double)
    /// Pitch shift by this many semitones (positive: higher) at the same duration, by phase
    /// vocoder and resampling as `librosa.effects.pitch_shift`.
    case pitch(semitones: Double)
    /// White Gaussian noise added at this signal-to-noise ratio (dB, over the whole clip), drawn
    /// from a generator seeded by the file's content, so the copy is the same in every run.
    case noise(snrDB: Double)
    /// Pink noise (equal power per octave, see ``ColouredNoise/pink(count:rng:)``) added at this
    /// SNR (dB, over the whole clip), seeded by the file's content: a background closer to
    /// babble, traffic or ventilation than white noise, whose power sits mostly above the voice.
    case pinkNoise(snrDB: Double)
    /// Loudness changed by this many dB (samples times `10^(dB/20)`), then clipped to [-1, 1] as a
    /// recording device would clip: at +10 dB a clip peaking above 0.316 is clipped, which is part
    /// of what a loud speaker sounds like.
    case gain(dB: Double)
    /// A telephone channel: resampled to 8 kHz (libsoxr, whose anti-aliasing removes everything
    /// above 4 kHz), band-passed to 300-3400 Hz by a 4th-order Butterworth high-pass at 300 Hz and
    /// a 4th-order Butterworth low-pass at 3400 Hz (two biquads each, bilinear transform with
    /// pre-warped cutoffs, see ``Biquad``), optionally μ-law companded and quantised to 8 bits, and
    /// resampled back to the clip's rate and length.
    case telephone(muLaw: Bool)
    /// A lossy codec round trip at a low bit rate through libsndfile (see ``CodecRoundTrip``).
    case codec(LossyCodec, kbps: Int)
    /// Reverberation: the clip convolved (by FFT) with a synthetic room impulse response whose
    /// energy decays by 60 dB in `rt60` seconds (see ``AudioPerturbation/roomImpulseResponse(rt60:sampleRate:seed:)``),
    /// cut to the clip's length and scaled back to the clip's RMS (and further down if the peak
    /// would pass 1).
    case reverb(rt60: Double)
    /// `seconds` of silence added before and after the clip: digital zeros, or with
    /// `noiseFloorDB` white noise of that RMS (dB relative to full scale, e.g. -80) in the added
    /// stretches, seeded by the clip.
    case padSilence(seconds: Double, noiseFloorDB: Double?)

    /// A short name used in cache keys and speaker groups: `speed0.9`, `noise20`, `gain-10`,
    /// `pink10`, `telephone`, `telephone-mulaw`, `mp3-32k`, `reverb0.3`, `pad1`, `pad1-floor-80`.
    public var tag: String {
        switch self {
        case .speed(let f): return "speed\(f)"
        case .pitch(let n): return "pitch\(Self.compact(n))"
        case .noise(let snr): return "noise\(Self.compact(snr))"
        case .pinkNoise(let snr): return "pink\(Self.compact(snr))"
        case .gain(let db): return "gain\(Self.compact(db))"
        case .telephone(let muLaw): return muLaw ? "telephone-mulaw" : "telephone"
        case .codec(let c, let kbps): return "\(c.rawValue)-\(kbps)k"
        case .reverb(let t): return "reverb\(Self.compact(t))"
        case .padSilence(let s, let floor): return "pad\(Self.compact(s))" + (floor.map { "-floor\(Self.compact($0))" } ?? "")
        }
    }

    /// `20` for 20.0, `1.5` for 1.5.
    private static func compact(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }

    public var description: String { tag }

    /// The perturbed copy of `x` (`sampleRate` Hz); `seed` drives the noise, the room impulse
    /// response and the padding's noise floor.
    ///
    /// - Throws: `AudioError.resampling` if the converter cannot be made; `AudioError` from the
    ///   codec's temporary file.
    public func apply(_ x: [Float], sampleRate: Int, seed: UInt64) throws -> [Float] {
        switch self {
        case .speed(let factor):
            // x played at rate·factor lasts n/factor samples at rate: resample rate·factor → rate.
            return try Resampler.resample(x, from: Int((Double(sampleRate) * factor).rounded()), to: sampleRate)
        case .pitch(let n):
            return try PhaseVocoder.pitchShift(x, sampleRate: sampleRate, semitones: n)
        case .noise(let snr):
            let power = Self.meanSquare(x)
            guard power > 0 else { return x }
            let sigma = Float((power / pow(10, snr / 10)).squareRoot())
            var rng = SeededRandom(seed: seed)
            return x.map { $0 + sigma * rng.nextNormal() }
        case .pinkNoise(let snr):
            let power = Self.meanSquare(x)
            guard power > 0 else { return x }
            let sigma = Float((power / pow(10, snr / 10)).squareRoot())
            var rng = SeededRandom.derived(seed: seed, stream: 3)
            let n = ColouredNoise.pink(count: x.count, rng: &rng)       // [x.count], unit RMS
            return zip(x, n).map { $0 + sigma * $1 }
        case .gain(let db):
            let g = Float(pow(10, db / 20))
            return x.map { min(1, max(-1, $0 * g)) }
        case .telephone(let muLaw):
            return try Self.telephone(x, sampleRate: sampleRate, muLaw: muLaw)
        case .codec(let codec, let kbps):
            return try CodecRoundTrip.apply(x, sampleRate: sampleRate, codec: codec, kbps: kbps)
        case .reverb(let rt60):
            return Self.reverberate(x, rt60: rt60, sampleRate: sampleRate, seed: seed)
        case .padSilence(let seconds, let floorDB):
            guard !x.isEmpty else { return x }
            let n = max(0, Int((seconds * Double(sampleRate)).rounded()))
            var rng = SeededRandom.derived(seed: seed, stream: 2)
            let sigma = floorDB.map { Float(pow(10, $0 / 20)) } ?? 0
            func pad() -> [Float] { sigma > 0 ? (0..<n).map { _ in sigma * rng.nextNormal() } : [Float](repeating: 0, count: n) }
            let lead = pad()
            return lead + x + pad()
        }
    }

    /// Mean of the squares, in double precision (0 for an empty signal).
    static func meanSquare(_ x: [Float]) -> Double {
        x.isEmpty ? 0 : x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)
    }

    /// The telephone channel of ``telephone(muLaw:)``.
    static func telephone(_ x: [Float], sampleRate: Int, muLaw: Bool) throws -> [Float] {
        guard !x.isEmpty else { return x }
        let narrow = 8000
        var y = try Resampler.resample(x, from: sampleRate, to: narrow)      // [n·8000/rate]
        let qs = Biquad.butterworthQs(order: 4)
        let sections = qs.map { Biquad.highPass(cutoff: 300, sampleRate: Double(narrow), q: $0) }
                     + qs.map { Biquad.lowPass(cutoff: 3400, sampleRate: Double(narrow), q: $0) }
        y = Biquad.filter(y, sections)
        if muLaw { y = y.map(Self.muLaw8) }
        var out = try Resampler.resample(y, from: narrow, to: sampleRate)
        if out.count > x.count { out.removeLast(out.count - x.count) }
        if out.count < x.count { out += [Float](repeating: 0, count: x.count - out.count) }
        return out
    }

    /// μ-law (μ = 255) companding with 8-bit quantisation of the companded value, the continuous
    /// law (not G.711's segmented table): `F(v) = sgn(v) ln(1 + μ|v|) / ln(1 + μ)` on v clipped to
    /// [-1, 1], rounded to one of 256 uniform levels over [-1, 1], and expanded back by
    /// `sgn(F) ((1 + μ)^|F| − 1) / μ`.
    static func muLaw8(_ v: Float) -> Float {
        let mu = 255.0
        let c = Double(min(1, max(-1, v)))
        let f = (c < 0 ? -1.0 : 1.0) * log1p(mu * abs(c)) / log1p(mu)
        let q = ((f + 1) / 2 * 255).rounded() / 255 * 2 - 1
        return Float((q < 0 ? -1.0 : 1.0) * (pow(1 + mu, abs(q)) - 1) / mu)
    }

    /// A synthetic room impulse response: Gaussian noise (seeded by `seed`) under the envelope
    /// `10^(-3 t / rt60)`, so its energy falls by 60 dB in `rt60` seconds, `rt60` seconds long
    /// (at least one sample), scaled to unit energy. Deterministic given the seed.
    public static func roomImpulseResponse(rt60: Double, sampleRate: Int, seed: UInt64) -> [Float] {
        let n = max(1, Int((rt60 * Double(sampleRate)).rounded()))
        let perSample = -3 / (rt60 * Double(sampleRate))              // log10 amplitude per sample
        var rng = SeededRandom.derived(seed: seed, stream: 1)
        var h = (0..<n).map { i in Float(pow(10, perSample * Double(i))) * rng.nextNormal() }
        let energy = h.reduce(0.0) { $0 + Double($1) * Double($1) }
        if energy > 0 { let s = Float(1 / energy.squareRoot()); h = h.map { $0 * s } }
        return h
    }

    /// The reverberated copy of ``reverb(rt60:)``; a silent or empty clip is returned as it is.
    static func reverberate(_ x: [Float], rt60: Double, sampleRate: Int, seed: UInt64) -> [Float] {
        let power = meanSquare(x)
        guard power > 0 else { return x }
        let h = roomImpulseResponse(rt60: rt60, sampleRate: sampleRate, seed: seed)
        var y = Array(FFTConvolution.convolve(x, h).prefix(x.count))      // [n] the room's tail past the end cut
        let wet = meanSquare(y)
        guard wet > 0, wet.isFinite else { return x }
        var scale = Float((power / wet).squareRoot())
        let peak = y.reduce(Float(0)) { max($0, abs($1)) } * scale
        if peak > 1 { scale /= peak }
        for i in 0..<y.count { y[i] *= scale }
        return y
    }
}

/// The telephone channels ``WaveformAugmentation`` can add: band limiting alone, or with μ-law.
public enum TelephoneChannel: String, Codable, Sendable, Hashable, CaseIterable {
    /// 8 kHz, 300-3400 Hz.
    case band
    /// 8 kHz, 300-3400 Hz, μ-law 8-bit.
    case mulaw
}

/// A codec round trip setting: codec and bit rate (kbit/s).
public struct CodecSetting: Codable, Sendable, Hashable {
    /// Codec.
    public var codec: LossyCodec
    /// Bit rate in kbit/s.
    public var kbps: Int

    /// `codec` at `kbps` (default: the codec's ``LossyCodec/defaultKbps``).
    public init(_ codec: LossyCodec, kbps: Int? = nil) {
        self.codec = codec; self.kbps = kbps ?? codec.defaultKbps
    }
}

/// Waveform augmentation of training clips: speed perturbation, pitch shift, additive white or pink noise,
/// gain, telephone band, codec round trips, reverberation and padding with silence, each setting
/// adding one perturbed copy of every training clip. Applied after the split, to training data
/// only; validation and test clips are never perturbed. Perturbed features are cached like the
/// originals (keyed by file content, feature settings and perturbation).
public struct WaveformAugmentation: Codable, Sendable, Equatable {
    /// Speed factors, e.g. `[0.9, 1.1]` (each in 0.5...2).
    public var speeds: [Double] = []
    /// Pitch shifts in semitones, e.g. `[-1, 1]` (each non-zero, at most 12 either way).
    public var pitchShifts: [Double] = []
    /// Signal-to-noise ratios in dB of added white noise, e.g. `[20]`.
    public var noiseSNRs: [Double] = []
    /// Signal-to-noise ratios in dB of added pink noise, e.g. `[10]`.
    public var pinkNoiseSNRs: [Double] = []
    /// Gains in dB, e.g. `[-30, -10, 10]` (each non-zero, in -60...20; clipped to [-1, 1]).
    public var gainsDB: [Double] = []
    /// Telephone channels, e.g. `[.band]`.
    public var telephone: [TelephoneChannel] = []
    /// Codec round trips, e.g. MP3 at 32 kbit/s and Opus at 16.
    public var codecs: [CodecSetting] = []
    /// Reverberation times (RT60, seconds) of synthetic rooms, e.g. `[0.3, 0.6]` (each in 0.05...3).
    public var reverbRT60s: [Double] = []
    /// Silence added at both ends, seconds, e.g. `[1]` (each in (0, 10]).
    public var padSilence: [Double] = []
    /// Noise floor of the added silence, dB relative to full scale (e.g. -80; in -120...-20);
    /// nil: digital zeros.
    public var padNoiseFloorDB: Double? = nil

    /// No augmentation.
    public init(speeds: [Double] = [], pitchShifts: [Double] = [], noiseSNRs: [Double] = [], pinkNoiseSNRs: [Double] = [],
                gainsDB: [Double] = [], telephone: [TelephoneChannel] = [], codecs: [CodecSetting] = [],
                reverbRT60s: [Double] = [], padSilence: [Double] = [], padNoiseFloorDB: Double? = nil) {
        self.speeds = speeds; self.pitchShifts = pitchShifts; self.noiseSNRs = noiseSNRs; self.pinkNoiseSNRs = pinkNoiseSNRs
        self.gainsDB = gainsDB; self.telephone = telephone; self.codecs = codecs
        self.reverbRT60s = reverbRT60s; self.padSilence = padSilence; self.padNoiseFloorDB = padNoiseFloorDB
    }

    private enum CodingKeys: String, CodingKey {
        case speeds, pitchShifts, noiseSNRs, pinkNoiseSNRs, gainsDB, telephone, codecs, reverbRT60s, padSilence, padNoiseFloorDB
    }

    /// Decodes; everything after `noiseSNRs` may be absent (specs written before it existed).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        speeds = try c.decode([Double].self, forKey: .speeds)
        pitchShifts = try c.decodeIfPresent([Double].self, forKey: .pitchShifts) ?? []
        noiseSNRs = try c.decode([Double].self, forKey: .noiseSNRs)
        pinkNoiseSNRs = try c.decodeIfPresent([Double].self, forKey: .pinkNoiseSNRs) ?? []
        gainsDB = try c.decodeIfPresent([Double].self, forKey: .gainsDB) ?? []
        telephone = try c.decodeIfPresent([TelephoneChannel].self, forKey: .telephone) ?? []
        codecs = try c.decodeIfPresent([CodecSetting].self, forKey: .codecs) ?? []
        reverbRT60s = try c.decodeIfPresent([Double].self, forKey: .reverbRT60s) ?? []
        padSilence = try c.decodeIfPresent([Double].self, forKey: .padSilence) ?? []
        padNoiseFloorDB = try c.decodeIfPresent(Double.self, forKey: .padNoiseFloorDB)
    }

    /// Encodes; the later lists only when not empty (and the noise floor only when set), so
    /// older specs are written as before.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(speeds, forKey: .speeds)
        if !pitchShifts.isEmpty { try c.encode(pitchShifts, forKey: .pitchShifts) }
        try c.encode(noiseSNRs, forKey: .noiseSNRs)
        if !pinkNoiseSNRs.isEmpty { try c.encode(pinkNoiseSNRs, forKey: .pinkNoiseSNRs) }
        if !gainsDB.isEmpty { try c.encode(gainsDB, forKey: .gainsDB) }
        if !telephone.isEmpty { try c.encode(telephone, forKey: .telephone) }
        if !codecs.isEmpty { try c.encode(codecs, forKey: .codecs) }
        if !reverbRT60s.isEmpty { try c.encode(reverbRT60s, forKey: .reverbRT60s) }
        if !padSilence.isEmpty { try c.encode(padSilence, forKey: .padSilence) }
        try c.encodeIfPresent(padNoiseFloorDB, forKey: .padNoiseFloorDB)
    }

    /// The perturbations: speeds, pitch shifts, white noise, pink noise, gains, telephone, codecs, reverberation,
    /// padding.
    public var perturbations: [AudioPerturbation] {
        var all: [AudioPerturbation] = speeds.map { .speed($0) }
        all += pitchShifts.map { .pitch(semitones: $0) }
        all += noiseSNRs.map { .noise(snrDB: $0) }
        all += pinkNoiseSNRs.map { .pinkNoise(snrDB: $0) }
        all += gainsDB.map { .gain(dB: $0) }
        all += telephone.map { .telephone(muLaw: $0 == .mulaw) }
        all += codecs.map { .codec($0.codec, kbps: $0.kbps) }
        all += reverbRT60s.map { .reverb(rt60: $0) }
        all += padSilence.map { .padSilence(seconds: $0, noiseFloorDB: padNoiseFloorDB) }
        return all
    }

    /// The conditions `--robustness` scores every fold's model under (perturbed copies of its
    /// validation clips): the kinds of input users send that the corpora lack. Gain +10 dB
    /// (clipping), the telephone band, MP3 at 32 kbit/s, Opus at 16, a room of RT60 0.5 s, pink noise
    /// at 10 dB SNR and 1 s of digital silence at both ends.
    public static let robustnessBattery = WaveformAugmentation(
        pinkNoiseSNRs: [10], gainsDB: [10], telephone: [.band], codecs: [CodecSetting(.mp3), CodecSetting(.opus)],
        reverbRT60s: [0.5], padSilence: [1])

    /// True when there is nothing to add.
    public var isEmpty: Bool { perturbations.isEmpty }

    /// Checks the settings.
    ///
    /// - Throws: `ExperimentError.invalidSetup` naming the bad value.
    public func validate() throws {
        for s in speeds where !(s >= 0.5 && s <= 2) || s == 1 {
            throw ExperimentError.invalidSetup("speed factor \(s) must lie in 0.5...2 and not be 1")
        }
        for p in pitchShifts where !(p.isFinite && p != 0 && abs(p) <= 12) {
            throw ExperimentError.invalidSetup("pitch shift \(p) semitones must be non-zero and lie in -12...12")
        }
        for n in noiseSNRs + pinkNoiseSNRs where !n.isFinite {
            throw ExperimentError.invalidSetup("noise SNR \(n) dB must be finite")
        }
        for g in gainsDB where !(g >= -60 && g <= 20 && g != 0) {
            throw ExperimentError.invalidSetup("gain \(g) dB must be non-zero and lie in -60...20")
        }
        for c in codecs where !c.codec.kbpsRange.contains(c.kbps) {
            throw ExperimentError.invalidSetup("\(c.codec.rawValue) bit rate \(c.kbps) kbit/s must lie in \(c.codec.kbpsRange.lowerBound)...\(c.codec.kbpsRange.upperBound)")
        }
        for t in reverbRT60s where !(t >= 0.05 && t <= 3) {
            throw ExperimentError.invalidSetup("reverberation time \(t) s must lie in 0.05...3")
        }
        for s in padSilence where !(s > 0 && s <= 10) {
            throw ExperimentError.invalidSetup("padding \(s) s must be positive and at most 10")
        }
        if let f = padNoiseFloorDB {
            guard f >= -120, f <= -20 else { throw ExperimentError.invalidSetup("noise floor \(f) dB must lie in -120...-20") }
            guard !padSilence.isEmpty else { throw ExperimentError.invalidSetup("a noise floor needs padding (--pad-silence)") }
        }
        if Set(perturbations).count != perturbations.count {
            throw ExperimentError.invalidSetup("augmentation lists a perturbation twice")
        }
    }
}
