import Foundation
import XCTest
@testable import SEREncoder

/// The vectorised GELU, exp and softmax against libm in double precision.
final class FastMathTests: XCTestCase {
    /// erf's approximation error (3e-7 in exact arithmetic, under 1e-6 in float32) times x / 2, plus rounding.
    func testGELUMatchesErfDefinition() {
        let xs = stride(from: -12.0, through: 12.0, by: 0.001).map { Float($0) } + [0, -0.0, 1e-30, -1e-30, 40, -40, 1e4, -1e4]
        var y = xs
        y.withUnsafeMutableBufferPointer { FastMath.gelu($0.baseAddress!, count: $0.count) }
        for (x, g) in zip(xs, y) {
            let ref = 0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            XCTAssertLessThanOrEqual(abs(Double(g) - ref), 5e-7 * max(1, abs(Double(x))), "gelu(\(x)) = \(g), expected \(ref)")
        }
    }

    func testExpRelativeError() {
        let xs = stride(from: -87.0, through: 0.0, by: 0.0007).map { Float($0) }
        var worst = 0.0
        var i = 0
        while i + 8 <= xs.count {
            let v = SIMD8<Float>(xs[i..<(i + 8)])
            let e = FastMath.exp(v)
            for k in 0..<8 {
                let ref = Foundation.exp(Double(v[k]))
                worst = max(worst, abs(Double(e[k]) - ref) / ref)
            }
            i += 8
        }
        XCTAssertLessThan(worst, 5e-7)
        XCTAssertEqual(FastMath.exp(SIMD8(repeating: -200))[0], 0)
        XCTAssertEqual(FastMath.exp(SIMD8(repeating: -Float.infinity))[0], 0)
    }

    func testSoftmaxRows() {
        for n in [1, 7, 8, 13, 175] {
            var p = (0..<(3 * n)).map { Float(sin(Double($0) * 1.7) * 20) }
            let copy = p
            p.withUnsafeMutableBufferPointer { FastMath.softmaxRows($0.baseAddress!, rows: 3, columns: n) }
            for r in 0..<3 {
                let row = copy[(r * n)..<((r + 1) * n)].map(Double.init)
                let m = row.max()!
                let z = row.map { Foundation.exp($0 - m) }.reduce(0, +)
                for j in 0..<n {
                    XCTAssertEqual(Double(p[r * n + j]), Foundation.exp(row[j] - m) / z, accuracy: 1e-6)
                }
            }
        }
    }
}
