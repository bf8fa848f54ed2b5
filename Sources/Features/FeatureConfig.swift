import Foundation

/// One block of the paper's fused feature matrix (eq. 1: x_f = x_s + x_c + x_m + x_z).
public enum FeatureBlock: String, Codable, Sendable, CaseIterable {
    /// Spectrogram in dB (mel or linear, see `FeatureConfig.spectrogram`).
    case spectrogram
    /// Chromagram (chroma_stft, 12 pitch classes).
    case chroma
    /// MFCC (`nMFCC` coefficients).
    case mfcc
    /// Zero-crossing rate (1 channel).
    case zcr
    /// Hidden states of a pretrained speech encoder (Whisper), `FeatureConfig.encoder` says which.
    /// Computed by `ClipFeaturizer` (SEREncoder); `FeatureExtractor` computes the other blocks.
    case encoder

    /// The hand-made blocks of the paper's eq. 1.
    public var isHandmade: Bool { self != .encoder }
}

/// Which of the encoder's hidden states form the `encoder` block.
public enum EncoderLayerSelection: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The encoder's output (the last block after the final LayerNorm).
    case last
    /// The average of every hidden state (embedding output and each block's output), a fixed,
    /// uniform weighting of the layers.
    case mean
    /// One hidden state: 0 is the embedding output, `i` the output of block `i`.
    case index(Int)
    /// Every hidden state side by side (`states * width` channels: state `l`'s channel `d` is row
    /// `l * width + d` of the block), for a head that learns a weighted sum of the layers
    /// (`LayerWeightedSum`, SUPERB's practice). The values are rounded to Float16 by the
    /// featurizer, so the feature cache stores the block in half the space without changing it.
    case weighted

    /// Reads "last", "mean", "weighted" or a layer number.
    public init?(_ text: String) {
        switch text.lowercased() {
        case "last": self = .last
        case "mean", "average": self = .mean
        case "weighted": self = .weighted
        default:
            guard let i = Int(text), i >= 0 else { return nil }
            self = .index(i)
        }
    }

    public var description: String {
        switch self {
        case .last: return "last"
        case .mean: return "mean"
        case .weighted: return "weighted"
        case .index(let i): return String(i)
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let v = EncoderLayerSelection(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "'\(text)' is not last, mean, weighted or a layer number"))
        }
        self = v
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// The `encoder` block's settings: which pretrained encoder and which of its hidden states.
public struct EncoderBlockConfig: Codable, Sendable, Hashable {
    /// Catalogue name of installed weights ("base", "tiny.en"; `ser encoder list`) or a path to a
    /// weights file.
    public var model: String
    /// Width of each hidden state (`d_model`: 512 for base, 384 for tiny).
    public var width: Int
    /// Hidden states the encoder returns: its blocks plus one (7 for base).
    public var states: Int
    /// Channels of the block: `width`, or `states * width` for `weighted`.
    public var channels: Int { layer == .weighted ? states * width : width }
    /// Which hidden state(s) form the block.
    public var layer: EncoderLayerSelection

    public init(model: String, width: Int, states: Int, layer: EncoderLayerSelection = .last) {
        self.model = model; self.width = width; self.states = states; self.layer = layer
    }
}

/// Which frequency axis the spectrogram block uses.
public enum SpectrogramKind: String, Codable, Sendable {
    /// Mel power spectrogram in dB, `nMels` channels (default: compact and what most SER work uses).
    case mel
    /// Linear-frequency STFT power in dB, `nFFT/2 + 1` channels.
    case linear
}

/// Settings of the FF layer. Defaults are librosa 0.11's.
///
/// Saved with every model so that prediction computes exactly the features training saw.
public struct FeatureConfig: Codable, Sendable, Equatable, Hashable {
    /// Sample rate the audio is resampled to (librosa's default 22050 Hz).
    public var sampleRate: Int = 22050
    /// FFT size and window length.
    public var nFFT: Int = 2048
    /// Hop between frames, in samples.
    public var hopLength: Int = 512
    /// Number of mel bands (for the mel spectrogram and for MFCC).
    public var nMels: Int = 128
    /// Number of MFCC coefficients.
    public var nMFCC: Int = 40
    /// Lowest mel filter frequency, Hz.
    public var fmin: Float = 0
    /// Highest mel filter frequency, Hz (`nil`: sampleRate / 2).
    public var fmax: Float? = nil
    /// Number of chroma bins.
    public var nChroma: Int = 12
    /// Frequency axis of the spectrogram block.
    public var spectrogram: SpectrogramKind = .mel
    /// Dynamic range kept by the dB conversions (librosa's top_db).
    public var topDB: Float = 80
    /// Blocks stacked into the fused matrix, in this order.
    public var blocks: [FeatureBlock] = [.spectrogram, .chroma, .mfcc, .zcr]
    /// Settings of the `encoder` block; nil when the blocks do not include it (and in files
    /// written before it existed).
    public var encoder: EncoderBlockConfig? = nil
    /// Level normalisation before any block: the clip's loud frames are brought to this level in
    /// dBFS (``Loudness``); nil: the clip as decoded (and in files written before it existed).
    public var loudness: Double? = nil

