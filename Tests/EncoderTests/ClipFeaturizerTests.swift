import Foundation
import XCTest
import SERCore
import SERAudio
import SERFeatures
@testable import SEREncoder
import SERTestSupport

/// The fused matrix of hand-made and encoder blocks (`ClipFeaturizer`), on the small random-weight
/// encoder of `WhisperEncoderTests` (context 64 frames = 1.3 s, so long clips go in pieces).
final class ClipFeaturizerTests: XCTestCase {
    private var folder: URL!
    private var store: EncoderStore!
    private var weights: URL!
    private var encoder: WhisperEncoder!

    override func setUpWithError() throws {
        folder = try SharedData.temporaryDirectory("featurizer")
        weights = folder.appendingPathComponent("whisper-test.safetensors")
        let ckpt = try WhisperEncoderTests.randomCheckpoint()
        try ckpt.write(to: weights)
        store = EncoderStore(cache: folder)
        encoder = try store.encoder(weights.path)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func config(_ blocks: [FeatureBlock], layer: EncoderLayerSelection = .last, sampleRate: Int = 16_000) throws -> FeatureConfig {
        var c = FeatureConfig()
        c.blocks = blocks
        c.sampleRate = sampleRate
        if blocks.contains(.encoder) { c.encoder = try store.blockConfig(weights.path, layer: layer) }
        return c
    }

    private func maxDifference(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func testHandmadeBlocksAloneEqualTheExtractor() throws {
        let c = try config([.spectrogram, .chroma, .mfcc, .zcr], sampleRate: 22_050)
        let clip = WhisperEncoderTests.randomClip(samples: 30_000, seed: 1)
        let got = try ClipFeaturizer(config: c, store: store).extract(clip)
        let expected = FeatureExtractor(config: c).extract(clip)
        XCTAssertEqual(got.shape, expected.shape)
        XCTAssertLessThanOrEqual(maxDifference(got.data[...], expected.data[...]), 1e-5)
    }

    func testEncoderBlockIsTheTransposedHiddenState() throws {
        let clip = WhisperEncoderTests.randomClip(samples: 12_000, seed: 2)
        let states = try encoder.hiddenStates(samples16k: clip)
        for (layer, expected) in [(EncoderLayerSelection.last, states[2]), (.index(1), states[1])] {
            let f = try ClipFeaturizer(config: config([.encoder], layer: layer), store: store)
            let x = try f.extract(clip)
            let t = expected.shape[0], d = expected.shape[1]
            XCTAssertEqual(x.shape, [d, t])
            XCTAssertEqual(f.frameCount(samples: clip.count), t)
            var worst: Float = 0
            for i in 0..<t { for c in 0..<d { worst = max(worst, abs(x.data[c * t + i] - expected.data[i * d + c])) } }
            XCTAssertLessThanOrEqual(worst, 1e-5, "layer \(layer)")
        }
        // mean: the average of every hidden state.
        let mean = try ClipFeaturizer(config: config([.encoder], layer: .mean), store: store).extract(clip)
        let t = states[0].shape[0], d = states[0].shape[1]
        var worst: Float = 0
        for i in 0..<t { for c in 0..<d {
            let avg = states.reduce(Float(0)) { $0 + $1.data[i * d + c] } / Float(states.count)
            worst = max(worst, abs(mean.data[c * t + i] - avg))
        } }
        XCTAssertLessThanOrEqual(worst, 1e-5)
    }

    func testWeightedCarriesEveryHiddenStateAsHalves() throws {
        let clip = WhisperEncoderTests.randomClip(samples: 12_000, seed: 5)
        let states = try encoder.hiddenStates(samples16k: clip)                // L tensors (T', d)
        let c = try config([.encoder], layer: .weighted)
        let (L, t, d) = (states.count, states[0].shape[0], states[0].shape[1])
        XCTAssertEqual(c.encoder?.channels, L * d)
        XCTAssertEqual(c.channels, L * d)
        let x = try ClipFeaturizer(config: c, store: store).extract(clip)    // (L * d, T')
        XCTAssertEqual(x.shape, [L * d, t])
        // Row l * d + c is state l's channel c, rounded to the nearest Float16.
        var worst: Float = 0
        for l in 0..<L { for ch in 0..<d { for i in 0..<t {
            let v = states[l].data[i * d + ch]
            XCTAssertEqual(x.data[(l * d + ch) * t + i], Float(Float16(v)))
            worst = max(worst, abs(x.data[(l * d + ch) * t + i] - v) / max(abs(v), 1e-3))
        } } }
        XCTAssertLessThanOrEqual(worst, 1e-3)
        // So the cache stores it as F16 without changing a value, in half the bytes.
        XCTAssertTrue(SafeTensorsFile.isHalfExact(x))
        var file = SafeTensorsFile(tensors: ["features": x])
        let full = file.serialized().count
        file.halfPrecision = ["features"]
        let url = folder.appendingPathComponent("half.safetensors")
        try file.write(to: url)
        let half = try Data(contentsOf: url).count
        XCTAssertLessThan(half, full / 2 + 1024)
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url)["features"], x)
        // Beside a hand-made block: the block's rows are the same states at the hand-made frames.
        let fused = try config([.zcr, .encoder], layer: .weighted, sampleRate: 16_000)
        XCTAssertEqual(fused.firstChannel(of: .encoder), 1)
        let y = try ClipFeaturizer(config: fused, store: store).extract(clip)
        XCTAssertEqual(y.shape[0], 1 + L * d)
        let ty = y.shape[1]
        for l in 0..<L { for ch in 0..<d { XCTAssertEqual(y.data[(1 + l * d + ch) * ty], x.data[(l * d + ch) * t]) } }
        XCTAssertEqual(EncoderLayerSelection("weighted"), .weighted)
        XCTAssertEqual(EncoderLayerSelection.weighted.description, "weighted")
    }

