import SERCore
import SERNetwork

/// Errors assembling a batch from feature matrices.
public enum BatchError: Error, CustomStringConvertible, Equatable {
    /// No clips were given.
    case empty
    /// Clip `index` is not a 2-D `[C, T]` tensor with the batch's channel count.
    case shape(index: Int, expectedChannels: Int, found: [Int])
    /// Clip `index` has no frames.
    case emptyClip(index: Int)
    /// The numbers of clips and labels differ.
    case labelCount(clips: Int, labels: Int)

    /// A one-line explanation naming the file (or input) and the reason.
    public var description: String {
        switch self {
        case .empty: return "batch: no clips"
        case let .shape(i, c, s): return "batch: clip \(i) has shape \(s), expected [\(c), frames]"
        case let .emptyClip(i): return "batch: clip \(i) has no frames"
        case let .labelCount(c, l): return "batch: \(c) clips but \(l) labels"
        }
    }
}

/// A padded batch of standardised fused feature sequences: the model's input.
///
/// `x` is `(B, T, C)` row-major with `T` the longest clip; rows past a clip's length are zero.
public struct Batch: Sendable, Equatable {
    /// Features `(B, T, C)`.
    public var x: Tensor
    /// Frames of each clip (each >= 1).
    public var lengths: [Int]
    /// Class index of each clip (empty for unlabelled inference batches).
    public var labels: [Int]

    /// Pads and transposes `features` (each `[C, T_i]`, as `SERFeatures` produces them).
    /// `channels` fixes C (default: that of the first clip).
    public init(features: [Tensor], labels: [Int] = [], channels: Int? = nil) throws {
        guard let first = features.first else { throw BatchError.empty }
        guard labels.isEmpty || labels.count == features.count else {
            throw BatchError.labelCount(clips: features.count, labels: labels.count)
        }
        let c = channels ?? first.shape.first ?? 0
        for (i, f) in features.enumerated() {
            guard f.shape.count == 2, f.shape[0] == c else { throw BatchError.shape(index: i, expectedChannels: c, found: f.shape) }
            guard f.shape[1] > 0 else { throw BatchError.emptyClip(index: i) }
        }
        let lengths = features.map { $0.shape[1] }
        let T = lengths.max() ?? 1
        var data = [Float](repeating: 0, count: features.count * T * c)
        data.withUnsafeMutableBufferPointer { out in
            for (b, f) in features.enumerated() {
                let len = f.shape[1]
                f.data.withUnsafeBufferPointer { src in
                    for ch in 0..<c { for t in 0..<len { out[(b * T + t) * c + ch] = src[ch * len + t] } }
                }
            }
        }
        self.x = Tensor(shape: [features.count, T, c], data: data)
        self.lengths = lengths
        self.labels = labels
    }

    /// A batch given directly; `x` must be `(B, T, C)` with zeros past each length.
    public init(x: Tensor, lengths: [Int], labels: [Int] = []) {
        precondition(x.shape.count == 3 && x.shape[0] == lengths.count, "Batch: x \(x.shape) for \(lengths.count) lengths")
        self.x = x
        self.lengths = lengths
        self.labels = labels
    }

    /// Number of clips B.
    public var size: Int { lengths.count }
    /// Padded length T.
    public var time: Int { x.shape[1] }
    /// Channels C.
    public var channels: Int { x.shape[2] }
    /// The layout for the network layers.
    public var layout: SequenceLayout { SequenceLayout(time: time, lengths: lengths) }
}
