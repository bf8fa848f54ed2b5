import ArgumentParser
import SEREncoder
import SERFeatures

/// Feature settings shared by the commands that compute features.
/// Defaults are read from ``FeatureConfig`` (written once, in the library).
struct FeatureOptions: ParsableArguments {
    private static let defaults = FeatureConfig()
    @Option(help: ArgumentHelp("Sample rate the audio is resampled to (Hz).",
                               discussion: "Default: \(defaults.sampleRate), or 16000 when the encoder block is the only block."))
    var sr: Int?
    @Option(name: .customLong("n-fft"), help: "FFT size / window length.") var nFFT: Int = defaults.nFFT
    @Option(help: "Hop length in samples.") var hop: Int = defaults.hopLength
    @Option(name: .customLong("n-mels"), help: "Mel bands.") var nMels: Int = defaults.nMels
    @Option(name: .customLong("n-mfcc"), help: "MFCC coefficients.") var nMFCC: Int = defaults.nMFCC
    @Option(help: "Lowest mel frequency (Hz).") var fmin: Float = defaults.fmin
    @Option(help: "Highest mel frequency (Hz); default sr/2.") var fmax: Float?
    @Option(help: "Spectrogram block: mel or linear.") var spectrogram: String = defaults.spectrogram.rawValue
    @Option(help: "Blocks to fuse, in order (comma list of spectrogram, chroma, mfcc, zcr, encoder).")
    var blocks: String = defaults.blocks.map(\.rawValue).joined(separator: ",")
    @Option(help: "Pretrained encoder of the encoder block: an installed model (`ser encoder list`) or a weights file.")
    var encoder: String = "base"
    @Option(name: .customLong("encoder-layer"),
            help: ArgumentHelp("Hidden state(s) of the encoder block: last, mean (of all layers), weighted (all layers, for a learned weighted sum) or a layer number (0 = embedding output).",
                               discussion: "weighted: the block carries every hidden state (7 x 512 channels for base, stored as Float16 in the feature cache) and the STA-CNN head learns softmax weights over them (LayerWeightedSum, SUPERB's practice); `ser baseline` uses the 3584 channels as they are."))
    var encoderLayer: String = "last"
    @Option(help: ArgumentHelp("Bring each clip's loud frames to this level (dBFS, e.g. -20) before its features, so the model does not hear loudness.",
                               discussion: "Default: off (the clip as decoded)."))
    var loudness: Double?

    /// The configuration, validated.
    func config() throws -> FeatureConfig {
        var c = FeatureConfig()
        c.nFFT = nFFT; c.hopLength = hop; c.nMels = nMels; c.nMFCC = nMFCC
        c.fmin = fmin; c.fmax = fmax; c.loudness = loudness
        guard let kind = SpectrogramKind(rawValue: spectrogram) else {
            throw ValidationError("--spectrogram must be mel or linear, not '\(spectrogram)'")
        }
        c.spectrogram = kind
        var list: [FeatureBlock] = []
        for name in blocks.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let b = FeatureBlock(rawValue: name) else {
                throw ValidationError("unknown feature block '\(name)' (expected "
                    + FeatureBlock.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            list.append(b)
        }
        guard !list.isEmpty else { throw ValidationError("--blocks is empty") }
        c.blocks = list
        c.sampleRate = sr ?? (list == [.encoder] ? WhisperLogMel.sampleRate : Self.defaults.sampleRate)
        if list.contains(.encoder) {
            guard let layer = EncoderLayerSelection(encoderLayer) else {
                throw ValidationError("--encoder-layer must be last, mean, weighted or a layer number, not '\(encoderLayer)'")
            }
            c.encoder = try EncoderStore.shared.blockConfig(encoder, layer: layer)
        }
        do { try c.validate() } catch { throw ValidationError("\(error)") }
        return c
    }
}

import Foundation