    func testFusedBlocksKeepTheHandmadeFramesAndOrder() throws {
        let c = try config([.zcr, .encoder, .mfcc], sampleRate: 22_050)
        let clip = WhisperEncoderTests.randomClip(samples: 22_050, seed: 3)   // 1 s
        let x = try ClipFeaturizer(config: c, store: store).extract(clip)
        let hand = FeatureExtractor(config: c.handmadeOnly).extract(clip)      // zcr (1) then mfcc (40)
        let t = hand.shape[1], d = c.encoder!.width
        XCTAssertEqual(x.shape, [1 + d + 40, t])
        XCTAssertLessThanOrEqual(maxDifference(x.data[0..<t], hand.data[0..<t]), 1e-6)
        XCTAssertLessThanOrEqual(maxDifference(x.data[((1 + d) * t)...], hand.data[t...]), 1e-4)
        // Encoder rows are the encoder's frames at the nearest time (its first frame at t = 0).
        let x16 = try Resampler.resample(clip, from: 22_050, to: 16_000)
        let states = try encoder.hiddenStates(samples16k: x16)
        let last = states[states.count - 1]
        for c in 0..<d { XCTAssertEqual(x.data[(1 + c) * t], last.data[c], accuracy: 1e-5) }
        // Frame 10 is centred at 10 * 512 / 22050 s = 0.232 s: encoder frame 12 (20 ms each).
        for c in 0..<d { XCTAssertEqual(x.data[(1 + c) * t + 10], last.data[12 * d + c], accuracy: 1e-5) }
    }

    func testClipsLongerThanTheContextGoInPieces() throws {
        let f = try ClipFeaturizer(config: config([.encoder]), store: store)
        let piece = (encoder.maximumSamples / 320) * 320                      // 20480 samples = 64 frames
        let clip = WhisperEncoderTests.randomClip(samples: 2 * piece + 5_000, seed: 4)
        let x = try f.extract(clip)
        let expectedFrames = 2 * WhisperEncoder.frames(samples: piece) + WhisperEncoder.frames(samples: 5_000)
        XCTAssertEqual(x.shape[1], expectedFrames)
        XCTAssertEqual(f.frameCount(samples: clip.count), expectedFrames)
        // The second piece is encoded on its own.
        let second = try encoder.hiddenStates(samples16k: Array(clip[piece..<(2 * piece)])).last!
        let t = x.shape[1], d = x.shape[0], first = WhisperEncoder.frames(samples: piece)
        for c in 0..<d { XCTAssertEqual(x.data[c * t + first], second.data[c], accuracy: 1e-5) }
        // Shorter than one frame: padded, not refused.
        XCTAssertEqual(try f.extract([0.1, -0.1, 0.2]).shape[0], d)
    }

    func testMissingOrMismatchedWeightsAreTypedErrors() throws {
        XCTAssertThrowsError(try store.encoder("base")) { error in
            guard case EncoderError.notInstalled(let model, _)? = error as? EncoderError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(model, "base")
            XCTAssertTrue("\(error)".contains("ser encoder install base"))
        }
        var c = try config([.encoder])
        c.encoder?.width = 512
        XCTAssertThrowsError(try ClipFeaturizer(config: c, store: store)) { error in
            guard case EncoderError.mismatch? = error as? EncoderError else { return XCTFail("\(error)") }
        }
        c.encoder = nil
        XCTAssertThrowsError(try ClipFeaturizer(config: c, store: store)) { error in
            XCTAssertTrue(error is FeatureConfigError, "\(error)")
        }
    }

    func testOlderConfigurationsDecodeAndEncodeUnchanged() throws {
        // A model file written before the encoder block existed has no "encoder" key.
        let old = FeatureConfig().jsonString()
        XCTAssertFalse(old.contains("encoder"))
        let decoded = try JSONDecoder().decode(FeatureConfig.self, from: Data(old.utf8))
        XCTAssertEqual(decoded, FeatureConfig())
        let c = try config([.encoder], layer: .index(1))
        let back = try JSONDecoder().decode(FeatureConfig.self, from: Data(c.jsonString().utf8))
        XCTAssertEqual(back, c)
        XCTAssertTrue(c.jsonString().contains("\"layer\":\"1\""))
    }
}
