import SERCore

/// Inverted dropout: in training each element is zeroed with probability `p` and the survivors
/// scaled by `1 / (1 - p)`; at inference (or with `p == 0`) the identity. Masks come from a seeded
/// generator, so a run is repeatable.
public final class Dropout {
    /// Drop probability in [0, 1).
    public let p: Float
    /// Output, same shape as the input.
    public let output = FloatBuffer()
    /// Gradient with respect to the input (after `backward`).
    public let inputGrad = FloatBuffer()
    /// Cache: the multiplier of each element (0 or `1 / (1 - p)`) from the last training forward.
    private let mask = FloatBuffer()
    private var rng: SeededRandom
    private var masked = false

    /// A dropout layer drawing its masks from `SeededRandom(seed: seed)`.
    public init(p: Float, seed: UInt64) {
        precondition(p >= 0 && p < 1, "Dropout: p = \(p) not in [0, 1)")
        self.p = p
        rng = SeededRandom(seed: seed)
    }

    /// Restarts the mask sequence from `seed`.
    public func reseed(_ seed: UInt64) { rng = SeededRandom(seed: seed) }

    /// `x (n)` -> `output (n)`.
    public func forward(_ x: UnsafePointer<Float>, count n: Int, training: Bool = true) {
        output.resize(n)
        masked = training && p > 0
        guard masked else { output.pointer.update(from: x, count: n); return }
        mask.resize(n)
        let keep = 1 / (1 - p)
        let mk = mask.pointer, y = output.pointer
        for i in 0..<n {
            mk[i] = rng.nextUniform() < p ? 0 : keep
            y[i] = x[i] * mk[i]
        }
    }

    /// `dout (n)` -> `inputGrad (n) = dout * mask`.
    public func backward(_ dout: UnsafePointer<Float>) {
        let n = output.count
        inputGrad.resize(n)
        if masked { let mk = mask.pointer, dx = inputGrad.pointer; for i in 0..<n { dx[i] = dout[i] * mk[i] } }
        else { inputGrad.pointer.update(from: dout, count: n) }
    }
}
