// Second-order IIR sections and Butterworth filters designed with the bilinear transform.
import Foundation

/// One second-order IIR section, `H(z) = (b0 + b1 z⁻¹ + b2 z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²)`, run in
/// transposed direct form II in double precision.
public struct Biquad: Sendable, Equatable {
    /// Feed-forward coefficients.
    public var b0, b1, b2: Double
    /// Feedback coefficients (a0 = 1).
    public var a1, a2: Double

    /// A section with these coefficients.
    public init(b0: Double, b1: Double, b2: Double, a1: Double, a2: Double) {
        self.b0 = b0; self.b1 = b1; self.b2 = b2; self.a1 = a1; self.a2 = a2
    }

    /// The digital counterpart of the analog low-pass `1 / (s² + s/q + 1)` (s in units of the
    /// cutoff) by the bilinear transform, with the cutoff pre-warped so that it falls exactly at
    /// `cutoff` Hz: with `K = tan(π·cutoff/rate)`, `b = K²·(1, 2, 1) / D`, `a1 = 2(K² − 1)/D`,
    /// `a2 = (1 − K/q + K²)/D`, `D = 1 + K/q + K²`.
    public static func lowPass(cutoff: Double, sampleRate: Double, q: Double) -> Biquad {
        let k = tan(Double.pi * cutoff / sampleRate), d = 1 + k / q + k * k
        return Biquad(b0: k * k / d, b1: 2 * k * k / d, b2: k * k / d, a1: 2 * (k * k - 1) / d, a2: (1 - k / q + k * k) / d)
    }

    /// The high-pass `s² / (s² + s/q + 1)` the same way: `b = (1, −2, 1) / D`, same `a`.
    public static func highPass(cutoff: Double, sampleRate: Double, q: Double) -> Biquad {
        let k = tan(Double.pi * cutoff / sampleRate), d = 1 + k / q + k * k
        return Biquad(b0: 1 / d, b1: -2 / d, b2: 1 / d, a1: 2 * (k * k - 1) / d, a2: (1 - k / q + k * k) / d)
    }

    /// The quality factors of the second-order sections of an even-order Butterworth filter:
    /// its poles lie on the unit circle at angles `π(2k + 1)/(2·order)` from the negative real
    /// axis, and the section of pole pair k has `q = 1 / (2 cos θ_k)` (order 4: 0.5412, 1.3066).
    public static func butterworthQs(order: Int) -> [Double] {
        precondition(order > 0 && order % 2 == 0, "Butterworth order \(order) must be even and positive")
        return (0..<order / 2).map { 1 / (2 * cos(Double.pi * Double(2 * $0 + 1) / Double(2 * order))) }
    }

    /// Runs the cascade `sections` over `x` from rest (zero state).
    public static func filter(_ x: [Float], _ sections: [Biquad]) -> [Float] {
        var y = x.map(Double.init)                                   // [n] working signal
        for s in sections {
            var z1 = 0.0, z2 = 0.0
            for i in 0..<y.count {
                let v = y[i], out = s.b0 * v + z1
                z1 = s.b1 * v - s.a1 * out + z2
                z2 = s.b2 * v - s.a2 * out
                y[i] = out
            }
        }
        return y.map { Float($0) }
    }
}
