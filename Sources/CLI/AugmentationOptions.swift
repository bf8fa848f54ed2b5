import ArgumentParser
import SERAudio
import SERExperiments

/// Waveform augmentation flags, shared by `ser train` (copies of training clips) and `ser perturb`
/// (copies written as files).
struct AugmentationOptions: ParsableArguments {
    @Option(name: .customLong("speed-perturb"), help: "Speed-perturbed copies at these factors, comma-separated (e.g. 0.9,1.1); tempo and pitch change together.")
    var speedPerturb: String = ""
    @Option(name: .customLong("pitch-shift"), parsing: .unconditional,
            help: "Pitch-shifted copies at these shifts in semitones, comma-separated (e.g. -1,1); the duration stays.")
    var pitchShift: String = ""
    @Option(name: .customLong("noise-snr"), help: "Copies in white noise at these SNRs in dB, comma-separated (e.g. 20).")
    var noiseSNR: String = ""
    @Option(name: .customLong("pink-noise-snr"), help: "Copies in pink noise (equal power per octave) at these SNRs in dB, comma-separated (e.g. 10).")
    var pinkNoiseSNR: String = ""
    @Option(name: .customLong("gain"), parsing: .unconditional,
            help: "Copies at these gains in dB, comma-separated (e.g. -30,-10,10; each in -60...20); clipped to [-1, 1].")
    var gain: String = ""
    @Flag(help: "A telephone-band copy (8 kHz, 300-3400 Hz, 4th-order Butterworth band-pass).") var telephone = false
    @Flag(name: .customLong("telephone-mulaw"), help: "A telephone-band copy quantised by 8-bit mu-law.")
    var telephoneMuLaw = false
    @Option(help: "Lossy round trips through these codecs, comma-separated: mp3, opus, with an optional bit rate in kbit/s (e.g. mp3,opus or mp3:24,opus:12; defaults mp3 32, opus 16).")
    var codec: String = ""
    @Option(help: "Copies in synthetic rooms of these reverberation times (RT60) in seconds, comma-separated (e.g. 0.3,0.6).")
    var reverb: String = ""
    @Option(name: .customLong("pad-silence"), help: "Copies with this many seconds of silence at both ends, comma-separated (e.g. 1).")
    var padSilence: String = ""
    @Option(name: .customLong("pad-noise-floor"), parsing: .unconditional,
            help: "Fill the --pad-silence padding with white noise at this level in dB relative to full scale (e.g. -80) instead of digital zeros.")
    var padNoiseFloor: Double?

    /// The settings, validated.
    func augmentation() throws -> WaveformAugmentation {
        let a = WaveformAugmentation(speeds: try TrainCommand.numbers(speedPerturb, option: "--speed-perturb"),
                                     pitchShifts: try TrainCommand.numbers(pitchShift, option: "--pitch-shift"),
                                     noiseSNRs: try TrainCommand.numbers(noiseSNR, option: "--noise-snr"),
                                     pinkNoiseSNRs: try TrainCommand.numbers(pinkNoiseSNR, option: "--pink-noise-snr"),
                                     gainsDB: try TrainCommand.numbers(gain, option: "--gain"),
                                     telephone: (telephone ? [.band] : []) + (telephoneMuLaw ? [.mulaw] : []),
                                     codecs: try Self.codecs(codec),
                                     reverbRT60s: try TrainCommand.numbers(reverb, option: "--reverb"),
                                     padSilence: try TrainCommand.numbers(padSilence, option: "--pad-silence"),
                                     padNoiseFloorDB: padNoiseFloor)
        do { try a.validate() } catch { throw ValidationError("\(error)") }
        return a
    }

    /// Parses `--codec`: comma-separated `name` or `name:kbps` ("" is empty).
    static func codecs(_ text: String) throws -> [CodecSetting] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.count <= 2, let codec = LossyCodec(rawValue: parts[0]) else {
                throw ValidationError("bad --codec value '\(item)' (expected \(LossyCodec.allCases.map(\.rawValue).joined(separator: " or ")), optionally :kbps)")
            }
            guard parts.count == 2 else { return CodecSetting(codec) }
            guard let kbps = Int(parts[1]) else { throw ValidationError("bad --codec bit rate '\(parts[1])' (expected whole kbit/s)") }
            return CodecSetting(codec, kbps: kbps)
        }
    }
}
