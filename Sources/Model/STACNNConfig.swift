import Foundation
import SERFeatures

/// Errors describing an STA-CNN configuration that cannot be built.
public enum ModelConfigError: Error, CustomStringConvertible, Equatable {
    /// A setting is out of range; `reason` says which and why.
    case invalid(String)

    /// A one-line explanation naming the file (or input) and the reason.
    public var description: String {
        switch self {
        case let .invalid(reason): return "invalid STA-CNN configuration: \(reason)"
        }
    }
}

/// Hyper-parameters of the STA-CNN model (paper section III): FF input -> LFE (Conv1D k3 + ReLU +
/// MaxPool, repeated) -> CFE (BiLSTM) -> GFE (multi-head self-attention summed over positions) ->
/// dense + softmax.
///
/// Saved as JSON inside every model file. The paper fixes only the kernel size (3); the other
/// defaults are chosen here, each with its reason below.
public struct STACNNConfig: Codable, Sendable, Equatable, Hashable {
    /// Channels of the fused feature matrix (FF layer). Default 181 = 128 mel-dB + 12 chroma +
    /// 40 MFCC + 1 ZCR, the default `FeatureConfig`.
    public var inputChannels: Int = 181
    /// Number of emotion classes. Default 7 (EMODB, SAVEE); set from the corpus labels.
    public var numClasses: Int = 7
    /// Output channels of each LFE convolution; the paper has three (Conv1-3). Default
    /// `[256, 256, 256]`: on RAVDESS (6:2:2, seed 0, validation-selected epoch) a prototype of this
    /// model reached 76.4 % at this width against 73.3 % at 128 (benchmarks/prototype); about
    /// 0.5 M parameters in the LFE, 1.2 M in all.
    public var convChannels: [Int] = [256, 256, 256]
    /// Convolution kernel size; 3 as in the paper (TABLE III). Odd, "same" padding.
    public var kernelSize: Int = 3
    /// Max-pooling window and stride; 2 halves the sequence after each convolution (about
    /// 151 -> 18 frames for a 3.5 s clip), which keeps the BiLSTM and attention cheap. Only 2 is
    /// implemented.
    public var poolSize: Int = 2
    /// Hidden units per direction of the CFE BiLSTM. Default 128, so the BiLSTM output is 256 wide,
    /// matching the convolution width and dividing evenly into the attention heads.
    public var lstmHidden: Int = 128
    /// Attention heads in the GFE. Default 4 (64 dimensions per head over a 256-wide input): the
    /// paper uses "multi-head" attention without a count; 4 is the usual choice at this width.
    public var heads: Int = 4
    /// Dropout probability, applied after the LFE and before the classifier. Default 0.3:
    /// moderate regularisation for corpora of 500-5500 clips, with the paper's L2 1e-3 in the optimiser.
    public var dropout: Float = 0.3
    /// Keep the CFE (BiLSTM). Set false for the ablation without context features; the GFE then
    /// attends over the LFE output directly.
    public var useCFE: Bool = true
    /// Keep the GFE (attention). Set false for the ablation without global features; the
    /// sequence is then averaged over its valid positions (a mean rather than the paper's sum,
    /// so the classifier's input does not grow with the clip length).
    public var useGFE: Bool = true
    /// A learned weighted sum of the encoder's hidden states in front of the LFE
    /// (``SERNetwork/LayerWeightedSum``), when the features carry every layer
    /// (`--encoder-layer weighted`); nil otherwise and in files written before it existed.
    /// Set by ``adapt(to:)`` from the feature settings.
    public var layerSum: LayerSumConfig? = nil

    /// The defaults, with the given input channels and classes.
    public init(inputChannels: Int = 181, numClasses: Int = 7) {
        self.inputChannels = inputChannels
        self.numClasses = numClasses
    }

    private enum CodingKeys: String, CodingKey {
        case inputChannels, numClasses, convChannels, kernelSize, poolSize, lstmHidden, heads, dropout, useCFE, useGFE, layerSum
    }

