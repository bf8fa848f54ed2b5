import SERCore

/// Adam with coupled L2 regularisation, step for step the update of
/// `torch.optim.Adam(params, lr, betas, eps, weight_decay)`:
///
/// ```
/// g = grad + weightDecay * w
/// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
/// w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
/// ```
///
/// The decay is added to the gradient (classic L2, as the paper's "regularization coefficient"
/// reads and as the PyTorch reference uses) rather than decoupled (AdamW), so the loss being
/// minimised is the cross-entropy plus `weightDecay / 2 * |w|^2` and parity with PyTorch is exact.
public final class Adam {
    /// The parameters updated.
    public let parameters: [Parameter]
    /// Learning rate.
    public var learningRate: Float
    /// Decay of the first moment.
    public let beta1: Float
    /// Decay of the second moment.
    public let beta2: Float
    /// Added to the denominator.
    public let epsilon: Float
    /// L2 coefficient added to the gradient.
    public var weightDecay: Float
    /// Factor on ``learningRate`` for each parameter (same order as ``parameters``; default 1):
    /// PyTorch's parameter groups with their own `lr`.
    public var learningRateScale: [Float]
    /// Whether ``weightDecay`` applies to each parameter (default true): a group with
    /// `weight_decay=0` in PyTorch.
    public var decays: [Bool]
    /// Steps taken.
    public private(set) var step = 0
    private let m: [FloatBuffer], v: [FloatBuffer]

    /// An optimiser with the paper's settings as defaults (lr 1e-4, L2 1e-3).
    public init(parameters: [Parameter], learningRate: Float = 1e-4, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 1e-3) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        learningRateScale = [Float](repeating: 1, count: parameters.count)
        decays = [Bool](repeating: true, count: parameters.count)
        m = parameters.map { let b = FloatBuffer(); b.resizeZeroed($0.count); return b }
        v = parameters.map { let b = FloatBuffer(); b.resizeZeroed($0.count); return b }
    }

    /// Applies one update from the current gradients.
    ///
    /// One pass per parameter tensor, 8 elements at a time (`SIMD8`), then a scalar tail; every lane
    /// does the scalar formula's operations in the same order, so the result does not depend on the
    /// split (the loop over four possibly aliasing pointers was not vectorised by the compiler).
    public func update() {
        step += 1
        let bc1 = 1 - pow(beta1, Float(step)), bc2 = 1 - pow(beta2, Float(step))
        let stepSize = learningRate / bc1, bc2Sqrt = bc2.squareRoot()
        let (c1, c2) = (1 - beta1, 1 - beta2)
        for (n, p) in parameters.enumerated() {
            let mm = m[n].pointer, vv = v[n].pointer, w = p.value, g = p.grad
            let wd = decays[n] ? weightDecay : 0
            let step = learningRateScale[n] == 1 ? stepSize : learningRate * learningRateScale[n] / bc1
            // m (count), v (count), w (count), g (count) as raw memory for unaligned 8-wide access.
            let rm = UnsafeMutableRawPointer(mm), rv = UnsafeMutableRawPointer(vv)
            let rw = UnsafeMutableRawPointer(w), rg = UnsafeRawPointer(g)
            let (b1, b2, c18, c28) = (SIMD8<Float>(repeating: beta1), SIMD8<Float>(repeating: beta2),
                                      SIMD8<Float>(repeating: c1), SIMD8<Float>(repeating: c2))
            let (wd8, st8) = (SIMD8<Float>(repeating: wd), SIMD8<Float>(repeating: step))
            let (bc8, eps8) = (SIMD8<Float>(repeating: bc2Sqrt), SIMD8<Float>(repeating: epsilon))
            var i = 0
            while i + 8 <= p.count {
                let o = 4 * i
                let wi = rw.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                let gi = rg.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) + wd8 * wi
                let mi = b1 * rm.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) + c18 * gi
                let vi = b2 * rv.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) + c28 * gi * gi
                rm.storeBytes(of: mi, toByteOffset: o, as: SIMD8<Float>.self)
                rv.storeBytes(of: vi, toByteOffset: o, as: SIMD8<Float>.self)
                rw.storeBytes(of: wi - st8 * mi / (vi.squareRoot() / bc8 + eps8), toByteOffset: o, as: SIMD8<Float>.self)
                i += 8
            }
            while i < p.count {
                let gi = g[i] + wd * w[i]
                mm[i] = beta1 * mm[i] + c1 * gi
                vv[i] = beta2 * vv[i] + c2 * gi * gi
                w[i] -= step * mm[i] / (vv[i].squareRoot() / bc2Sqrt + epsilon)
                i += 1
            }
            p.markChanged()
        }
    }

    /// The moment estimates as named tensors (`m.<parameter>`, `v.<parameter>`), for checkpoints.
    public func momentState() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (n, p) in parameters.enumerated() {
            out["m." + p.name] = Tensor(shape: p.shape, data: Array(UnsafeBufferPointer(start: m[n].pointer, count: p.count)))
            out["v." + p.name] = Tensor(shape: p.shape, data: Array(UnsafeBufferPointer(start: v[n].pointer, count: p.count)))
        }
        return out
    }

    /// Restores moment estimates and the step count saved by `momentState()`; returns false (and
    /// changes nothing) when a tensor is missing or has the wrong size.
    @discardableResult
    public func restore(momentState state: [String: Tensor], step: Int) -> Bool {
        for p in parameters {
            guard state["m." + p.name]?.count == p.count, state["v." + p.name]?.count == p.count else { return false }
        }
        for (n, p) in parameters.enumerated() {
            state["m." + p.name]!.data.withUnsafeBufferPointer { m[n].pointer.update(from: $0.baseAddress!, count: p.count) }
            state["v." + p.name]!.data.withUnsafeBufferPointer { v[n].pointer.update(from: $0.baseAddress!, count: p.count) }
        }
        self.step = step
        return true
    }

    /// Scales all gradients so that their global L2 norm is at most `maxNorm`, as
    /// `torch.nn.utils.clip_grad_norm_`; returns the norm before clipping.
    @discardableResult
    public static func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
        var sq: Double = 0
        for p in parameters { for i in 0..<p.count { sq += Double(p.grad[i]) * Double(p.grad[i]) } }
        let norm = Float(sq.squareRoot())
        let coef = maxNorm / (norm + 1e-6)
        if coef < 1 { for p in parameters { for i in 0..<p.count { p.grad[i] *= coef } } }
        return norm
    }
}

@inline(__always) private func pow(_ x: Float, _ y: Float) -> Float {
    var r: Float = 1
    for _ in 0..<Int(y) { r *= x }
    return r
}
