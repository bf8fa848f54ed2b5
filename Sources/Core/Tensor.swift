/// A dense, row-major array of `Float` with a shape.
///
/// The one container that crosses module boundaries: features, network activations and
/// model weights are all `Tensor`s. It is a value type; copies are cheap until written.
///
/// ```swift
/// var t = Tensor(shape: [2, 3])
/// t[1, 2] = 5
/// ```
public struct Tensor: Sendable, Equatable {
    /// Sizes of the dimensions, outermost first.
    public var shape: [Int]
    /// The elements in row-major order; `data.count == shape.reduce(1, *)`.
    public var data: [Float]

    /// A tensor of zeros.
    public init(shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor over existing data. `data.count` must equal the product of `shape`.
    public init(shape: [Int], data: [Float]) {
        precondition(data.count == shape.reduce(1, *), "Tensor: \(data.count) elements do not fill shape \(shape)")
        self.shape = shape
        self.data = data
    }

    /// Number of elements.
    public var count: Int { data.count }

    /// True when no element is NaN or infinite.
    public var isFinite: Bool { data.allSatisfy(\.isFinite) }

    /// Element of a 2-D tensor.
    public subscript(i: Int, j: Int) -> Float {
        get { data[i * shape[1] + j] }
        set { data[i * shape[1] + j] = newValue }
    }

    /// Largest absolute element (0 for an empty tensor).
    public var maxAbs: Float { data.reduce(0) { Swift.max($0, abs($1)) } }
}
