import SERCore

/// Fully connected layer `y = x W^T + b` on `(N, in)` rows (the paper's eq. 7 before the softmax).
///
/// Parameters (PyTorch `nn.Linear` layout): `weight (out, in)`, `bias (out)`, both initialised
/// U(-1/sqrt(in), 1/sqrt(in)) as PyTorch does.
public final class Dense {
    /// Input features.
    public let inFeatures: Int
    /// Output features.
    public let outFeatures: Int
    /// `weight (out, in)`.
    public let weight: Parameter
    /// `bias (out)`.
    public let bias: Parameter
    /// Output `(N, out)`.
    public let output = FloatBuffer()
    /// Gradient with respect to the input `(N, in)` (after `backward`).
    public let inputGrad = FloatBuffer()

    private var rows = 0
    /// Cache: the input `(N, in)`.
    private let x = FloatBuffer()

    /// A layer with PyTorch's default initialisation drawn from `rng`; `name` prefixes the parameter names.
    public init(name: String, inFeatures: Int, outFeatures: Int, rng: inout SeededRandom) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(name: "\(name).weight", shape: [outFeatures, inFeatures])
        bias = Parameter(name: "\(name).bias", shape: [outFeatures])
        let bound = 1 / Float(inFeatures).squareRoot()
        weight.initUniform(bound: bound, rng: &rng)
        bias.initUniform(bound: bound, rng: &rng)
    }

    /// Parameters in `state_dict` order.
    public var parameters: [Parameter] { [weight, bias] }

    /// `x (N, in)` -> `output (N, out)`.
    public func forward(_ input: UnsafePointer<Float>, rows n: Int, training: Bool = true) {
        rows = n
        let (I, O) = (inFeatures, outFeatures)
        if training { x.resize(n * I); x.pointer.update(from: input, count: n * I) }
        output.resize(n * O)
        // output (N, out) = x (N, in) @ W^T (in, out)
        BLAS.gemm(transB: true, m: n, n: O, k: I, a: input, lda: I, b: weight.value, ldb: I,
                  c: output.pointer, ldc: O)
        let y = output.pointer, bv = bias.value
        for r in 0..<n { for o in 0..<O { y[r * O + o] += bv[o] } }
    }

    /// `dout (N, out)` -> accumulates `weight.grad`, `bias.grad`; writes `inputGrad (N, in)`.
    public func backward(_ dout: UnsafePointer<Float>) {
        let (n, I, O) = (rows, inFeatures, outFeatures)
        // dW (out, in) += dout^T (out, N) @ x (N, in)
        BLAS.gemm(transA: true, m: O, n: I, k: n, a: dout, lda: O, b: x.pointer, ldb: I,
                  beta: 1, c: weight.grad, ldc: I)
        let bg = bias.grad
        for r in 0..<n { for o in 0..<O { bg[o] += dout[r * O + o] } }
        // dx (N, in) = dout (N, out) @ W (out, in)
        inputGrad.resize(n * I)
        BLAS.gemm(m: n, n: I, k: O, a: dout, lda: O, b: weight.value, ldb: I, c: inputGrad.pointer, ldc: I)
    }
}
