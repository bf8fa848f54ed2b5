import Foundation
import XCTest
import SERCore
import SERNetwork
@testable import SERModel

/// Trains a small STA-CNN on a synthetic task and checks that it learns it.
final class TrainingTests: XCTestCase {
    /// Clips whose class is the shape of a "pitch" contour in channel 0 (rising, falling, or
    /// rise-then-fall) and of an "energy" level in channel 1, with noise on all channels and
    /// random lengths and offsets.
    func synthetic(count: Int, seed: UInt64) -> (features: [Tensor], labels: [Int]) {
        var rng = SeededRandom(seed: seed)
        var feats: [Tensor] = [], labels: [Int] = []
        let C = 6
        for i in 0..<count {
            let label = i % 3
            let T = 24 + Int(rng.next() % 25)
            var x = Tensor(shape: [C, T], data: (0..<(C * T)).map { _ in 0.5 * rng.nextNormal() })
            let offset = rng.uniform(-0.5, 0.5)
            for t in 0..<T {
                let u = Float(t) / Float(T - 1)
                let pitch: Float = label == 0 ? 2 * u - 1 : label == 1 ? 1 - 2 * u : 1 - 8 * (u - 0.5) * (u - 0.5)
                x[0, t] += 1.5 * pitch + offset
                x[1, t] += label == 2 ? 0.5 : 0
            }
            feats.append(x); labels.append(label)
        }
        return (feats, labels)
    }

    func testLearnsSyntheticContours() throws {
        var config = STACNNConfig(inputChannels: 6, numClasses: 3)
        config.convChannels = [16, 16, 16]
        config.lstmHidden = 8
        config.heads = 2
        config.dropout = 0.1
        let model = try STACNN(config: config, seed: 1)
        let opt = model.makeOptimizer(learningRate: 3e-3, weightDecay: 1e-3)
        let data = synthetic(count: 96, seed: 42)
        var order = Array(data.features.indices)
        var rng = SeededRandom(seed: 3)
        func accuracy() throws -> Double {
            let batch = try Batch(features: data.features, labels: data.labels)
            let z = model.logits(batch)
            var right = 0
            for b in 0..<batch.size {
                let row = Array(z.data[(b * 3)..<(b * 3 + 3)])
                if row.firstIndex(of: row.max()!) == data.labels[b] { right += 1 }
            }
            return Double(right) / Double(batch.size)
        }
        let initialLoss = model.forward(try Batch(features: data.features, labels: data.labels), training: false).loss
        var acc = 0.0
        for epoch in 0..<60 {
            order.shuffle(using: &rng)
            for start in stride(from: 0, to: order.count, by: 16) {
                let idx = order[start..<min(start + 16, order.count)]
                let batch = try Batch(features: idx.map { data.features[$0] }, labels: idx.map { data.labels[$0] })
                let loss = model.trainStep(batch, optimizer: opt, clipNorm: 5)
                XCTAssertTrue(loss.isFinite)
            }
            if epoch % 5 == 4 { acc = try accuracy(); print("epoch \(epoch + 1): training accuracy \(acc)"); if acc >= 0.99 { break } }
        }
        acc = try accuracy()
        let finalLoss = model.forward(try Batch(features: data.features, labels: data.labels), training: false).loss
        print("synthetic: accuracy \(acc), loss \(initialLoss) -> \(finalLoss)")
        XCTAssertGreaterThanOrEqual(acc, 0.95, "training accuracy \(acc)")
        XCTAssertLessThan(finalLoss, initialLoss * 0.5)
        // Held-out clips from the same task.
        let test = synthetic(count: 30, seed: 7)
        let z = model.logits(try Batch(features: test.features))
        var right = 0
        for b in 0..<30 { let row = Array(z.data[(b * 3)..<(b * 3 + 3)]); if row.firstIndex(of: row.max()!) == test.labels[b] { right += 1 } }
        XCTAssertGreaterThanOrEqual(right, 24, "held-out accuracy \(right)/30")
    }
}
