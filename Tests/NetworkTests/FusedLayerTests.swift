import XCTest
import SERCore
@testable import SERNetwork
#if canImport(Glibc)
import Glibc
#endif

/// The fused LFE block against the three layers it replaces, and the 8-wide activations against libm.
final class FusedLayerTests: XCTestCase {
    /// Largest |a - b| over max(max|b|, 1e-30).
    func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        let scale = max(b.map { abs($0) }.max() ?? 0, 1e-30)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    func testConvReLUPoolMatchesTheThreeLayers() {
        // Odd, even, length-1 and length-2 sequences; T odd.
        for layout in [SequenceLayout(time: 9, lengths: [9, 4, 1, 2, 7]), SequenceLayout(time: 6, lengths: [6, 3])] {
            let (cin, cout) = (5, 11)          // 11 channels: the loops' tails are exercised
            var r1 = SeededRandom(seed: 21), r2 = SeededRandom(seed: 21)
            let fused = ConvReLUPool(conv: Conv1D(name: "c", inChannels: cin, outChannels: cout, rng: &r1))
            let conv = Conv1D(name: "c", inChannels: cin, outChannels: cout, rng: &r2)
            let relu = ReLU(), pool = MaxPool1D(channels: cout)
            var rng = SeededRandom(seed: 22)
            let x = randomBuffer(layout.rows * cin, &rng)
            zeroPad(x, layout, cin)

            fused.forward(x.pointer, layout: layout)
            conv.forward(x.pointer, layout: layout)
            relu.forward(conv.output.pointer, count: layout.rows * cout)
            pool.forward(relu.output.pointer, layout: layout)
            XCTAssertEqual(fused.outputLayout, pool.outputLayout)
            XCTAssertLessThanOrEqual(relativeError(fused.output.array, pool.output.array), 1e-6)
            // Some outputs are clipped by the ReLU, some pass: both branches are exercised.
            XCTAssertTrue(pool.output.array.contains(0) && pool.output.array.contains { $0 > 0 })

            let dout = randomBuffer(pool.output.count, &rng)
            for p in fused.conv.parameters + conv.parameters { p.zeroGrad() }
            fused.backward(dout.pointer)
            pool.backward(dout.pointer)
            relu.backward(pool.inputGrad.pointer)
            conv.backward(relu.inputGrad.pointer)
            XCTAssertLessThanOrEqual(relativeError(fused.inputGrad.array, conv.inputGrad.array), 1e-6)
            XCTAssertLessThanOrEqual(relativeError(fused.conv.weight.gradTensor.data, conv.weight.gradTensor.data), 1e-6)
            XCTAssertLessThanOrEqual(relativeError(fused.conv.bias.gradTensor.data, conv.bias.gradTensor.data), 1e-6)

            // Inference keeps no routes and gives the same output.
            let train = fused.output.array
            fused.forward(x.pointer, layout: layout, training: false)
            XCTAssertEqual(fused.output.array, train)
        }
    }

    func testConvReLUPoolGradients() {
        var rng = SeededRandom(seed: 23)
        let layout = SequenceLayout(time: 7, lengths: [7, 4, 1])
        let block = ConvReLUPool(conv: Conv1D(name: "c", inChannels: 3, outChannels: 4, rng: &rng))
        let x = randomBuffer(layout.rows * 3, &rng)
        zeroPad(x, layout, 3)
        gradientCheck("conv-relu-pool", tensors: [x.checked("x", grad: block.inputGrad)] + block.conv.parameters.map(\.checked),
                      eps: 1e-3,
                      run: { block.forward(x.pointer, layout: layout); return block.output.array },
                      backward: { r in block.conv.parameters.forEach { $0.zeroGrad() }; block.backward(r) })
    }

    func testInferenceSeesWeightsChangedThroughThePointer() {
        // Inference reuses the permuted weight while the weights' version is unchanged; a training
        // forward always permutes.
        var rng = SeededRandom(seed: 24)
        let layout = SequenceLayout(time: 6, lengths: [6, 3])
        let conv = Conv1D(name: "c", inChannels: 3, outChannels: 5, rng: &rng)
        let x = randomBuffer(layout.rows * 3, &rng)
        zeroPad(x, layout, 3)
        conv.forward(x.pointer, layout: layout, training: false)
        let first = conv.output.array
        conv.forward(x.pointer, layout: layout, training: false)
        XCTAssertEqual(conv.output.array, first)
        let w7 = conv.weight.value[7]
        conv.weight.value[7] = w7 + 0.5                   // written directly, as a gradient check does
        conv.forward(x.pointer, layout: layout, training: true)
        let changed = conv.output.array
        XCTAssertNotEqual(changed, first)
        conv.weight.value[7] = w7
        conv.weight.markChanged()
        conv.forward(x.pointer, layout: layout, training: false)
        XCTAssertEqual(conv.output.array, first)
        conv.weight.value[7] = w7 + 0.5
        conv.weight.markChanged()
        conv.forward(x.pointer, layout: layout, training: false)
        XCTAssertEqual(conv.output.array, changed)
        // The optimiser and the weight average mark their writes.
        let v0 = conv.weight.version
        Adam(parameters: conv.parameters).update()
        XCTAssertNotEqual(conv.weight.version, v0)
        let v1 = conv.weight.version
        WeightAverage(parameters: conv.parameters, decay: 0.9).swap()
        XCTAssertNotEqual(conv.weight.version, v1)
    }

    /// Runs an 8-wide function over `xs` (padding the last group).
    func apply(_ f: (SIMD8<Float>) -> SIMD8<Float>, _ xs: [Float]) -> [Float] {
        var out: [Float] = []
        for s in stride(from: 0, to: xs.count, by: 8) {
            var v = SIMD8<Float>(repeating: 0)
            for l in 0..<min(8, xs.count - s) { v[l] = xs[s + l] }
            let y = f(v)
            for l in 0..<min(8, xs.count - s) { out.append(y[l]) }
        }
        return out
    }

    func testVectorActivationsMatchLibm() {
        var xs: [Float] = stride(from: -20, through: 20, by: 0.0137).map { Float($0) }
        xs += [0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 1e-3, -1e-3, 0.17, 0.1733, 0.35, -0.35, 0.5, 8.9, 9, 9.1, -9.1, 50, -50, 100, -100]
        let ulp: Double = 1.0 / 8_388_608         // 2^-23
        func check(_ name: String, _ got: [Float], _ want: (Double) -> Double, ulps: Double, floor: Double = 0) {
            for (x, g) in zip(xs, got) {
                let w = want(Double(x))
                let tol = max(ulps * ulp * abs(w), floor)
                XCTAssertLessThanOrEqual(abs(Double(g) - w), tol, "\(name)(\(x)) = \(g), want \(w)")
            }
        }
        check("tanh", apply(VectorMath.tanh, xs), { tanh($0) }, ulps: 4, floor: 1e-38)
        check("sigmoid", apply(VectorMath.sigmoid, xs), { 1 / (1 + exp(-$0)) }, ulps: 4, floor: 1e-38)
        let ex = xs.filter { $0 <= 80 && $0 >= -80 }
        let got = apply(VectorMath.exp, ex)
        for (x, g) in zip(ex, got) {
            let w = exp(Double(x))
            XCTAssertLessThanOrEqual(abs(Double(g) - w), 3 * ulp * w, "exp(\(x)) = \(g), want \(w)")
        }
        XCTAssertEqual(apply(VectorMath.exp, [-100])[0], 0)
        XCTAssertTrue(apply(VectorMath.tanh, [.nan])[0].isNaN)
    }
}