    /// The defaults.
    public init() {}

    /// Channels contributed by one block.
    public func channels(of block: FeatureBlock) -> Int {
        switch block {
        case .spectrogram: return spectrogram == .mel ? nMels : nFFT / 2 + 1
        case .chroma: return nChroma
        case .mfcc: return nMFCC
        case .zcr: return 1
        case .encoder: return encoder?.channels ?? 0
        }
    }

    /// Whether any hand-made block (spectrogram, chroma, MFCC, ZCR) is fused.
    public var hasHandmadeBlocks: Bool { blocks.contains { $0.isHandmade } }

    /// The same settings with the hand-made blocks only (what `FeatureExtractor` computes).
    public var handmadeOnly: FeatureConfig {
        var c = self
        c.blocks = blocks.filter(\.isHandmade)
        c.encoder = nil
        return c
    }

    /// First row of `block` in the fused matrix; nil when it is not fused.
    public func firstChannel(of block: FeatureBlock) -> Int? {
        guard let i = blocks.firstIndex(of: block) else { return nil }
        return blocks[..<i].reduce(0) { $0 + channels(of: $1) }
    }

    /// Rows of the fused matrix.
    public var channels: Int { blocks.reduce(0) { $0 + channels(of: $1) } }

    /// Frames librosa produces for `n` samples with `center=True`: `1 + n / hop`. With the
    /// encoder block alone the frames are the encoder's (`ClipFeaturizer.frameCount`).
    public func frameCount(samples n: Int) -> Int { 1 + n / hopLength }

    /// The ranges ``validate()`` accepts. They keep every buffer small enough for one clip:
    /// a 60 s clip at the largest sample rate, FFT size and band count and the smallest hop
    /// needs under 1 GB of features.
    public static let limits = (sampleRate: 4_000...192_000, nFFT: 16...16_384, hopLength: 32...16_384,
                                nMels: 1...512, nMFCC: 1...512, nChroma: 1...120)

    /// Checks every setting against ``limits`` before anything is allocated.
    ///
    /// - Throws: ``FeatureConfigError`` naming the setting, its value and the allowed range.
    public func validate() throws(FeatureConfigError) {
        let l = Self.limits
        func check(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws(FeatureConfigError) {
            guard range.contains(value) else { throw .outOfRange(name: name, value: "\(value)", allowed: "\(range.lowerBound)...\(range.upperBound)") }
        }
        try check("sample rate", sampleRate, l.sampleRate)
        try check("n_fft", nFFT, l.nFFT)
        try check("hop length", hopLength, l.hopLength.lowerBound...min(l.hopLength.upperBound, nFFT))
        try check("n_mels", nMels, l.nMels)
        try check("n_mfcc", nMFCC, l.nMFCC.lowerBound...min(l.nMFCC.upperBound, nMels))
        try check("n_chroma", nChroma, l.nChroma)
        let nyquist = Float(sampleRate) / 2
        let top = fmax ?? nyquist
        guard top.isFinite, top > 0, top <= nyquist else {
            throw .outOfRange(name: "fmax", value: "\(top)", allowed: "0 < fmax <= \(nyquist) (half the sample rate)")
        }
        guard fmin.isFinite, fmin >= 0, fmin < top else {
            throw .outOfRange(name: "fmin", value: "\(fmin)", allowed: "0 <= fmin < \(top)")
        }
        guard topDB.isFinite, topDB > 0 else {
            throw .outOfRange(name: "top_db", value: "\(topDB)", allowed: "a finite number above 0")
        }
        if let l = loudness, !(l >= -60 && l <= 0) {
            throw .outOfRange(name: "loudness", value: "\(l)", allowed: "-60...0 dBFS")
        }
        guard !blocks.isEmpty else { throw .outOfRange(name: "blocks", value: "none", allowed: "at least one block") }
        guard Set(blocks).count == blocks.count else {
            throw .outOfRange(name: "blocks", value: blocks.map(\.rawValue).joined(separator: ","), allowed: "each block once")
        }
        if blocks.contains(.encoder) {
            guard let e = encoder else {
                throw .outOfRange(name: "encoder", value: "none", allowed: "an encoder model for the encoder block")
            }
            try check("encoder width", e.width, 1...4096)
            try check("encoder hidden states", e.states, 1...64)
            if case .index(let i) = e.layer { try check("encoder layer", i, 0...(e.states - 1)) }
        }
    }

    /// JSON text of this configuration (stable key order), for file metadata and cache keys.
    public func jsonString() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// A feature setting outside the range the extractor supports.
public enum FeatureConfigError: Error, Equatable, CustomStringConvertible {
    case outOfRange(name: String, value: String, allowed: String)

    public var description: String {
        switch self {
        case let .outOfRange(name, value, allowed): return "\(name) \(value) is out of range (allowed: \(allowed))"
        }
    }
}
