#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Natural exponential.
@inline(__always) func expF(_ x: Float) -> Float { expf(x) }

/// Natural logarithm.
@inline(__always) func logF(_ x: Float) -> Float { logf(x) }

/// Square root.
@inline(__always) func sqrtF(_ x: Float) -> Float { x.squareRoot() }

/// Zeroes rows `t >= lengths[b]` of a `(B, T, C)` activation.
@inline(__always) func zeroPadding(_ p: UnsafeMutablePointer<Float>, _ layout: SequenceLayout, channels c: Int) {
    for b in 0..<layout.batch where layout.lengths[b] < layout.time {
        (p + (b * layout.time + layout.lengths[b]) * c).update(repeating: 0, count: (layout.time - layout.lengths[b]) * c)
    }
}
