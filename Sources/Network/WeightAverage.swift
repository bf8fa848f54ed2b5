import SERCore

/// An exponential moving average of parameters ("EMA of weights", Polyak averaging), the
/// `tf.train.ExponentialMovingAverage(decay, num_updates)` rule:
///
/// ```
/// d = min(decay, (1 + n) / (10 + n))      // n = updates so far; a short average early on
/// shadow = d * shadow + (1 - d) * w
/// ```
///
/// The shadow starts as a copy of the weights. `swap()` exchanges the live weights and the
/// shadow in place (no allocation), so a model is evaluated or saved with averaged weights
/// and then swapped back to continue training.
public final class WeightAverage {
    /// The parameters averaged.
    public let parameters: [Parameter]
    /// Largest decay per update.
    public let decay: Float
    /// Updates so far.
    public private(set) var updates = 0
    private let shadow: [FloatBuffer]   // one per parameter, same count

    /// Starts the average at the parameters' current values.
    public init(parameters: [Parameter], decay: Float) {
        self.parameters = parameters
        self.decay = decay
        shadow = parameters.map { p in
            let b = FloatBuffer(); b.resizeZeroed(p.count)
            b.pointer.update(from: p.value, count: p.count)
            return b
        }
    }

    /// The decay used by the next update.
    public var currentDecay: Float { min(decay, Float(1 + updates) / Float(10 + updates)) }

    /// Folds the current weights into the average (call after each optimiser step).
    public func update() {
        let d = currentDecay
        for (n, p) in parameters.enumerated() {
            let s = shadow[n].pointer, w = p.value
            for i in 0..<p.count { s[i] = d * s[i] + (1 - d) * w[i] }
        }
        updates += 1
    }

    /// Exchanges the live weights and the average. Call twice to restore.
    public func swap() {
        for (n, p) in parameters.enumerated() {
            let s = shadow[n].pointer, w = p.value
            for i in 0..<p.count { let t = w[i]; w[i] = s[i]; s[i] = t }
            p.markChanged()
        }
    }

    /// The average as named tensors (`<parameter>`), for checkpoints.
    public func state() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (n, p) in parameters.enumerated() {
            out[p.name] = Tensor(shape: p.shape, data: Array(UnsafeBufferPointer(start: shadow[n].pointer, count: p.count)))
        }
        return out
    }

    /// Restores an average saved by `state()` and its update count; returns false (and changes
    /// nothing) when a tensor is missing or has the wrong size.
    @discardableResult
    public func restore(state: [String: Tensor], updates: Int) -> Bool {
        for p in parameters where state[p.name]?.count != p.count { return false }
        for (n, p) in parameters.enumerated() {
            state[p.name]!.data.withUnsafeBufferPointer { shadow[n].pointer.update(from: $0.baseAddress!, count: p.count) }
        }
        self.updates = updates
        return true
    }
}
