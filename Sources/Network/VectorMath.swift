import SERCore

/// 8-wide `exp`, `sigmoid` and `tanh` for the BiLSTM's gates: no libm call per element, so the
/// cell update runs 8 units at a time. libm's scalar `tanhf` (through `expm1f`) and `expf` took
/// about 4 % of a training step.
///
/// Accuracy (tested against libm in `VectorMathTests`): a few float ulps, i.e. the results differ
/// from libm's only by float rounding.
///
/// Both exponentials reduce `x = n ln 2 + r` (``ExpReduction``, shared with the encoder's `exp`) and
/// evaluate a degree-8 Taylor polynomial in `r` (truncation below 6e-9 relative).
enum VectorMath {
    typealias F8 = SIMD8<Float>

    /// `e^r - 1` for `|r| <= ln 2 / 2`: `r + r^2/2! + ... + r^8/8!` (Horner), relative error about 1e-9
    /// before rounding.
    @inline(__always)
    private static func expm1Reduced(_ r: F8) -> F8 {
        var p = F8(repeating: 1.0 / 40320)
        p = p * r + 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        return (p * r) * r + r
    }

    /// `e^x`; inputs are clamped to `[-87, 88]` (below -87 the result is set to 0).
    @inline(__always)
    static func exp(_ x: F8) -> F8 {
        let tiny = x .< -87
        let xc = clamp(x, -87, 88)
        let (_, r, scale) = ExpReduction.reduce(xc)
        return ((expm1Reduced(r) + 1) * scale).replacing(with: 0, where: tiny)
    }

    /// `x` limited to `[lo, hi]` (NaN passes through).
    @inline(__always)
    private static func clamp(_ x: F8, _ lo: Float, _ hi: Float) -> F8 {
        let (lo, hi) = (F8(repeating: lo), F8(repeating: hi))
        return x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
    }

    /// `1 / (1 + e^-x)`.
    @inline(__always)
    static func sigmoid(_ x: F8) -> F8 { 1 / (1 + exp(-x)) }

    /// `tanh x = (e^{2x} - 1) / (e^{2x} + 1)`, with `e^{2x} - 1 = 2^n (e^r - 1) + (2^n - 1)` so that
    /// small `|x|` (where `n = 0`) keep full relative accuracy. `|x|` is clamped to 9, where
    /// `tanh` is 1 in float.
    @inline(__always)
    static func tanh(_ x: F8) -> F8 {
        let xc = clamp(x, -9, 9)
        let (_, r, scale) = ExpReduction.reduce(xc + xc)
        let em1 = scale * expm1Reduced(r) + (scale - 1)
        return em1 / (em1 + 2)
    }

    /// The 8-wide value at `p + i` (unaligned).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> F8 {
        UnsafeRawPointer(p + i).loadUnaligned(as: F8.self)
    }

    /// Stores `v` at `p + i` (unaligned).
    @inline(__always)
    static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: F8.self)
    }
}
