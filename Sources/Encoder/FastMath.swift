import Foundation
import SERCore

/// Vectorised GELU and exp for the encoder's element-wise steps (8 floats at a time, no branches, no
/// libm calls). libm's `erff` and `expf` took about 10 % of the encoder's time, one call per element.
///
/// Polynomials are evaluated with fused multiply-adds (`addingProduct`, one rounding per step).
enum FastMath {
    /// Exact-form GELU of 8 values, `x (1 + erf(x / sqrt 2)) / 2`, with erf from Abramowitz & Stegun
    /// 7.1.28: `erf(a) = 1 - 1 / p(a)` for `a >= 0`, `p(a) = (1 + a1 a + ... + a6 a^6)^16` (absolute
    /// error <= 3e-7 in exact arithmetic), odd symmetry for `a < 0`. With `a = |x| / sqrt 2` and
    /// `h = x / (2 p(a))` that is `x - h` for `x >= 0` and `h` for `x < 0`: one division, no
    /// `1 - 1/p` cancellation. Absolute error <= 5e-7 max(1, |x|) (tested); `p` overflowing to
    /// infinity (|x| > ~14) gives `h = 0`, i.e. `x` or 0.
    @inline(__always)
    static func gelu8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7fff_ffff
        let a = unsafeBitCast(bits, to: SIMD8<Float>.self) * 0.70710678118654752     // |x| / sqrt 2
        var p = SIMD8<Float>(repeating: 0.0000430638)
        p = SIMD8(repeating: 0.0002765672).addingProduct(p, a)
        p = SIMD8(repeating: 0.0001520143).addingProduct(p, a)
        p = SIMD8(repeating: 0.0092705272).addingProduct(p, a)
        p = SIMD8(repeating: 0.0422820123).addingProduct(p, a)
        p = SIMD8(repeating: 0.0705230784).addingProduct(p, a)
        p = SIMD8(repeating: 1).addingProduct(p, a)
        p = p * p; p = p * p; p = p * p; p = p * p              // ^16
        let h = 0.5 * x / p
        return (x - h).replacing(with: h, where: x .< 0)
    }

    /// ``gelu8(_:)`` in place over `count` contiguous values.
    static func gelu(_ p: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let raw = UnsafeMutableRawPointer(p)
        while i + 8 <= count {
            let x = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            raw.storeBytes(of: gelu8(x), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            var x = SIMD8<Float>(repeating: 0)
            x[0] = p[i]
            p[i] = gelu8(x)[0]
            i += 1
        }
    }

    /// `exp(x)` for 8 values `x <= 88`: `2^n e^r` with `n = round(x / ln 2)`, `|r| <= ln 2 / 2`
    /// (``ExpReduction``), a degree-6 Taylor polynomial for `e^r` (relative error about 2e-7); values
    /// below -87 give 0.
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let tiny = x .< -87
        let lo = SIMD8<Float>(repeating: -87), hi = SIMD8<Float>(repeating: 88)
        let xc = x.replacing(with: lo, where: tiny).replacing(with: hi, where: x .> hi)
        let (_, r, scale) = ExpReduction.reduce(xc)
        var e = SIMD8<Float>(repeating: 1.0 / 720)
        e = SIMD8(repeating: 1.0 / 120).addingProduct(e, r)
        e = SIMD8(repeating: 1.0 / 24).addingProduct(e, r)
        e = SIMD8(repeating: 1.0 / 6).addingProduct(e, r)
        e = SIMD8(repeating: 0.5).addingProduct(e, r)
        e = SIMD8(repeating: 1).addingProduct(e, r)
        e = SIMD8(repeating: 1).addingProduct(e, r)
        return (e * scale).replacing(with: 0, where: tiny)
    }

    /// The unnormalised half of a row-wise softmax, in place (`[rows, columns]`): `p[r, j] = exp(p[r, j] - max_j p[r, j])`
    /// and `inverseSums[r] = 1 / sum_j p[r, j]` (after the exp). The caller applies the scale where it
    /// is cheapest (the encoder: to the `[rows, head width]` product with the values, not to the
    /// `[rows, rows]` weights). A row's last `columns % 8` values go through one 8-lane step too
    /// (padded with -inf, whose exp is 0), not one step each.
    static func expRows(_ p: UnsafeMutablePointer<Float>, rows: Int, columns n: Int, inverseSums: UnsafeMutablePointer<Float>) {
        let raw = UnsafeMutableRawPointer(p)
        let n8 = n & ~7, tail = n - n8
        for r in 0..<rows {
            let row = p + r * n
            let base = 4 * r * n
            var last = SIMD8<Float>(repeating: -.infinity)   // the tail, padded
            for k in 0..<tail { last[k] = row[n8 + k] }
            var mv8 = last
            var j = 0
            while j < n8 {
                let v = raw.loadUnaligned(fromByteOffset: base + 4 * j, as: SIMD8<Float>.self)
                mv8.replace(with: v, where: v .> mv8)     // (the generic pointwiseMax is not inlined: a call per step)
                j += 8
            }
            let mv = SIMD8<Float>(repeating: mv8.max())
            var acc = SIMD8<Float>(repeating: 0)
            j = 0
            while j < n8 {
                let e = exp(raw.loadUnaligned(fromByteOffset: base + 4 * j, as: SIMD8<Float>.self) - mv)
                raw.storeBytes(of: e, toByteOffset: base + 4 * j, as: SIMD8<Float>.self)
                acc += e
                j += 8
            }
            if tail > 0 {
                last = exp(last - mv)
                acc += last
                for k in 0..<tail { row[n8 + k] = last[k] }
            }
            inverseSums[r] = 1 / acc.sum()
        }
    }

    /// `p[r, j] *= scale[r]` for `j` in `0..<columns` of each row of a `[rows, ld]` matrix.
    static func scaleRows(_ p: UnsafeMutablePointer<Float>, rows: Int, columns n: Int, ld: Int, by scale: UnsafePointer<Float>) {
        let raw = UnsafeMutableRawPointer(p)
        for r in 0..<rows {
            let s = SIMD8<Float>(repeating: scale[r])
            var j = 0
            while j + 8 <= n {
                let v = raw.loadUnaligned(fromByteOffset: 4 * (r * ld + j), as: SIMD8<Float>.self) * s
                raw.storeBytes(of: v, toByteOffset: 4 * (r * ld + j), as: SIMD8<Float>.self)
                j += 8
            }
            while j < n { p[r * ld + j] *= scale[r]; j += 1 }
        }
    }

    // MARK: Column-block passes
    //
    // The encoder splits each product's output columns between threads; these passes run over one
    // thread's block `[rows, from..<to]` of a row-major matrix with leading dimension `ld`, right after
    // its product, 8 columns at a time.

    /// `p[r, j] = GELU(p[r, j] + bias[j])` for `j` in `from..<to` (the bias and the activation in one pass).
    static func biasGELU(_ p: UnsafeMutablePointer<Float>, rows: Int, from: Int, to: Int, ld: Int,
                         bias: UnsafePointer<Float>) {
        let raw = UnsafeMutableRawPointer(p), rb = UnsafeRawPointer(bias)
        for r in 0..<rows {
            var j = from
            while j + 8 <= to {
                let x = raw.loadUnaligned(fromByteOffset: 4 * (r * ld + j), as: SIMD8<Float>.self)
                    + rb.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                raw.storeBytes(of: gelu8(x), toByteOffset: 4 * (r * ld + j), as: SIMD8<Float>.self)
                j += 8
            }
            while j < to {
                var x = SIMD8<Float>(repeating: 0)
                x[0] = p[r * ld + j] + bias[j]
                p[r * ld + j] = gelu8(x)[0]
                j += 1
            }
        }
    }

    /// `dst[r, j] = bias[j]` for `j` in `from..<to` (a bias row repeated, for a product added with beta 1).
    static func fillRows(_ dst: UnsafeMutablePointer<Float>, rows: Int, from: Int, to: Int, ld: Int,
                         with bias: UnsafePointer<Float>) {
        guard to > from else { return }
        for r in 0..<rows { (dst + r * ld + from).update(from: bias + from, count: to - from) }
    }

    /// `dst[r, j] = src[r, j] + bias[j]` for `j` in `from..<to` (`src` may be `dst`).
    static func addBias(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: Int, from: Int, to: Int,
                        ld: Int, bias: UnsafePointer<Float>) {
        add(dst, src, UnsafeRawPointer(bias), rowStride: 0, rows: rows, from: from, to: to, ld: ld)
    }

    /// `dst[r, j] = src[r, j] + other[r, j]` for `j` in `from..<to`, both `[rows, ld]` (`src` may be `dst`).
    static func addMatrix(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ other: UnsafePointer<Float>,
                          rows: Int, from: Int, to: Int, ld: Int) {
        add(dst, src, UnsafeRawPointer(other), rowStride: ld, rows: rows, from: from, to: to, ld: ld)
    }

    /// `dst[r, j] = src[r * ld + j] + other[r * rowStride + j]`.
    @inline(__always)
    private static func add(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ other: UnsafeRawPointer,
                            rowStride: Int, rows: Int, from: Int, to: Int, ld: Int) {
        let rd = UnsafeMutableRawPointer(dst), rs = UnsafeRawPointer(src)
        let o = other.assumingMemoryBound(to: Float.self)
        for r in 0..<rows {
            var j = from
            while j + 8 <= to {
                let v = rs.loadUnaligned(fromByteOffset: 4 * (r * ld + j), as: SIMD8<Float>.self)
                    + other.loadUnaligned(fromByteOffset: 4 * (r * rowStride + j), as: SIMD8<Float>.self)
                rd.storeBytes(of: v, toByteOffset: 4 * (r * ld + j), as: SIMD8<Float>.self)
                j += 8
            }
            while j < to { dst[r * ld + j] = src[r * ld + j] + o[r * rowStride + j]; j += 1 }
        }
    }

    /// LayerNorm of rows `from..<to` of `x` (`[rows, n]`) into `y`: `(x - mean) / sqrt(var + eps) * w + b`,
    /// the mean and the variance (of the deviations, two passes) summed 8 lanes at a time.
    static func layerNorm(_ x: UnsafePointer<Float>, rowsFrom from: Int, to: Int, columns n: Int, eps: Float,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        let rw = UnsafeRawPointer(weight), rb = UnsafeRawPointer(bias)
        let n8 = n & ~7
        for r in from..<to {
            let o = 4 * r * n
            var acc = SIMD8<Float>(repeating: 0)
            var j = 0
            while j < n8 { acc += rx.loadUnaligned(fromByteOffset: o + 4 * j, as: SIMD8<Float>.self); j += 8 }
            var sum = acc.sum()
            while j < n { sum += x[r * n + j]; j += 1 }
            let mean = sum / Float(n)
            let m8 = SIMD8<Float>(repeating: mean)
            var sq8 = SIMD8<Float>(repeating: 0)
            j = 0
            while j < n8 {
                let c = rx.loadUnaligned(fromByteOffset: o + 4 * j, as: SIMD8<Float>.self) - m8
                sq8 += c * c
                j += 8
            }
            var sq = sq8.sum()
            while j < n { let c = x[r * n + j] - mean; sq += c * c; j += 1 }
            let inv = 1 / (sq / Float(n) + eps).squareRoot()
            let i8 = SIMD8<Float>(repeating: inv)
            j = 0
            while j < n8 {
                let v = (rx.loadUnaligned(fromByteOffset: o + 4 * j, as: SIMD8<Float>.self) - m8) * i8
                    * rw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                    + rb.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                ry.storeBytes(of: v, toByteOffset: o + 4 * j, as: SIMD8<Float>.self)
                j += 8
            }
            while j < n { y[r * n + j] = (x[r * n + j] - mean) * inv * weight[j] + bias[j]; j += 1 }
        }
    }
}
