/// Rectified linear unit, elementwise: `y = max(0, x)`.
public final class ReLU {
    /// Output, same shape as the input.
    public let output = FloatBuffer()
    /// Gradient with respect to the input (after `backward`).
    public let inputGrad = FloatBuffer()

    /// A ReLU.
    public init() {}

    /// `x (n)` -> `output (n)`. Backward reads the cached `output` (the mask is `output > 0`).
    public func forward(_ x: UnsafePointer<Float>, count n: Int) {
        output.resize(n)
        let y = output.pointer
        for i in 0..<n { y[i] = max(x[i], 0) }
    }

    /// `dout (n)` -> `inputGrad (n) = dout * (output > 0)`.
    public func backward(_ dout: UnsafePointer<Float>) {
        let n = output.count
        inputGrad.resize(n)
        let y = output.pointer, dx = inputGrad.pointer
        for i in 0..<n { dx[i] = y[i] > 0 ? dout[i] : 0 }
    }
}
