import XCTest
import SERCore
@testable import SERNetwork

/// Finite-difference checks of every layer's backward pass on small, variable-length batches.
final class LayerGradientTests: XCTestCase {
    let layout = SequenceLayout(time: 7, lengths: [7, 4, 1])

    func testConv1D() {
        var rng = SeededRandom(seed: 1)
        let (cin, cout) = (3, 4)
        let conv = Conv1D(name: "c", inChannels: cin, outChannels: cout, rng: &rng)
        let x = randomBuffer(layout.rows * cin, &rng)
        zeroPad(x, layout, cin)
        gradientCheck("conv", tensors: [x.checked("x", grad: conv.inputGrad), conv.weight.checked, conv.bias.checked],
                      run: { conv.forward(x.pointer, layout: layout); return conv.output.array },
                      backward: { r in conv.weight.zeroGrad(); conv.bias.zeroGrad(); conv.backward(r) })
        // Padded outputs are exactly zero, and padding in the input never leaks into them.
        conv.forward(x.pointer, layout: layout)
        let out = conv.output.array
        for t in 4..<7 { for o in 0..<cout { XCTAssertEqual(out[(7 + t) * cout + o], 0) } }
        let before = out
        for t in 4..<7 { for c in 0..<cin { x[(7 + t) * cin + c] = 100 } }
        conv.forward(x.pointer, layout: layout)
        XCTAssertEqual(conv.output.array, before, "padding leaked into the convolution")
    }

    func testConv1DMatchesDirectSum() {
        // One sequence, explicit formula y[t, o] = b[o] + sum_{c,k} W[o, c, k] x[t + k - 1, c].
        var rng = SeededRandom(seed: 11)
        let l = SequenceLayout(time: 5, lengths: [5])
        let conv = Conv1D(name: "c", inChannels: 2, outChannels: 3, rng: &rng)
        let x = randomBuffer(10, &rng)
        conv.forward(x.pointer, layout: l)
        for t in 0..<5 { for o in 0..<3 {
            var s = conv.bias.value[o]
            for c in 0..<2 { for k in 0..<3 where t + k - 1 >= 0 && t + k - 1 < 5 {
                s += conv.weight.value[(o * 2 + c) * 3 + k] * x[(t + k - 1) * 2 + c]
            } }
            XCTAssertEqual(conv.output[t * 3 + o], s, accuracy: 1e-5)
        } }
    }

    func testReLU() {
        var rng = SeededRandom(seed: 2)
        let relu = ReLU()
        let x = randomBuffer(40, &rng)
        for i in 0..<40 where abs(x[i]) < 0.05 { x[i] = 0.3 }   // stay away from the kink
        gradientCheck("relu", tensors: [x.checked("x", grad: relu.inputGrad)], eps: 1e-3,
                      run: { relu.forward(x.pointer, count: 40); return relu.output.array },
                      backward: { relu.backward($0) })
    }

    func testMaxPool() {
        var rng = SeededRandom(seed: 3)
        let c = 2
        let pool = MaxPool1D(channels: c)
        let x = FloatBuffer()
        x.resize(layout.rows * c)
        // Distinct values 0.1 apart so that no perturbation changes a window's maximum.
        var perm = Array(0..<(layout.rows * c)).shuffled(using: &rng)
        for i in 0..<x.count { x[i] = Float(perm.removeLast()) * 0.1 }
        zeroPad(x, layout, c)
        gradientCheck("pool", tensors: [x.checked("x", grad: pool.inputGrad)], eps: 1e-3,
                      run: { pool.forward(x.pointer, layout: layout); return pool.output.array },
                      backward: { pool.backward($0) })
        XCTAssertEqual(pool.outputLayout, SequenceLayout(time: 3, lengths: [3, 2, 1]))
        // The length-1 sequence keeps its only frame; padding stays zero.
        XCTAssertEqual(pool.output[(2 * 3) * c], x[(2 * 7) * c])
        XCTAssertEqual(pool.output[(1 * 3 + 2) * c], 0)
    }

