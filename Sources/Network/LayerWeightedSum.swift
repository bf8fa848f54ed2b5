import Foundation
import SERCore

/// A learned convex combination of a pretrained encoder's hidden states (the SUPERB "weighted
/// sum of layers"), applied to one group of columns of each row and passing the others through:
///
/// ```
/// x (N, C)  with C = offset + L*D + rest;  columns offset + l*D + d hold layer l, channel d
/// a = softmax(w)                                     w (L), a (L)
/// y[:, offset + d] = sum_l a[l] * x[:, offset + l*D + d]                  d < D
/// y (N, C - (L-1)*D): columns before and after the group are copied unchanged
/// ```
///
/// `N` is the number of rows of a `(B, T, C)` batch (`B * T`; padded rows are zero in and out,
/// since the map is linear without bias). `w` starts at zero, i.e. the uniform average of the layers
/// (the fixed `mean` selection), and learns which layers the head uses. With `L = 1` the layer is
/// the identity.
///
/// Backward, with `g = dL/dy` and `s_l = sum_{n,d} g[n, offset + d] * x[n, offset + l*D + d]`:
///
/// ```
/// dL/dx[:, offset + l*D + d] = a[l] * g[:, offset + d];  other columns: dL/dx = g (copied)
/// dL/dw[l] = a[l] * (s_l - sum_k a[k] * s_k)          (softmax Jacobian)
/// ```
public final class LayerWeightedSum {
    /// Columns before the group.
    public let offset: Int
    /// Layers `L` in the group.
    public let layers: Int
    /// Width `D` of each layer.
    public let width: Int
    /// Columns of the input `C`.
    public let inChannels: Int
    /// Columns of the output, `C - (L-1)*D`.
    public var outChannels: Int { inChannels - (layers - 1) * width }
    /// Whether `backward` fills `inputGrad` (not needed when the input is the data itself).
    public let computesInputGrad: Bool

    /// The layer logits `w (L)`; PyTorch name `<name>.weight`.
    public let weight: Parameter

    /// Output `(N, outChannels)`.
    public let output = FloatBuffer()
    /// Gradient with respect to the input `(N, inChannels)` (after `backward`, when computed).
    public let inputGrad = FloatBuffer()

    // caches for backward
    private let group = FloatBuffer()             // (N, L*D) the layer columns of the last training forward's input
    private var cached = false                    // whether `group` belongs to the last forward
    private var rows = 0                          // N
    private let alpha = FloatBuffer()             // (L) softmax(w) of the last forward
    private let layerDot = Buffer<Double>()       // (L) s_l of the last backward (scratch, summed in Double)

    /// A layer named `name` (its parameter is `<name>.weight`), weights zero (uniform average).
    public init(name: String, offset: Int, layers: Int, width: Int, inChannels: Int, computesInputGrad: Bool = true) {
        precondition(offset >= 0 && layers >= 1 && width >= 1 && offset + layers * width <= inChannels,
                     "LayerWeightedSum: group [\(offset), \(offset) + \(layers)*\(width)) outside \(inChannels) columns")
        self.offset = offset
        self.layers = layers
        self.width = width
        self.inChannels = inChannels
        self.computesInputGrad = computesInputGrad
        weight = Parameter(name: name + ".weight", shape: [layers])
    }

    /// The parameters (`w`).
    public var parameters: [Parameter] { [weight] }

    /// `softmax(w)`: the weight each layer gets, summing to 1.
    public var layerWeights: [Float] {
        Self.softmax(Array(UnsafeBufferPointer(start: weight.value, count: layers)))
    }

    /// A numerically stable softmax of a short vector.
    public static func softmax(_ w: [Float]) -> [Float] {
        let m = w.max() ?? 0
        let e = w.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// `x (N, C)` -> `output (N, outChannels)`. With `training`, the layer columns are copied for
    /// `backward` (the weight gradient needs them).
    public func forward(_ x: UnsafePointer<Float>, rows n: Int, training: Bool) {
        let (C, Co, L, D, o) = (inChannels, outChannels, layers, width, offset)
        let a = layerWeights
        alpha.resize(L)
        for l in 0..<L { alpha[l] = a[l] }
        output.resize(n * Co)
        let tail = C - o - L * D                                   // columns after the group
        for r in 0..<n {
            let src = x + r * C, dst = output.pointer + r * Co
            dst.update(from: src, count: o)                        // columns before the group
            let sum = dst + o                                      // (D)
            let a0 = alpha[0]
            for d in 0..<D { sum[d] = a0 * src[o + d] }
            for l in 1..<L {
                let al = alpha[l], s = src + o + l * D
                for d in 0..<D { sum[d] += al * s[d] }
            }
            (dst + o + D).update(from: src + o + L * D, count: tail)
        }
        if training {
            group.resize(n * L * D)
            for r in 0..<n { (group.pointer + r * L * D).update(from: x + r * C + o, count: L * D) }
        }
        cached = training
        rows = n
    }

    /// `dout (N, outChannels)` -> `inputGrad (N, inChannels)` (when computed); accumulates `dL/dw`.
    /// Valid only right after a training `forward`.
    public func backward(_ dout: UnsafePointer<Float>) {
        precondition(cached, "LayerWeightedSum.backward: the last forward was not a training forward")
        let (n, C, Co, L, D, o) = (rows, inChannels, outChannels, layers, width, offset)
        layerDot.resize(L, zeroValue: 0)
        let s = layerDot.pointer
        for r in 0..<n {
            let g = dout + r * Co + o, xr = group.pointer + r * L * D   // g (D), xr (L*D)
            for l in 0..<L {
                var acc: Float = 0
                let xl = xr + l * D
                for d in 0..<D { acc += g[d] * xl[d] }
                s[l] += Double(acc)
            }
        }
        var mean: Double = 0                                        // sum_k a_k s_k
        for l in 0..<L { mean += Double(alpha[l]) * s[l] }
        for l in 0..<L { weight.grad[l] += Float(Double(alpha[l]) * (s[l] - mean)) }
        guard computesInputGrad else { return }
        inputGrad.resize(n * C)
        let tail = C - o - L * D
        for r in 0..<n {
            let g = dout + r * Co, dx = inputGrad.pointer + r * C
            dx.update(from: g, count: o)
            for l in 0..<L {
                let al = alpha[l], dl = dx + o + l * D
                for d in 0..<D { dl[d] = al * g[o + d] }
            }
            (dx + o + L * D).update(from: g + o + D, count: tail)
        }
    }
}
