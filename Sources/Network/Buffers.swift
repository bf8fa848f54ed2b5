// Storage shared by the layers: growable scratch buffers, trainable parameters, sequence layouts.
//
// Conventions used by every layer in this module (llm.c style):
// - activations are row-major `(B, T, C)`: batch, time, channels; sequence `b` is valid for
//   `t < lengths[b]`, and every layer writes exact zeros at padded positions `t >= lengths[b]`;
// - a layer owns its output buffer `output` and its input-gradient buffer `inputGrad`, reused
//   across calls (they only grow), so a steady training loop allocates nothing;
// - `forward(..., training: true)` keeps what `backward` needs in explicitly named caches;
//   `training: false` keeps nothing beyond per-call scratch;
// - `backward` *accumulates* parameter gradients into `Parameter.grad` (call `zeroGrad` first) and
//   *overwrites* `inputGrad`.
import SERCore

/// A growable block of elements with a stable address between resizes, reused across calls.
///
/// Contents are kept only while the size does not grow; `resize` never shrinks the allocation.
public final class Buffer<Element: BitwiseCopyable> {
    /// Start of the storage (valid for `capacity` elements).
    public private(set) var pointer: UnsafeMutablePointer<Element>
    /// Allocated elements.
    public private(set) var capacity: Int
    /// Elements in use.
    public private(set) var count: Int = 0

    /// An empty buffer.
    public init() {
        capacity = 0
        pointer = UnsafeMutablePointer<Element>.allocate(capacity: 1)
    }

    deinit { pointer.deallocate() }

    /// Sets the size to `n`, growing the allocation when needed; with `zero` the first `n`
    /// elements are set to `zeroValue`.
    public func resize(_ n: Int, zeroValue: Element? = nil) {
        precondition(n >= 0)
        if n > capacity {
            pointer.deallocate()
            pointer = UnsafeMutablePointer<Element>.allocate(capacity: max(n, 1))
            capacity = n
        }
        count = n
        if let z = zeroValue { pointer.update(repeating: z, count: n) }
    }

    /// Element `i`.
    public subscript(i: Int) -> Element {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// A copy of the elements in use.
    public var array: [Element] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// Growable `Float` storage.
public typealias FloatBuffer = Buffer<Float>

extension Buffer where Element == Float {
    /// Resizes to `n` and fills with zeros.
    public func resizeZeroed(_ n: Int) { resize(n, zeroValue: 0) }
}

/// A trainable tensor: values, the gradient accumulated by `backward`, a PyTorch-style name and shape.
///
/// A reference type so that layers, the optimiser and the checkpoint code all see the same storage.
public final class Parameter {
    /// Name in the PyTorch `state_dict` (e.g. `cfe.weight_ih_l0`).
    public let name: String
    /// Shape, outermost first (PyTorch layout).
    public let shape: [Int]
    /// Number of elements.
    public let count: Int
    /// Values, row-major. Code that writes them through this pointer, other than the optimiser
    /// and this class's methods, must call ``markChanged()`` before the next inference forward:
    /// layers cache values derived from the weights for inference (``Conv1D``'s permuted kernel)
    /// and rebuild them when ``version`` moves. (Training forwards never use such caches.)
    public let value: UnsafeMutablePointer<Float>
    /// Gradient of the loss with respect to `value`, accumulated by the layers' `backward`.
    public let grad: UnsafeMutablePointer<Float>

    /// Changes with every write of ``value`` by ``load(_:)``, ``fill(_:)``, ``initUniform(bound:rng:)``,
    /// `Adam.update()`, `WeightAverage.swap()` and ``markChanged()``.
    public private(set) var version: UInt64 = 0

    /// Records that ``value`` was written (see ``value``).
    public func markChanged() { version &+= 1 }

    /// A zero-filled parameter.
    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
        count = shape.reduce(1, *)
        value = .allocate(capacity: max(count, 1))
        grad = .allocate(capacity: max(count, 1))
        value.initialize(repeating: 0, count: count)
        grad.initialize(repeating: 0, count: count)
    }

    deinit { value.deallocate(); grad.deallocate() }

    /// Sets the gradient to zero.
    public func zeroGrad() { grad.update(repeating: 0, count: count) }

    /// The values as a `Tensor`.
    public var tensor: Tensor { Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: value, count: count))) }

    /// The gradient as a `Tensor`.
    public var gradTensor: Tensor { Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: grad, count: count))) }

    /// Copies values in; `values.count` must equal `count`.
    public func load(_ values: [Float]) {
        precondition(values.count == count, "Parameter \(name): \(values.count) values for \(count) elements")
        values.withUnsafeBufferPointer { value.update(from: $0.baseAddress!, count: count) }
        markChanged()
    }

    /// Fills with samples of U(-bound, bound) (PyTorch's `uniform_`).
    public func initUniform(bound: Float, rng: inout SeededRandom) {
        for i in 0..<count { value[i] = rng.uniform(-bound, bound) }
        markChanged()
    }

    /// Fills with a constant.
    public func fill(_ v: Float) { value.update(repeating: v, count: count); markChanged() }
}

/// Batch size, padded length and valid lengths of a batch of sequences in `(B, T, C)` layout.
public struct SequenceLayout: Sendable, Equatable {
    /// Number of sequences B.
    public var batch: Int
    /// Padded length T (>= every length).
    public var time: Int
    /// Valid length of each sequence (each in 1...T).
    public var lengths: [Int]

    /// A layout; lengths must be in `1...time`.
    public init(time: Int, lengths: [Int]) {
        precondition(!lengths.isEmpty, "SequenceLayout: empty batch")
        precondition(lengths.allSatisfy { $0 >= 1 && $0 <= time }, "SequenceLayout: lengths \(lengths) not in 1...\(time)")
        self.batch = lengths.count
        self.time = time
        self.lengths = lengths
    }

    /// Rows `B * T` of a `(B, T, C)` activation.
    public var rows: Int { batch * time }

    /// Sum of the valid lengths (number of valid rows).
    public var validRows: Int { lengths.reduce(0, +) }

    /// Longest valid length.
    public var maxLength: Int { lengths.max() ?? 0 }
}