    func testBiLSTM() {
        var rng = SeededRandom(seed: 4)
        let (c, h) = (3, 4)
        let lstm = BiLSTM(name: "l", inputSize: c, hiddenSize: h, rng: &rng)
        let x = randomBuffer(layout.rows * c, &rng)
        zeroPad(x, layout, c)
        gradientCheck("lstm", tensors: [x.checked("x", grad: lstm.inputGrad)] + lstm.parameters.map(\.checked),
                      run: { lstm.forward(x.pointer, layout: layout); return lstm.output.array },
                      backward: { r in lstm.parameters.forEach { $0.zeroGrad() }; lstm.backward(r) })
        // Packed-sequence semantics: a sequence's outputs do not depend on the batch padding.
        let single = SequenceLayout(time: 4, lengths: [4])
        let x1 = FloatBuffer(); x1.resize(4 * c)
        for i in 0..<(4 * c) { x1[i] = x[7 * c + i] }
        lstm.forward(x.pointer, layout: layout)
        let batched = lstm.output.array
        lstm.forward(x1.pointer, layout: single, training: false)
        for i in 0..<(4 * 2 * h) { XCTAssertEqual(lstm.output[i], batched[7 * 2 * h + i], accuracy: 1e-6) }
    }

    func testMultiHeadSelfAttention() {
        var rng = SeededRandom(seed: 5)
        let e = 4
        let mha = MultiHeadSelfAttention(name: "a", embedDim: e, heads: 2, rng: &rng)
        // Non-zero biases so their gradients are exercised.
        mha.inProjBias.initUniform(bound: 0.5, rng: &rng)
        mha.outProjBias.initUniform(bound: 0.5, rng: &rng)
        let x = randomBuffer(layout.rows * e, &rng)
        zeroPad(x, layout, e)
        gradientCheck("mha", tensors: [x.checked("x", grad: mha.inputGrad)] + mha.parameters.map(\.checked),
                      run: { mha.forward(x.pointer, layout: layout); return mha.output.array },
                      backward: { r in mha.parameters.forEach { $0.zeroGrad() }; mha.backward(r) })
        // Inference path gives the same result.
        mha.forward(x.pointer, layout: layout)
        let train = mha.output.array
        mha.forward(x.pointer, layout: layout, training: false)
        for i in 0..<train.count { XCTAssertEqual(mha.output[i], train[i], accuracy: 1e-6) }
    }

    func testAttentionMatchesNaiveFormula() {
        // Single head, explicit eqs. 4-6 with the output projection.
        var rng = SeededRandom(seed: 12)
        let (e, L) = (2, 3)
        let mha = MultiHeadSelfAttention(name: "a", embedDim: e, heads: 1, rng: &rng)
        let l = SequenceLayout(time: 4, lengths: [L])
        let x = randomBuffer(4 * e, &rng)
        zeroPad(x, l, e)
        mha.forward(x.pointer, layout: l)
        let W = mha.inProjWeight.value, Wo = mha.outProjWeight.value
        func proj(_ t: Int, _ part: Int) -> [Float] {
            (0..<e).map { j in (0..<e).reduce(Float(0)) { $0 + W[(part * e + j) * e + $1] * x[t * e + $1] } }
        }
        var sum = [Float](repeating: 0, count: e)
        for i in 0..<L {
            let q = proj(i, 0)
            let scores = (0..<L).map { j in zip(q, proj(j, 1)).reduce(Float(0)) { $0 + $1.0 * $1.1 } / Float(e).squareRoot() }
            let m = scores.max()!, ex = scores.map { expf($0 - m) }, z = ex.reduce(0, +)
            for j in 0..<L { let v = proj(j, 2); for k in 0..<e { sum[k] += ex[j] / z * v[k] } }
        }
        for o in 0..<e {
            let expect = (0..<e).reduce(Float(0)) { $0 + Wo[o * e + $1] * sum[$1] }
            XCTAssertEqual(mha.output[o], expect, accuracy: 1e-5)
        }
    }

