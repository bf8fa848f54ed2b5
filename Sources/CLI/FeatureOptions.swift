import ArgumentParser
import SERFeatures

/// Feature settings shared by the commands that compute features.
struct FeatureOptions: ParsableArguments {
    @Option(help: "Sample rate the audio is resampled to (Hz).") var sr: Int = 22050
    @Option(name: .customLong("n-fft"), help: "FFT size / window length.") var nFFT: Int = 2048
    @Option(help: "Hop length in samples.") var hop: Int = 512
    @Option(name: .customLong("n-mels"), help: "Mel bands.") var nMels: Int = 128
    @Option(name: .customLong("n-mfcc"), help: "MFCC coefficients.") var nMFCC: Int = 40
    @Option(help: "Lowest mel frequency (Hz).") var fmin: Float = 0
    @Option(help: "Highest mel frequency (Hz); default sr/2.") var fmax: Float?
    @Option(help: "Spectrogram block: mel or linear.") var spectrogram: String = "mel"
    @Option(help: "Blocks to fuse, in order (comma list of spectrogram, chroma, mfcc, zcr).")
    var blocks: String = "spectrogram,chroma,mfcc,zcr"

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
        guard sr >= 1000, nFFT >= 16, hop >= 1, nMels >= 1, nMFCC >= 1, nMFCC <= nMels else {
            throw ValidationError("invalid feature settings (need sr >= 1000, n-fft >= 16, hop >= 1, 1 <= n-mfcc <= n-mels)")
        }
        return c
    }
}

import Foundation
