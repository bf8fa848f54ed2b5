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

    /// `expRows` then `scaleRows` with its inverse sums is a row-wise softmax; `scaleRows` leaves the
    /// columns past `columns` alone.
    func testSoftmaxRows() {
        for n in [1, 7, 8, 13, 175] {
            var p = (0..<(3 * n)).map { Float(sin(Double($0) * 1.7) * 20) }
            let copy = p
            var inverse = [Float](repeating: -1, count: 3)
            p.withUnsafeMutableBufferPointer { q in
                inverse.withUnsafeMutableBufferPointer { FastMath.expRows(q.baseAddress!, rows: 3, columns: n, inverseSums: $0.baseAddress!) }
                inverse.withUnsafeBufferPointer { FastMath.scaleRows(q.baseAddress!, rows: 3, columns: n, ld: n, by: $0.baseAddress!) }
            }
            for r in 0..<3 {
                let row = copy[(r * n)..<((r + 1) * n)].map(Double.init)
                let m = row.max()!
                let z = row.map { Foundation.exp($0 - m) }.reduce(0, +)
                XCTAssertEqual(Double(inverse[r]), 1 / z, accuracy: 1e-6 / z)
                for j in 0..<n {
                    XCTAssertEqual(Double(p[r * n + j]), Foundation.exp(row[j] - m) / z, accuracy: 1e-6)
                }
            }
        }
        var m = (0..<30).map(Float.init)                      // [3, 10], scale the first 9 columns
        let scale: [Float] = [2, 3, 4]
        m.withUnsafeMutableBufferPointer { FastMath.scaleRows($0.baseAddress!, rows: 3, columns: 9, ld: 10, by: scale) }
        for r in 0..<3 { for j in 0..<10 { XCTAssertEqual(m[r * 10 + j], Float(r * 10 + j) * (j < 9 ? scale[r] : 1)) } }
    }

    /// The column-block passes touch exactly columns `from..<to` of every row (8 at a time and the tail).
    func testColumnBlockPasses() {
        let rows = 3, ld = 37, from = 5, to = 34
        let src = (0..<(rows * ld)).map { Float(sin(Double($0) * 0.37) * 4) }
        let bias = (0..<ld).map { Float(cos(Double($0) * 0.11)) }
        var g = src, a = src, m = src, f = src
        g.withUnsafeMutableBufferPointer { FastMath.biasGELU($0.baseAddress!, rows: rows, from: from, to: to, ld: ld, bias: bias) }
        f.withUnsafeMutableBufferPointer { FastMath.fillRows($0.baseAddress!, rows: rows, from: from, to: to, ld: ld, with: bias) }
        src.withUnsafeBufferPointer { s in
            a.withUnsafeMutableBufferPointer { FastMath.addBias($0.baseAddress!, s.baseAddress!, rows: rows, from: from, to: to, ld: ld, bias: bias) }
            m.withUnsafeMutableBufferPointer {
                FastMath.addMatrix($0.baseAddress!, $0.baseAddress!, s.baseAddress!, rows: rows, from: from, to: to, ld: ld)
            }
        }
        for r in 0..<rows {
            for j in 0..<ld {
                let i = r * ld + j, x = Double(src[i])
                if j < from || j >= to {
                    XCTAssertEqual(g[i], src[i]); XCTAssertEqual(a[i], src[i]); XCTAssertEqual(m[i], src[i]); XCTAssertEqual(f[i], src[i])
                    continue
                }
                XCTAssertEqual(f[i], bias[j])
                let v = x + Double(bias[j])
                XCTAssertEqual(Double(g[i]), 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot())), accuracy: 5e-7 * max(1, abs(v)) + 1e-6)
                XCTAssertEqual(a[i], src[i] + bias[j])
                XCTAssertEqual(m[i], src[i] + src[i])
            }
        }
    }

    /// LayerNorm (8 lanes at a time, two passes) against float64, on widths with and without a tail.
    func testLayerNormMatchesFloat64() {
        for n in [5, 8, 13, 64, 67] {
            let rows = 4
            let x = (0..<(rows * n)).map { Float(sin(Double($0) * 0.7) * 3 + 100) }   // a large mean: the two-pass variance matters
            let w = (0..<n).map { Float(1 + 0.1 * cos(Double($0))) }, b = (0..<n).map { Float(0.01 * Double($0)) }
            var y = [Float](repeating: .nan, count: rows * n)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer {
                    FastMath.layerNorm(xp.baseAddress!, rowsFrom: 1, to: rows, columns: n, eps: 1e-5, weight: w, bias: b, into: $0.baseAddress!)
                }
            }
            XCTAssertTrue(y[0..<n].allSatisfy { $0.isNaN }, "row 0 is outside rowsFrom: 1")
            for r in 1..<rows {
                let row = x[(r * n)..<((r + 1) * n)].map(Double.init)
                let mean = row.reduce(0, +) / Double(n)
                let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
                for j in 0..<n {
                    let ref = (row[j] - mean) / (v + 1e-5).squareRoot() * Double(w[j]) + Double(b[j])
                    XCTAssertEqual(Double(y[r * n + j]), ref, accuracy: 2e-4, "n \(n), row \(r), column \(j)")
                }
            }
        }
    }
}
