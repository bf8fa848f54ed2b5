import ArgumentParser
import SERFeatures

/// Feature settings shared by the commands that compute features.
/// Defaults are read from ``FeatureConfig`` (written once, in the library).
struct FeatureOptions: ParsableArguments {
    private static let defaults = FeatureConfig()
    @Option(help: "Sample rate the audio is resampled to (Hz).") var sr: Int = defaults.sampleRate
    @Option(name: .customLong("n-fft"), help: "FFT size / window length.") var nFFT: Int = defaults.nFFT
    @Option(help: "Hop length in samples.") var hop: Int = defaults.hopLength
    @Option(name: .customLong("n-mels"), help: "Mel bands.") var nMels: Int = defaults.nMels
    @Option(name: .customLong("n-mfcc"), help: "MFCC coefficients.") var nMFCC: Int = defaults.nMFCC
    @Option(help: "Lowest mel frequency (Hz).") var fmin: Float = defaults.fmin
    @Option(help: "Highest mel frequency (Hz); default sr/2.") var fmax: Float?
    @Option(help: "Spectrogram block: mel or linear.") var spectrogram: String = defaults.spectrogram.rawValue
    @Option(help: "Blocks to fuse, in order (comma list of spectrogram, chroma, mfcc, zcr).")
    var blocks: String = defaults.blocks.map(\.rawValue).joined(separator: ",")

    /// The configuration, validated.
    func config() throws -> FeatureConfig {
        var c = FeatureConfig()
        c.sampleRate = sr; c.nFFT = nFFT; c.hopLength = hop; c.nMels = nMels; c.nMFCC = nMFCC
        c.fmin = fmin; c.fmax = fmax
        guard let kind = SpectrogramKind(rawValue: spectrogram) else {
            throw ValidationError("--spectrogram must be mel or linear, not '\(spectrogram)'")
        }
        c.spectrogram = kind
        var list: [FeatureBlock] = []
        for name in blocks.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let b = FeatureBlock(rawValue: name) else {
                throw ValidationError("unknown feature block '\(name)' (expected spectrogram, chroma, mfcc, zcr)")
            }
            list.append(b)
        }
        guard !list.isEmpty else { throw ValidationError("--blocks is empty") }
        c.blocks = list
        do { try c.validate() } catch { throw ValidationError("\(error)") }
        return c
    }
}

import Foundation