    /// Decodes a configuration; absent keys take their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = STACNNConfig()
        inputChannels = try c.decodeIfPresent(Int.self, forKey: .inputChannels) ?? d.inputChannels
        numClasses = try c.decodeIfPresent(Int.self, forKey: .numClasses) ?? d.numClasses
        convChannels = try c.decodeIfPresent([Int].self, forKey: .convChannels) ?? d.convChannels
        kernelSize = try c.decodeIfPresent(Int.self, forKey: .kernelSize) ?? d.kernelSize
        poolSize = try c.decodeIfPresent(Int.self, forKey: .poolSize) ?? d.poolSize
        lstmHidden = try c.decodeIfPresent(Int.self, forKey: .lstmHidden) ?? d.lstmHidden
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? d.heads
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? d.dropout
        useCFE = try c.decodeIfPresent(Bool.self, forKey: .useCFE) ?? d.useCFE
        useGFE = try c.decodeIfPresent(Bool.self, forKey: .useGFE) ?? d.useGFE
        layerSum = try c.decodeIfPresent(LayerSumConfig.self, forKey: .layerSum)
    }

    /// Sets what the feature settings decide: ``inputChannels`` (the fused matrix's rows) and,
    /// for an encoder block carrying every hidden state (`EncoderLayerSelection.weighted`),
    /// ``layerSum`` over that block's channels (hand-made blocks beside it pass through). The one
    /// place where training (`ExperimentRunner`) derives the network's input from the features.
    public mutating func adapt(to features: FeatureConfig) {
        inputChannels = features.channels
        if let e = features.encoder, e.layer == .weighted, let offset = features.firstChannel(of: .encoder) {
            var s = LayerSumConfig(offset: offset, layers: e.states, width: e.width)
            if let old = layerSum { s.learningRateScale = old.learningRateScale }
            layerSum = s
        } else {
            layerSum = nil
        }
    }

    /// Width of the sequence entering the first convolution: the input, with the layer group
    /// replaced by its weighted sum.
    public var lfeInputChannels: Int {
        guard let s = layerSum else { return inputChannels }
        return inputChannels - (s.layers - 1) * s.width
    }

    /// Width of the LFE output.
    public var lfeChannels: Int { convChannels.last ?? inputChannels }
    /// Width of the sequence entering the GFE (BiLSTM output, or the LFE output without CFE).
    public var sequenceChannels: Int { useCFE ? 2 * lstmHidden : lfeChannels }

    /// Throws `ModelConfigError.invalid` when the configuration cannot be built.
    public func validate() throws {
        func bad(_ s: String) -> ModelConfigError { .invalid(s) }
        guard inputChannels > 0 else { throw bad("inputChannels \(inputChannels) must be positive") }
        guard numClasses >= 2 else { throw bad("numClasses \(numClasses) must be at least 2") }
        guard !convChannels.isEmpty, convChannels.allSatisfy({ $0 > 0 }) else { throw bad("convChannels \(convChannels) must be non-empty and positive") }
        guard kernelSize > 0, kernelSize % 2 == 1 else { throw bad("kernelSize \(kernelSize) must be odd") }
        guard poolSize == 2 else { throw bad("poolSize \(poolSize): only 2 is implemented") }
        guard !useCFE || lstmHidden > 0 else { throw bad("lstmHidden \(lstmHidden) must be positive") }
        guard !useGFE || (heads > 0 && sequenceChannels % heads == 0) else {
            throw bad("heads \(heads) must divide the attention width \(sequenceChannels)")
        }
        guard dropout >= 0, dropout < 1 else { throw bad("dropout \(dropout) must be in [0, 1)") }
        if let s = layerSum {
            guard s.offset >= 0, s.layers >= 1, s.width >= 1, s.offset + s.layers * s.width <= inputChannels else {
                throw bad("layerSum: \(s.layers) layers of width \(s.width) from channel \(s.offset) do not fit \(inputChannels) input channels")
            }
            guard s.learningRateScale.isFinite, s.learningRateScale > 0 else {
                throw bad("layerSum.learningRateScale \(s.learningRateScale) must be positive")
            }
        }
    }

    /// Names and shapes of the parameters, in PyTorch `state_dict` order.
    public var parameterShapes: [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = []
        if let s = layerSum { out.append(("layer_sum.weight", [s.layers])) }
        var cin = lfeInputChannels
        for (i, c) in convChannels.enumerated() {
            out.append(("lfe.\(i).weight", [c, cin, kernelSize])); out.append(("lfe.\(i).bias", [c]))
            cin = c
        }
        if useCFE {
            let h = lstmHidden
            for s in ["", "_reverse"] {
                out += [("cfe.weight_ih_l0\(s)", [4 * h, cin]), ("cfe.weight_hh_l0\(s)", [4 * h, h]),
                        ("cfe.bias_ih_l0\(s)", [4 * h]), ("cfe.bias_hh_l0\(s)", [4 * h])]
            }
            cin = 2 * h
        }
        if useGFE {
            out += [("gfe.in_proj_weight", [3 * cin, cin]), ("gfe.in_proj_bias", [3 * cin]),
                    ("gfe.out_proj.weight", [cin, cin]), ("gfe.out_proj.bias", [cin])]
        }
        out += [("classifier.weight", [numClasses, cin]), ("classifier.bias", [numClasses])]
        return out
    }

    /// JSON text (sorted keys), as stored in model files.
    public func jsonString() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// Where the encoder's stacked hidden states sit in the fused input, for
/// ``SERNetwork/LayerWeightedSum``: `layers` blocks of `width` channels from channel `offset`.
public struct LayerSumConfig: Codable, Sendable, Equatable, Hashable {
    /// First channel of the encoder block in the fused matrix (the channels of the blocks before it).
    public var offset: Int
    /// Hidden states `L` (7 for Whisper base: the embedding output and 6 blocks).
    public var layers: Int
    /// Width `D` of each hidden state (512 for base).
    public var width: Int
    /// Factor on the optimiser's learning rate for the layer logits `w`. Default 100 (1e-2 at the
    /// paper's 1e-4): Adam moves a parameter by at most about the learning rate per step, and a
    /// fold of RAVDESS trains for 300-900 steps, so at 1e-4 the logits could move by less than
    /// 0.1 and the weights would stay uniform (the fixed `mean`). Chosen before any run, not tuned.
    /// The logits are never L2-decayed (as SUPERB's weighted sum): the decay would pull the
    /// weighting towards uniform, a prior with no reason behind it.
    public var learningRateScale: Float = 100

    /// The group of `layers` states of `width` channels from channel `offset`.
    public init(offset: Int, layers: Int, width: Int, learningRateScale: Float = 100) {
        self.offset = offset; self.layers = layers; self.width = width; self.learningRateScale = learningRateScale
    }

    private enum CodingKeys: String, CodingKey { case offset, layers, width, learningRateScale }

    /// Decodes a group; an absent `learningRateScale` takes its default.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        offset = try c.decode(Int.self, forKey: .offset)
        layers = try c.decode(Int.self, forKey: .layers)
        width = try c.decode(Int.self, forKey: .width)
        learningRateScale = try c.decodeIfPresent(Float.self, forKey: .learningRateScale) ?? 100
    }
}
