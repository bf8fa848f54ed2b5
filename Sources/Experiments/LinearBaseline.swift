import Foundation
import SERCore

/// The simple baseline: multinomial logistic regression on utterance statistics
/// (per-channel mean and standard deviation over frames of the fused features).
///
/// Inputs are standardised with statistics of the training set; the L2 strength is chosen on the
/// validation set from a small grid. Trained full-batch with Adam; deterministic.
public struct LinearBaseline: Sendable {
    /// Weights `(K, D)` and bias `(K)`.
    public private(set) var weight: [Float], bias: [Float]
    /// Feature standardisation of the `D` inputs.
    public private(set) var mean: [Float], std: [Float]
    /// Number of classes K and inputs D.
    public let classes: Int, inputs: Int
    /// The L2 strength chosen on validation data.
    public private(set) var l2: Float
    /// Validation accuracy at that L2 (what model and setting choices may use; never test data).
    public private(set) var validationAccuracy: Double = 0

    /// Utterance statistics of a `[C, T]` feature matrix: `[mean_0..mean_C-1, std_0..std_C-1]`.
    public static func statistics(_ x: Tensor) -> [Float] {
        let c = x.shape[0], t = max(1, x.shape[1])
        var out = [Float](repeating: 0, count: 2 * c)
        for ch in 0..<c {
            var s = 0.0, q = 0.0
            for j in 0..<x.shape[1] { let v = Double(x.data[ch * x.shape[1] + j]); s += v; q += v * v }
            let m = s / Double(t)
            out[ch] = Float(m)
            out[c + ch] = Float(max(0, q / Double(t) - m * m).squareRoot())
        }
        return out
    }

    /// Fits on training data, choosing L2 from `grid` by validation accuracy.
    public init(train: [Tensor], trainLabels: [Int], validation: [Tensor], validationLabels: [Int],
                classes: Int, grid: [Float] = [1e-4, 1e-3, 1e-2, 1e-1], iterations: Int = 400) {
        let xtr = train.map(Self.statistics), xva = validation.map(Self.statistics)
        let d = xtr.first?.count ?? 0
        var mean = [Float](repeating: 0, count: d), std = [Float](repeating: 0, count: d)
        for j in 0..<d {
            let col = xtr.map { Double($0[j]) }
            let m = col.reduce(0, +) / Double(max(1, col.count))
            let v = col.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(1, col.count))
            mean[j] = Float(m); std[j] = Float(max(v.squareRoot(), 1e-6))
        }
        let a = Self.standardise(xtr, mean: mean, std: std), av = Self.standardise(xva, mean: mean, std: std)
        var best: (acc: Double, w: [Float], b: [Float], l2: Float)? = nil
        for l2 in grid {
            let (w, b) = Self.fit(a, rows: xtr.count, d: d, labels: trainLabels, classes: classes, l2: l2, iterations: iterations)
            let pred = Self.predict(av, rows: xva.count, d: d, w: w, b: b, classes: classes)
            let acc = Double(zip(pred, validationLabels).filter { $0 == $1 }.count) / Double(max(1, xva.count))
            if best == nil || acc > best!.acc { best = (acc, w, b, l2) }
        }
        self.weight = best?.w ?? []; self.bias = best?.b ?? []; self.l2 = best?.l2 ?? 0
        self.validationAccuracy = best?.acc ?? 0
        self.mean = mean; self.std = std; self.classes = classes; self.inputs = d
    }

    /// Predicted class of each feature matrix.
    public func predict(_ xs: [Tensor]) -> [Int] {
        let a = Self.standardise(xs.map(Self.statistics), mean: mean, std: std)
        return Self.predict(a, rows: xs.count, d: inputs, w: weight, b: bias, classes: classes)
    }

    /// Rows standardised with `mean`/`std`, packed row-major `(rows, D)`.
    static func standardise(_ rows: [[Float]], mean: [Float], std: [Float]) -> [Float] {
        let d = mean.count
        var out = [Float](repeating: 0, count: rows.count * d)
        for (i, r) in rows.enumerated() { for j in 0..<d { out[i * d + j] = (r[j] - mean[j]) / std[j] } }
        return out
    }

    static func logits(_ a: [Float], rows n: Int, d: Int, w: [Float], b: [Float], classes k: Int) -> [Float] {
        var z = [Float](repeating: 0, count: n * k)
        for i in 0..<n { for c in 0..<k { z[i * k + c] = b[c] } }
        BLAS.gemm(transB: true, m: n, n: k, k: d, a: a, lda: d, b: w, ldb: d, beta: 1, c: &z, ldc: k)
        return z
    }

    static func predict(_ a: [Float], rows n: Int, d: Int, w: [Float], b: [Float], classes k: Int) -> [Int] {
        let z = logits(a, rows: n, d: d, w: w, b: b, classes: k)
        return (0..<n).map { i in (0..<k).max { z[i * k + $0] < z[i * k + $1] } ?? 0 }
    }

    /// Full-batch Adam on the mean cross-entropy + l2/2 |W|^2.
    static func fit(_ a: [Float], rows n: Int, d: Int, labels: [Int], classes k: Int, l2: Float, iterations: Int) -> ([Float], [Float]) {
        var w = [Float](repeating: 0, count: k * d), b = [Float](repeating: 0, count: k)
        var mw = w, vw = w, mb = b, vb = b
        let lr: Float = 0.05, b1: Float = 0.9, b2: Float = 0.999
        for step in 1...max(1, iterations) {
            var z = logits(a, rows: n, d: d, w: w, b: b, classes: k)
            for i in 0..<n {   // z <- (softmax(z) - onehot) / n
                let row = i * k
                var m = -Float.infinity
                for c in 0..<k { m = max(m, z[row + c]) }
                var s: Float = 0
                for c in 0..<k { z[row + c] = exp(z[row + c] - m); s += z[row + c] }
                for c in 0..<k { z[row + c] = (z[row + c] / s - (c == labels[i] ? 1 : 0)) / Float(n) }
            }
            var gw = [Float](repeating: 0, count: k * d)
            BLAS.gemm(transA: true, m: k, n: d, k: n, a: z, lda: k, b: a, ldb: d, c: &gw, ldc: d)
            var gb = [Float](repeating: 0, count: k)
            for i in 0..<n { for c in 0..<k { gb[c] += z[i * k + c] } }
            for j in 0..<(k * d) { gw[j] += l2 * w[j] }
            let c1 = 1 - pow(b1, Float(step)), c2 = 1 - pow(b2, Float(step))
            for j in 0..<(k * d) {
                mw[j] = b1 * mw[j] + (1 - b1) * gw[j]; vw[j] = b2 * vw[j] + (1 - b2) * gw[j] * gw[j]
                w[j] -= lr * (mw[j] / c1) / ((vw[j] / c2).squareRoot() + 1e-8)
            }
            for c in 0..<k {
                mb[c] = b1 * mb[c] + (1 - b1) * gb[c]; vb[c] = b2 * vb[c] + (1 - b2) * gb[c] * gb[c]
                b[c] -= lr * (mb[c] / c1) / ((vb[c] / c2).squareRoot() + 1e-8)
            }
        }
        return (w, b)
    }
}
