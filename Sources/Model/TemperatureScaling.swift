import Foundation

/// Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks"): one scalar
/// `T > 0` divides every logit before the softmax, `p = softmax(z / T)`. `T > 1` softens
/// over-confident probabilities, `T < 1` sharpens them; the most probable class never changes,
/// so accuracy is unaffected.
///
/// `T` is chosen to minimise the mean negative log-likelihood of the true classes on held-out
/// (validation) clips. With `β = 1/T` the NLL is `mean(logsumexp(β z) − β z_y)`, convex in `β`,
/// so it has one minimum along `u = log T` as well; a golden-section search on `u` over
/// ``range`` finds it deterministically (no random start, no step size). When the data are
/// separated perfectly the NLL keeps falling as `T → 0` and the search stops at the range's end.
public enum TemperatureScaling {
    /// The temperatures searched: `[0.01, 100]`.
    public static let range: ClosedRange<Double> = 0.01...100

    /// Mean negative log-likelihood (natural log) of `labels` under `softmax(logits / T)`.
    ///
    /// - Parameters:
    ///   - logits: `(N, K)` row-major, one row per clip.
    ///   - labels: `(N)` true class of each row, in `0..<K`.
    ///   - classes: `K`.
    public static func negativeLogLikelihood(logits: [Float], labels: [Int], classes K: Int, temperature T: Double) -> Double {
        let n = labels.count
        guard n > 0, K > 0 else { return 0 }
        let beta = 1 / T
        var sum = 0.0
        for i in 0..<n {
            let row = i * K
            var m = -Double.infinity
            for k in 0..<K { m = max(m, beta * Double(logits[row + k])) }
            var s = 0.0
            for k in 0..<K { s += Foundation.exp(beta * Double(logits[row + k]) - m) }
            sum += m + Foundation.log(s) - beta * Double(logits[row + labels[i]])
        }
        return sum / Double(n)
    }

    /// The temperature minimising ``negativeLogLikelihood(logits:labels:classes:temperature:)``
    /// within ``range`` (1 when there are no clips).
    ///
    /// - Parameters:
    ///   - logits: `(N, K)` row-major.
    ///   - labels: `(N)` class indices in `0..<K`.
    ///   - classes: `K`.
    ///   - tolerance: width of the final bracket on `log T` (default 1e-6).
    public static func fit(logits: [Float], labels: [Int], classes K: Int, tolerance: Double = 1e-6) -> Double {
        precondition(logits.count == labels.count * K, "TemperatureScaling.fit: \(logits.count) logits for \(labels.count) rows of \(K)")
        precondition(labels.allSatisfy { (0..<K).contains($0) }, "TemperatureScaling.fit: label outside 0..<\(K)")
        guard !labels.isEmpty else { return 1 }
        func f(_ u: Double) -> Double { negativeLogLikelihood(logits: logits, labels: labels, classes: K, temperature: Foundation.exp(u)) }
        let g = (5.0.squareRoot() - 1) / 2                       // 0.618…
        var a = Foundation.log(range.lowerBound), b = Foundation.log(range.upperBound)
        var c = b - g * (b - a), d = a + g * (b - a)
        var fc = f(c), fd = f(d)
        while b - a > tolerance {
            if fc <= fd { b = d; d = c; fd = fc; c = b - g * (b - a); fc = f(c) }
            else { a = c; c = d; fc = fd; d = a + g * (b - a); fd = f(d) }
        }
        // The ends are candidates too (monotone NLL on separable data).
        let u = (a + b) / 2
        let candidates = [(u, f(u)), (Foundation.log(range.lowerBound), f(Foundation.log(range.lowerBound))),
                          (Foundation.log(range.upperBound), f(Foundation.log(range.upperBound)))]
        let best = candidates.min { $0.1 < $1.1 }!
        return Foundation.exp(best.0)
    }

    /// `softmax(logits / T)` row by row: `(N, K)` probabilities for `(N, K)` logits.
    public static func probabilities(logits: [Float], classes K: Int, temperature T: Double) -> [Float] {
        precondition(K > 0 && logits.count % K == 0, "TemperatureScaling.probabilities: \(logits.count) logits for \(K) classes")
        var out = [Float](repeating: 0, count: logits.count)
        let beta = 1 / T
        for row in stride(from: 0, to: logits.count, by: K) {
            var m = -Double.infinity
            for k in 0..<K { m = max(m, beta * Double(logits[row + k])) }
            var s = 0.0
            for k in 0..<K { s += Foundation.exp(beta * Double(logits[row + k]) - m) }
            for k in 0..<K { out[row + k] = Float(Foundation.exp(beta * Double(logits[row + k]) - m) / s) }
        }
        return out
    }
}
