import XCTest
import SERCore
@testable import SERNetwork

/// `LayerWeightedSum`: the formula, the pass-through columns, and both gradients by finite differences.
final class LayerWeightedSumTests: XCTestCase {
    // 2 columns before the group, 3 layers of width 4, 1 column after: C = 15, output 7.
    let (offset, layers, width, tail) = (2, 3, 4, 1)
    var channels: Int { offset + layers * width + tail }

    private func makeLayer(_ rng: inout SeededRandom) -> LayerWeightedSum {
        let layer = LayerWeightedSum(name: "layer_sum", offset: offset, layers: layers, width: width, inChannels: channels)
        for l in 0..<layers { layer.weight.value[l] = rng.uniform(-1, 1) }
        return layer
    }

    func testForwardIsTheSoftmaxWeightedSumAndPassesTheOtherColumns() {
        var rng = SeededRandom(seed: 1)
        let layer = makeLayer(&rng)
        let n = 5
        let x = randomBuffer(n * channels, &rng)
        layer.forward(x.pointer, rows: n, training: false)
        XCTAssertEqual(layer.outChannels, offset + width + tail)
        let w = (0..<layers).map { Double(layer.weight.value[$0]) }
        let e = w.map { Foundation.exp($0) }, z = e.reduce(0, +)
        let a = e.map { $0 / z }
        XCTAssertEqual(layer.layerWeights.reduce(0, +), 1, accuracy: 1e-6)
        for r in 0..<n {
            let out = (0..<layer.outChannels).map { layer.output[r * layer.outChannels + $0] }
            for c in 0..<offset { XCTAssertEqual(out[c], x[r * channels + c]) }
            for d in 0..<width {
                let expected = (0..<layers).reduce(0.0) { $0 + a[$1] * Double(x[r * channels + offset + $1 * width + d]) }
                XCTAssertEqual(Double(out[offset + d]), expected, accuracy: 1e-6)
            }
            XCTAssertEqual(out[offset + width], x[r * channels + offset + layers * width])
        }
    }

    func testZeroWeightsAreTheUniformAverage() {
        var rng = SeededRandom(seed: 2)
        let layer = LayerWeightedSum(name: "s", offset: 0, layers: 7, width: 3, inChannels: 21)
        XCTAssertEqual(layer.layerWeights, [Float](repeating: 1 / 7, count: 7))
        let x = randomBuffer(21, &rng)
        layer.forward(x.pointer, rows: 1, training: false)
        for d in 0..<3 {
            let mean = (0..<7).reduce(Float(0)) { $0 + x[$1 * 3 + d] } / 7
            XCTAssertEqual(layer.output[d], mean, accuracy: 1e-6)
        }
    }

    func testGradientsOfInputAndLayerWeights() {
        var rng = SeededRandom(seed: 3)
        let layer = makeLayer(&rng)
        let n = 6
        let x = randomBuffer(n * channels, &rng)
        gradientCheck("layer sum", tensors: [x.checked("x", grad: layer.inputGrad), layer.weight.checked], eps: 1e-2,
                      run: { layer.forward(x.pointer, rows: n, training: true); return layer.output.array },
                      backward: { r in layer.weight.zeroGrad(); r.withUnsafeBufferPointer { layer.backward($0.baseAddress!) } })
    }

    func testOneLayerIsTheIdentityWithZeroWeightGradient() {
        var rng = SeededRandom(seed: 4)
        let layer = LayerWeightedSum(name: "s", offset: 1, layers: 1, width: 3, inChannels: 5)
        let x = randomBuffer(10, &rng)
        layer.forward(x.pointer, rows: 2, training: true)
        XCTAssertEqual(layer.output.array, x.array)
        let g = randomBuffer(10, &rng)
        layer.weight.zeroGrad()
        layer.backward(g.pointer)
        XCTAssertEqual(layer.weight.grad[0], 0, accuracy: 1e-6)
        XCTAssertEqual(layer.inputGrad.array, g.array)
    }

    func testAdamGroupsScaleTheLearningRateAndSkipTheDecay() {
        // One parameter per group with the same gradient -0.3: Adam's first step is -lr * sign(g).
        // With the decay g = -0.3 + 0.1 * 5 = 0.2 (w goes down by lr); without it w goes up by 10 lr.
        let a = Parameter(name: "a", shape: [1]), b = Parameter(name: "b", shape: [1])
        a.value[0] = 5; b.value[0] = 5
        let adam = Adam(parameters: [a, b], learningRate: 1e-3, weightDecay: 1e-1)
        adam.learningRateScale[1] = 10
        adam.decays[1] = false
        a.grad[0] = -0.3; b.grad[0] = -0.3
        adam.update()
        XCTAssertEqual(a.value[0], 5 - 1e-3, accuracy: 1e-6)
        XCTAssertEqual(b.value[0], 5 + 1e-2, accuracy: 1e-6)
    }
}