    func testDenseDropoutMeanAndLoss() {
        var rng = SeededRandom(seed: 6)
        let dense = Dense(name: "d", inFeatures: 5, outFeatures: 3, rng: &rng)
        let x = randomBuffer(2 * 5, &rng)
        gradientCheck("dense", tensors: [x.checked("x", grad: dense.inputGrad)] + dense.parameters.map(\.checked),
                      run: { dense.forward(x.pointer, rows: 2); return dense.output.array },
                      backward: { r in dense.parameters.forEach { $0.zeroGrad() }; dense.backward(r) })

        let mean = SequenceMean(channels: 2)
        let y = randomBuffer(layout.rows * 2, &rng)
        zeroPad(y, layout, 2)
        gradientCheck("mean", tensors: [y.checked("x", grad: mean.inputGrad)],
                      run: { mean.forward(y.pointer, layout: layout); return mean.output.array },
                      backward: { mean.backward($0) })

        let drop = Dropout(p: 0.5, seed: 9)
        let z = randomBuffer(1000, &rng)
        drop.forward(z.pointer, count: 1000)
        let kept = (0..<1000).filter { drop.output[$0] != 0 }
        XCTAssert(kept.count > 400 && kept.count < 600, "dropout kept \(kept.count) of 1000")
        for i in kept { XCTAssertEqual(drop.output[i], 2 * z[i], accuracy: 1e-6) }
        let ones = [Float](repeating: 1, count: 1000)
        drop.backward(ones)
        for i in 0..<1000 { XCTAssertEqual(drop.inputGrad[i], drop.output[i] == 0 ? 0 : 2) }
        drop.forward(z.pointer, count: 1000, training: false)
        XCTAssertEqual(drop.output.array, z.array)
        // Same seed, same masks.
        let d1 = Dropout(p: 0.3, seed: 4), d2 = Dropout(p: 0.3, seed: 4)
        d1.forward(z.pointer, count: 1000); d2.forward(z.pointer, count: 1000)
        XCTAssertEqual(d1.output.array, d2.output.array)

        for weights in [nil, [Float(0.5), 2, 1]] as [[Float]?] {
            let ce = SoftmaxCrossEntropy(classes: 3, classWeights: weights)
            let logits = randomBuffer(4 * 3, &rng, amplitude: 2)
            let labels = [0, 2, 1, 2]
            let loss0 = ce.forward(logits.pointer, labels: labels)
            // Reference value from the definition.
            var num = 0.0, den = 0.0
            for b in 0..<4 {
                let z = (0..<3).map { Double(logits[b * 3 + $0]) }
                let lse = log(z.map { exp($0) }.reduce(0, +))
                let w = Double(weights?[labels[b]] ?? 1)
                num += w * (lse - z[labels[b]]); den += w
            }
            XCTAssertEqual(Double(loss0), num / den, accuracy: 1e-5)
            ce.backward()
            let g = ce.inputGrad.array
            for i in 0..<12 {
                let v = logits[i]
                logits[i] = v + 1e-2; let lp = Double(ce.forward(logits.pointer, labels: labels))
                logits[i] = v - 1e-2; let lm = Double(ce.forward(logits.pointer, labels: labels))
                logits[i] = v
                XCTAssertEqual((lp - lm) / 2e-2, Double(g[i]), accuracy: 2e-3)
            }
        }
    }

    func testAdamMatchesClosedForm() {
        // One scalar, constant gradient: after step t, m_hat = v_hat^(1/2) = g (+ L2), so each step moves by ~lr.
        let p = Parameter(name: "w", shape: [1])
        p.fill(1)
        let adam = Adam(parameters: [p], learningRate: 0.1, weightDecay: 0)
        for _ in 0..<3 { p.grad[0] = 2; adam.update() }
        XCTAssertEqual(p.value[0], 1 - 0.3, accuracy: 1e-5)
        // Coupled L2: the decay enters the gradient (weight_decay * w), so a zero gradient still moves w.
        let q = Parameter(name: "q", shape: [1])
        q.fill(1)
        let adam2 = Adam(parameters: [q], learningRate: 0.01, weightDecay: 1e-3)
        q.grad[0] = 0; adam2.update()
        XCTAssertEqual(q.value[0], 0.99, accuracy: 1e-5)
        // Clipping to a global norm.
        let a = Parameter(name: "a", shape: [2]); a.grad[0] = 3; a.grad[1] = 4
        let norm = Adam.clipGradientNorm([a], maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-5)
        XCTAssertEqual(a.grad[0], 0.6, accuracy: 1e-4)
        XCTAssertEqual(a.grad[1], 0.8, accuracy: 1e-4)
    }
}
