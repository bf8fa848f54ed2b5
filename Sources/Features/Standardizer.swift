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
        let std = zip(sq, mean).map { max(($0 / n - $1 * $1).squareRoot(), 1e-5) }
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
