/// The range reduction shared by the 8-wide exponentials of the encoder (`FastMath.exp`) and of the
/// BiLSTM's gates (`VectorMath`): `x = n ln 2 + r` with `n = round(x / ln 2)`, `|r| <= ln 2 / 2`, and
/// `2^n` built from the exponent bits, so that each caller only evaluates its own polynomial in `r`.
///
/// `n` is rounded and turned into an integer by adding `1.5 * 2^23` (the sum's low mantissa bits then
/// hold `n`), because Swift's generic SIMD float-to-int conversion is not vectorised; `r` subtracts
/// `n ln 2` with `ln 2` split into a part exact in float and a correction (Cody-Waite).
public enum ExpReduction {
    /// `(n, r, 2^n)` for `x`; valid for `-87 <= x <= 88` (callers clamp first).
    @inlinable @inline(__always)
    public static func reduce(_ x: SIMD8<Float>) -> (n: SIMD8<Float>, r: SIMD8<Float>, scale: SIMD8<Float>) {
        let magic = SIMD8<Float>(repeating: 12_582_912)                 // 1.5 * 2^23
        let shifted = x * 1.44269504088896341 + magic                   // round(x / ln 2) in the low bits
        let n = shifted - magic
        let r = (x - n * 0.693359375) - n * -2.12194440e-4
        let k = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000    // n as an integer
        let scale = unsafeBitCast((k &+ 127) &<< 23, to: SIMD8<Float>.self)      // 2^n
        return (n, r, scale)
    }
}
