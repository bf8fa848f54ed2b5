import XCTest
import SERCore
@testable import SERNetwork

/// A tensor whose gradient is checked: its storage, size, and the analytic gradient to compare.
struct Checked {
    let name: String
    let value: UnsafeMutablePointer<Float>
    let count: Int
    let analytic: () -> [Float]
}

/// Central finite differences in Float against the analytic gradients of `loss = sum(out * R)`.
///
/// `run` performs a forward pass and returns the output; the loss is accumulated in Double.
/// For each checked tensor up to `samples` random entries are perturbed by `eps`.
func gradientCheck(_ label: String, tensors: [Checked], eps: Float = 1e-2, samples: Int = 24,
                   rtol: Double = 2e-2, atolFraction: Double = 2e-3, seed: UInt64 = 7,
                   run: () -> [Float], backward: ([Float]) -> Void,
                   file: StaticString = #filePath, line: UInt = #line) {
    var rng = SeededRandom(seed: seed)
    let out0 = run()
    let r = (0..<out0.count).map { _ in rng.uniform(-1, 1) }
    func loss() -> Double { zip(run(), r).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
    backward(r)
    let grads = tensors.map { $0.analytic() }
    var checked = 0
    for (t, g) in zip(tensors, grads) {
        XCTAssertEqual(g.count, t.count, "\(label) \(t.name): gradient size", file: file, line: line)
        let scale = Double(g.map { abs($0) }.max() ?? 0)
        let idx = t.count <= samples ? Array(0..<t.count) : (0..<samples).map { _ in Int(rng.next() % UInt64(t.count)) }
        for i in idx {
            let v = t.value[i]
            t.value[i] = v + eps; let lp = loss()
            t.value[i] = v - eps; let lm = loss()
            t.value[i] = v
            let num = (lp - lm) / Double(2 * eps), ana = Double(g[i])
            let tol = atolFraction * max(scale, 1e-3) + rtol * max(abs(num), abs(ana))
            XCTAssertLessThanOrEqual(abs(num - ana), tol, "\(label) \(t.name)[\(i)]: numeric \(num) vs analytic \(ana)", file: file, line: line)
            checked += 1
        }
        XCTAssertTrue(g.allSatisfy { $0.isFinite }, "\(label) \(t.name): non-finite gradient", file: file, line: line)
    }
    XCTAssertGreaterThan(checked, 0, file: file, line: line)
}

/// A `FloatBuffer` filled with U(-a, a).
func randomBuffer(_ n: Int, _ rng: inout SeededRandom, amplitude a: Float = 1) -> FloatBuffer {
    let b = FloatBuffer()
    b.resize(n)
    for i in 0..<n { b[i] = rng.uniform(-a, a) }
    return b
}

/// Zeroes padded rows of a `(B, T, C)` buffer (inputs obey the padding contract).
func zeroPad(_ b: FloatBuffer, _ l: SequenceLayout, _ c: Int) {
    for s in 0..<l.batch { for t in l.lengths[s]..<l.time { for k in 0..<c { b[(s * l.time + t) * c + k] = 0 } } }
}

extension Parameter {
    /// This parameter as a checked tensor.
    var checked: Checked { Checked(name: name, value: value, count: count, analytic: { Array(UnsafeBufferPointer(start: self.grad, count: self.count)) }) }
}

extension FloatBuffer {
    /// A buffer as a checked tensor whose analytic gradient is `grad`'s contents.
    func checked(_ name: String, grad: FloatBuffer) -> Checked {
        Checked(name: name, value: pointer, count: count, analytic: { grad.array })
    }
}
