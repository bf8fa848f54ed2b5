/// Softmax followed by cross-entropy against integer labels, with optional class weights.
///
/// Loss = `sum_b w[y_b] * -log softmax(z_b)[y_b] / sum_b w[y_b]` — PyTorch's
/// `F.cross_entropy(z, y, weight=w)` with `reduction="mean"` (a plain mean when `w` is nil).
public final class SoftmaxCrossEntropy {
    /// Number of classes K.
    public let classes: Int
    /// Per-class weights (nil: all 1).
    public var classWeights: [Float]?
    /// Cache: softmax probabilities `(B, K)`.
    public let probabilities = FloatBuffer()
    /// Gradient with respect to the logits `(B, K)` (after `backward`).
    public let inputGrad = FloatBuffer()
    private var labels: [Int] = []
    private var weightSum: Float = 1

    /// A loss over `classes` classes.
    public init(classes: Int, classWeights: [Float]? = nil) {
        precondition(classWeights == nil || classWeights!.count == classes, "SoftmaxCrossEntropy: \(classWeights!.count) weights for \(classes) classes")
        self.classes = classes
        self.classWeights = classWeights
    }

    /// Row-wise softmax of `logits (B, K)` into `out (B, K)` (numerically stable).
    public static func softmax(_ logits: UnsafePointer<Float>, rows: Int, classes K: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<rows {
            let z = logits + b * K, p = out + b * K
            var m = z[0]
            for k in 1..<K where z[k] > m { m = z[k] }
            var s: Float = 0
            for k in 0..<K { p[k] = expF(z[k] - m); s += p[k] }
            for k in 0..<K { p[k] /= s }
        }
    }

    /// `logits (B, K)`, `labels (B)` -> the loss. Labels must be in `0..<K`.
    public func forward(_ logits: UnsafePointer<Float>, labels: [Int]) -> Float {
        let (B, K) = (labels.count, classes)
        precondition(labels.allSatisfy { $0 >= 0 && $0 < K }, "SoftmaxCrossEntropy: label outside 0..<\(K)")
        self.labels = labels
        probabilities.resize(B * K)
        Self.softmax(logits, rows: B, classes: K, into: probabilities.pointer)
        var loss: Double = 0, wsum: Double = 0
        for b in 0..<B {
            let z = logits + b * K
            var m = z[0]
            for k in 1..<K where z[k] > m { m = z[k] }
            var s: Float = 0
            for k in 0..<K { s += expF(z[k] - m) }
            let w = Double(classWeights?[labels[b]] ?? 1)
            loss += w * Double(m + logF(s) - z[labels[b]])
            wsum += w
        }
        weightSum = Float(wsum)
        return Float(loss / wsum)
    }

    /// Writes `inputGrad (B, K) = w[y_b] * (p_b - onehot(y_b)) / sum w` (times `scale`).
    public func backward(scale: Float = 1) {
        let (B, K) = (labels.count, classes)
        inputGrad.resize(B * K)
        for b in 0..<B {
            let w = (classWeights?[labels[b]] ?? 1) * scale / weightSum
            for k in 0..<K { inputGrad[b * K + k] = w * (probabilities[b * K + k] - (k == labels[b] ? 1 : 0)) }
        }
    }
}
