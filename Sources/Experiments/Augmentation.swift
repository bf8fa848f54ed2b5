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

    /// A short name used in cache keys and speaker groups: `speed0.9`, `noise20`.
    public var tag: String {
        switch self {
        case .speed(let f): return "speed\(f)"
        case .pitch(let n): return "pitch\(Self.compact(n))"
        case .noise(let snr): return "noise\(Self.compact(snr))"
        }
    }

    /// `20` for 20.0, `1.5` for 1.5.
    private static func compact(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }

    public var description: String { tag }

    /// The perturbed copy of `x` (`sampleRate` Hz); `seed` drives the noise.
    ///
    /// - Throws: `AudioError.resampling` if the converter cannot be made.
    public func apply(_ x: [Float], sampleRate: Int, seed: UInt64) throws -> [Float] {
        switch self {
        case .speed(let factor):
            // x played at rate·factor lasts n/factor samples at rate: resample rate·factor → rate.
            return try Resampler.resample(x, from: Int((Double(sampleRate) * factor).rounded()), to: sampleRate)
        case .pitch(let n):
            return try PhaseVocoder.pitchShift(x, sampleRate: sampleRate, semitones: n)
        case .noise(let snr):
            let power = x.isEmpty ? 0 : x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)
            guard power > 0 else { return x }
            let sigma = Float((power / pow(10, snr / 10)).squareRoot())
            var rng = SeededRandom(seed: seed)
            return x.map { $0 + sigma * rng.nextNormal() }
        }
    }
}

/// Waveform augmentation of training clips: speed perturbation, pitch shift and additive noise,
/// each setting adding one perturbed copy of every training clip. Applied after the split, to
/// training data only; validation and test clips are never perturbed. Perturbed features are
/// cached like the originals (keyed by file content, feature settings and perturbation).
public struct WaveformAugmentation: Codable, Sendable, Equatable {
    /// Speed factors, e.g. `[0.9, 1.1]` (each in 0.5...2).
    public var speeds: [Double] = []
    /// Pitch shifts in semitones, e.g. `[-1, 1]` (each non-zero, at most 12 either way).
    public var pitchShifts: [Double] = []
    /// Signal-to-noise ratios in dB of added white noise, e.g. `[20]`.
    public var noiseSNRs: [Double] = []

    /// No augmentation.
    public init(speeds: [Double] = [], pitchShifts: [Double] = [], noiseSNRs: [Double] = []) {
        self.speeds = speeds; self.pitchShifts = pitchShifts; self.noiseSNRs = noiseSNRs
    }

    private enum CodingKeys: String, CodingKey { case speeds, pitchShifts, noiseSNRs }

    /// Decodes; `pitchShifts` may be absent (specs written before it existed).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        speeds = try c.decode([Double].self, forKey: .speeds)
        pitchShifts = try c.decodeIfPresent([Double].self, forKey: .pitchShifts) ?? []
        noiseSNRs = try c.decode([Double].self, forKey: .noiseSNRs)
    }

    /// Encodes; `pitchShifts` only when not empty, so older specs are written as before.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(speeds, forKey: .speeds)
        if !pitchShifts.isEmpty { try c.encode(pitchShifts, forKey: .pitchShifts) }
        try c.encode(noiseSNRs, forKey: .noiseSNRs)
    }

    /// The perturbations: speeds, then pitch shifts, then noise.
    public var perturbations: [AudioPerturbation] {
        speeds.map { .speed($0) } + pitchShifts.map { .pitch(semitones: $0) } + noiseSNRs.map { .noise(snrDB: $0) }
    }

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
        for n in noiseSNRs where !n.isFinite {
            throw ExperimentError.invalidSetup("noise SNR \(n) dB must be finite")
        }
        if Set(perturbations).count != perturbations.count {
            throw ExperimentError.invalidSetup("augmentation lists a perturbation twice")
        }
    }
}
