import Foundation
import SERCore

/// Per-channel standardisation of a fused feature matrix: `(x - mean) / std`.
///
/// Fitted on training data only (every frame of every training clip weighs the same), then
/// saved inside the model file so prediction applies exactly the same statistics.
public struct Standardizer: Codable, Sendable, Equatable {
    /// Mean of each channel.
    public var mean: [Float]
    /// Standard deviation of each channel (floored at `1e-5`).
    public var std: [Float]

    /// Statistics given directly.
    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count)
        self.mean = mean
        self.std = std
    }

    /// The identity transform for `channels` channels.
    public static func identity(channels: Int) -> Standardizer {
        Standardizer(mean: .init(repeating: 0, count: channels), std: .init(repeating: 1, count: channels))
    }

    /// Fits mean and std over all frames of `features`, each a `[channels, frames]` tensor.
    /// Accumulates in Double so long corpora do not lose precision.
    public static func fit(_ features: [Tensor]) -> Standardizer {
        guard let c = features.first?.shape.first else { return .identity(channels: 0) }
        var sum = [Double](repeating: 0, count: c), sq = [Double](repeating: 0, count: c)
        var n = 0.0
        for f in features {
            precondition(f.shape.count == 2 && f.shape[0] == c, "Standardizer.fit: feature shape \(f.shape) does not have \(c) channels")
            let t = f.shape[1]
            n += Double(t)
            for ch in 0..<c {
                var s = 0.0, q = 0.0
                for j in 0..<t { let v = Double(f.data[ch * t + j]); s += v; q += v * v }
                sum[ch] += s; sq[ch] += q
            }
        }
        guard n > 0 else { return .identity(channels: c) }
        let mean = sum.map { $0 / n }
        // E[x²] − E[x]² of a constant channel can round below zero: clamp before the root, or the
        // std is NaN (and `max(NaN, floor)` is NaN too).
        let std = zip(sq, mean).map { max(max($0 / n - $1 * $1, 0).squareRoot(), 1e-5) }
        return Standardizer(mean: mean.map(Float.init), std: std.map(Float.init))
    }

    /// Number of channels.
    public var channels: Int { mean.count }

    /// Standardises a `[channels, frames]` tensor in place.
    public func apply(_ x: inout Tensor) {
        precondition(x.shape.count == 2 && x.shape[0] == channels, "Standardizer: shape \(x.shape) does not have \(channels) channels")
        let t = x.shape[1]
        x.data.withUnsafeMutableBufferPointer { p in
            for ch in 0..<channels {
                let m = mean[ch], inv = 1 / std[ch]
                for j in 0..<t { p[ch * t + j] = (p[ch * t + j] - m) * inv }
            }
        }
    }

    /// Returns a standardised copy.
    public func applied(to x: Tensor) -> Tensor { var y = x; apply(&y); return y }
}

/// How each clip is normalised before the training-fitted ``Standardizer``.
///
/// Speaker-independent protocols test on voices the model never heard; removing each voice's
/// own level and timbre before the network sees it is the usual remedy.
public enum FeatureNormalization: String, Codable, Sendable, CaseIterable {
    /// Only the standardiser fitted on the training data (the paper's setting).
    case global
    /// Each clip's channels are first z-scored with the clip's own mean and std over its frames.
    /// Needs nothing but the clip, so prediction applies it the same way.
    case utterance
    /// Each clip is first z-scored with the mean and std of all clips of its speaker (labels are
    /// never used). A research protocol: it needs unlabelled recordings of every test speaker.
    /// Prediction treats each input file as its own speaker.
    case speaker

    /// Normalises `clips` in place; `groups[i]` names the speaker of clip `i` (used by `.speaker`).
    public func apply(_ clips: inout [Tensor], groups: [String]) {
        switch self {
        case .global: return
        case .utterance:
            for i in clips.indices { Standardizer.fit([clips[i]]).apply(&clips[i]) }
        case .speaker:
            precondition(groups.count == clips.count, "FeatureNormalization: one group per clip")
            var members: [String: [Int]] = [:]
            for (i, g) in groups.enumerated() { members[g, default: []].append(i) }
            for ids in members.values {
                let s = Standardizer.fit(ids.map { clips[$0] })
                for i in ids { s.apply(&clips[i]) }
            }
        }
    }

    /// Normalises one clip at prediction time (`.speaker` uses the clip itself as its speaker).
    public func apply(_ x: inout Tensor) {
        if self != .global { Standardizer.fit([x]).apply(&x) }
    }
}
