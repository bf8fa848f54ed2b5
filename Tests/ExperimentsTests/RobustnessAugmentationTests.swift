import Foundation
import XCTest
import SERAudio
import SERCore
import SERExperiments
import SERFeatures
import SERTestSupport

private let rate = 22050

/// A `seconds`-long sine of `hz` at 22050 Hz.
private func tone(_ hz: Double, seconds: Double = 1, amplitude: Float = 0.5) -> [Float] {
    (0..<Int(Double(rate) * seconds)).map { amplitude * Float(sin(2 * Double.pi * hz * Double($0) / Double(rate))) }
}

/// A voice-like test signal: a 140 Hz harmonic series with a slow vibrato and syllable-rate
/// envelope, plus a little seeded noise; peak about 0.5.
private func voice(seconds: Double = 2, seed: UInt64 = 1) -> [Float] {
    var rng = SeededRandom(seed: seed)
    var phase = 0.0
    return (0..<Int(Double(rate) * seconds)).map { i in
        let t = Double(i) / Double(rate)
        phase += 2 * Double.pi * 140 * (1 + 0.03 * sin(2 * Double.pi * 5 * t)) / Double(rate)
        let harmonics = (1...12).reduce(0.0) { $0 + sin(Double($1) * phase) / Double($1) }
        let envelope = 0.5 + 0.5 * sin(2 * Double.pi * 3 * t)
        return Float(0.25 * envelope * harmonics) + 0.005 * rng.nextNormal()
    }
}

private func rms(_ x: ArraySlice<Float>) -> Double {
    (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, x.count))).squareRoot()
}
private func rms(_ x: [Float]) -> Double { rms(x[...]) }
/// RMS over the middle half (away from filter and resampler edges).
private func middleRMS(_ x: [Float]) -> Double { rms(x[(x.count / 4)..<(3 * x.count / 4)]) }
private func dB(_ ratio: Double) -> Double { 20 * log10(ratio) }

/// Normalised correlation of two equally long signals at lag 0.
private func correlation(_ a: [Float], _ b: [Float]) -> Double {
    var ab = 0.0, aa = 0.0, bb = 0.0
    for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
    return ab / max(1e-30, (aa * bb).squareRoot())
}

final class RobustnessAugmentationTests: XCTestCase {
    func testGainChangesRMSByTheAskedDecibelsAndClips() throws {
        let x = tone(440, amplitude: 0.1)
        for db in [-30.0, -10, 10] {
            let y = try AudioPerturbation.gain(dB: db).apply(x, sampleRate: rate, seed: 0)
            XCTAssertEqual(y.count, x.count)
            XCTAssertEqual(dB(rms(y) / rms(x)), db, accuracy: 0.01, "gain \(db) dB")
        }
        // +20 dB on a 0.5 sine would reach 5: clipped to [-1, 1].
        let loud = try AudioPerturbation.gain(dB: 20).apply(tone(440), sampleRate: rate, seed: 0)
        XCTAssertEqual(loud.map(abs).max(), 1)
        XCTAssertEqual(try AudioPerturbation.gain(dB: -10).apply([], sampleRate: rate, seed: 0), [])
    }

    func testTelephoneRemoves100HzAnd6kHzAndKeeps1kHz() throws {
        for muLaw in [false, true] {
            let p = AudioPerturbation.telephone(muLaw: muLaw)
            func change(_ hz: Double) throws -> Double {
                let x = tone(hz)
                let y = try p.apply(x, sampleRate: rate, seed: 0)
                XCTAssertEqual(y.count, x.count)
                XCTAssertTrue(y.allSatisfy(\.isFinite))
                return dB(middleRMS(y) / middleRMS(x))
            }
            XCTAssertEqual(try change(1000), 0, accuracy: 0.5, "1 kHz, mu-law \(muLaw)")
            // 4th-order Butterworth at 300 Hz: about -38 dB at 100 Hz; μ-law's quantisation noise
            // floor (8 bits) stays below -30 dB too.
            XCTAssertLessThan(try change(100), -30, "100 Hz, mu-law \(muLaw)")
            XCTAssertLessThan(try change(6000), -30, "6 kHz, mu-law \(muLaw)")
        }
        // The band-pass sections alone: unity at 1 kHz, -3 dB at the cutoffs.
        let qs = Biquad.butterworthQs(order: 4)
        XCTAssertEqual(qs[0], 0.5412, accuracy: 1e-4)
        XCTAssertEqual(qs[1], 1.3066, accuracy: 1e-4)
        let narrow = (0..<16000).map { Float(sin(2 * Double.pi * 3400 * Double($0) / 8000)) }
        let low = Biquad.filter(narrow, qs.map { Biquad.lowPass(cutoff: 3400, sampleRate: 8000, q: $0) })
        XCTAssertEqual(dB(middleRMS(low) / middleRMS(narrow)), -3.01, accuracy: 0.1)
        // μ-law keeps small and large values to within a quantisation step.
        let y = try AudioPerturbation.telephone(muLaw: true).apply(tone(1000), sampleRate: rate, seed: 0)
        let z = try AudioPerturbation.telephone(muLaw: false).apply(tone(1000), sampleRate: rate, seed: 0)
        XCTAssertNotEqual(y, z)
        XCTAssertGreaterThan(correlation(y, z), 0.99)
    }

    func testCodecRoundTripsKeepTheLengthAndCorrelateWithTheInput() throws {
        let x = voice()
        for setting in [CodecSetting(.mp3), CodecSetting(.opus), CodecSetting(.mp3, kbps: 16), CodecSetting(.opus, kbps: 8)] {
            let p = AudioPerturbation.codec(setting.codec, kbps: setting.kbps)
            let y = try p.apply(x, sampleRate: rate, seed: 0)
            XCTAssertEqual(y.count, x.count, p.tag)
            XCTAssertTrue(y.allSatisfy(\.isFinite))
            XCTAssertGreaterThan(correlation(x, y), 0.95, p.tag)       // 0.985-0.999 here
            XCTAssertEqual(try p.apply(x, sampleRate: rate, seed: 9), y, "\(p.tag) is deterministic")
        }
        // A signal without periods (low-passed noise): correlation at lag 0 shows the codec's delay
        // was removed (a periodic test signal could correlate at a wrong lag too).
        var rng = SeededRandom(seed: 4)
        var state: Float = 0
        let noise = (0..<rate).map { _ in state = 0.9 * state + 0.1 * rng.nextNormal(); return state }
        for setting in [CodecSetting(.mp3), CodecSetting(.opus)] {
            let y = try AudioPerturbation.codec(setting.codec, kbps: setting.kbps).apply(noise, sampleRate: rate, seed: 0)
            XCTAssertGreaterThan(correlation(noise, y), 0.7, "\(setting.codec)")  // MP3 0.96, Opus 0.82 here; ±1105 samples: 0.00
        }
        // The bit rate asked is the bit rate written (libsndfile's level mapping): 5 s of voice.
        let long = voice(seconds: 5)
        for (codec, kbps) in [(LossyCodec.mp3, 32), (.opus, 16)] {
            let r = codec.encodingRate(for: rate)
            let dir = try SharedData.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let url = dir.appendingPathComponent("x.\(codec.rawValue)")
            try AudioEncoder.write(try Resampler.resample(long, from: rate, to: r), sampleRate: r, format: codec.format,
                                   compressionLevel: codec.compressionLevel(kbps: kbps, sampleRate: r), to: url)
            let bytes = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
            XCTAssertEqual(Double(bytes) * 8 / 5 / 1000, Double(kbps), accuracy: Double(kbps) * 0.25, "\(codec)")
        }
        XCTAssertEqual(LossyCodec.opus.encodingRate(for: 22050), 24000)
        XCTAssertEqual(LossyCodec.mp3.encodingRate(for: 22050), 22050)
        XCTAssertEqual(try CodecRoundTrip.apply([], sampleRate: rate, codec: .mp3, kbps: 32), [])
    }

    func testReverbImpulseResponseDecaysAtTheAskedRT60() throws {
        for rt60 in [0.3, 0.6, 1.2] {
            let h = AudioPerturbation.roomImpulseResponse(rt60: rt60, sampleRate: rate, seed: 5)
            // Schroeder backward integration; RT60 from the -5 to -25 dB decay (T20 × 3).
            var edc = [Double](repeating: 0, count: h.count + 1)
            for i in stride(from: h.count - 1, through: 0, by: -1) { edc[i] = edc[i + 1] + Double(h[i]) * Double(h[i]) }
            let levels = edc.map { 10 * log10(max($0, 1e-300) / edc[0]) }
            let t5 = try XCTUnwrap(levels.firstIndex { $0 <= -5 }), t25 = try XCTUnwrap(levels.firstIndex { $0 <= -25 })
            let measured = 3 * Double(t25 - t5) / Double(rate)
            XCTAssertEqual(measured, rt60, accuracy: 0.2 * rt60, "RT60 \(rt60)")
            XCTAssertEqual(h, AudioPerturbation.roomImpulseResponse(rt60: rt60, sampleRate: rate, seed: 5))
            XCTAssertNotEqual(h, AudioPerturbation.roomImpulseResponse(rt60: rt60, sampleRate: rate, seed: 6))
        }
        let x = voice()
        let y = try AudioPerturbation.reverb(rt60: 0.6).apply(x, sampleRate: rate, seed: 5)
        XCTAssertEqual(y.count, x.count)
        XCTAssertEqual(rms(y), rms(x), accuracy: rms(x) * 1e-3)
        XCTAssertLessThanOrEqual(y.map(abs).max() ?? 0, 1)
        XCTAssertLessThan(correlation(x, y), 0.9)                     // smeared, not a copy
        XCTAssertEqual(try AudioPerturbation.reverb(rt60: 0.6).apply(x, sampleRate: rate, seed: 5), y)
        XCTAssertNotEqual(try AudioPerturbation.reverb(rt60: 0.6).apply(x, sampleRate: rate, seed: 6), y)
        let silence = [Float](repeating: 0, count: 1000)
        XCTAssertEqual(try AudioPerturbation.reverb(rt60: 0.6).apply(silence, sampleRate: rate, seed: 5), silence)
    }

    func testFFTConvolutionMatchesTheDirectSum() {
        var rng = SeededRandom(seed: 2)
        let x = (0..<300).map { _ in rng.nextNormal() }, h = (0..<77).map { _ in rng.nextNormal() }
        let y = FFTConvolution.convolve(x, h)
        XCTAssertEqual(y.count, 376)
        for n in 0..<y.count {
            var direct = 0.0
            for k in max(0, n - h.count + 1)...min(n, x.count - 1) { direct += Double(x[k]) * Double(h[n - k]) }
            XCTAssertEqual(Double(y[n]), direct, accuracy: 1e-4)
        }
        XCTAssertEqual(FFTConvolution.convolve([], h), [])
    }

    /// Pink noise: the SNR asked, and equal power per octave (white noise gains 3 dB per octave).
    func testPinkNoiseHasTheAskedSNRAndEqualPowerPerOctave() throws {
        let x = voice()
        let y = try AudioPerturbation.pinkNoise(snrDB: 10).apply(x, sampleRate: rate, seed: 7)
        let noise = zip(y, x).map { $0 - $1 }
        XCTAssertEqual(dB(rms(x) / rms(noise)), 10, accuracy: 0.05)
        XCTAssertEqual(try AudioPerturbation.pinkNoise(snrDB: 10).apply(x, sampleRate: rate, seed: 7), y)
        XCTAssertNotEqual(try AudioPerturbation.pinkNoise(snrDB: 10).apply(x, sampleRate: rate, seed: 8), y)
        var rng = SeededRandom(seed: 1)
        let pink = ColouredNoise.pink(count: 4 * rate, rng: &rng)
        XCTAssertEqual(rms(pink), 1, accuracy: 1e-4)
        func octave(_ lo: Double) -> Double {
            let qs = Biquad.butterworthQs(order: 4)
            let band = Biquad.filter(pink, qs.map { Biquad.highPass(cutoff: lo, sampleRate: Double(rate), q: $0) }
                                          + qs.map { Biquad.lowPass(cutoff: 2 * lo, sampleRate: Double(rate), q: $0) })
            return 20 * log10(middleRMS(band))
        }
        let low = octave(250), mid = octave(1000), high = octave(4000)
        XCTAssertEqual(mid - low, 0, accuracy: 1, "pink: equal power per octave")
        XCTAssertEqual(high - low, 0, accuracy: 1.5, "pink: equal power per octave")
    }

    func testPaddingAddsExactlyTheSamplesAsked() throws {
        let x = voice(seconds: 0.5)
        let y = try AudioPerturbation.padSilence(seconds: 1, noiseFloorDB: nil).apply(x, sampleRate: rate, seed: 0)
        XCTAssertEqual(y.count, x.count + 2 * rate)
        XCTAssertEqual(Array(y[rate..<(rate + x.count)]), x)
        XCTAssertTrue(y[..<rate].allSatisfy { $0 == 0 } && y[(rate + x.count)...].allSatisfy { $0 == 0 })
        let short = try AudioPerturbation.padSilence(seconds: 0.25, noiseFloorDB: nil).apply(x, sampleRate: 16000, seed: 0)
        XCTAssertEqual(short.count, x.count + 8000)
        let floor = try AudioPerturbation.padSilence(seconds: 1, noiseFloorDB: -80).apply(x, sampleRate: rate, seed: 3)
        XCTAssertEqual(floor.count, y.count)
        XCTAssertEqual(Array(floor[rate..<(rate + x.count)]), x)
        XCTAssertEqual(dB(rms(floor[..<rate])), -80, accuracy: 0.5)
        XCTAssertEqual(dB(rms(floor[(rate + x.count)...])), -80, accuracy: 0.5)
        XCTAssertEqual(try AudioPerturbation.padSilence(seconds: 1, noiseFloorDB: -80).apply(x, sampleRate: rate, seed: 3), floor)
        XCTAssertNotEqual(try AudioPerturbation.padSilence(seconds: 1, noiseFloorDB: -80).apply(x, sampleRate: rate, seed: 4), floor)
    }

    /// Every new perturbation: the same output twice, finite output on silence, empty stays empty.
    func testNewPerturbationsAreDeterministicAndFiniteOnSilence() throws {
        let all: [AudioPerturbation] = [.pinkNoise(snrDB: 10), .gain(dB: -30), .gain(dB: 10), .telephone(muLaw: false), .telephone(muLaw: true),
                                        .codec(.mp3, kbps: 32), .codec(.opus, kbps: 16), .reverb(rt60: 0.3),
                                        .padSilence(seconds: 0.5, noiseFloorDB: nil), .padSilence(seconds: 0.5, noiseFloorDB: -80)]
        let x = voice(seconds: 1)
        let silence = [Float](repeating: 0, count: 4410)
        for p in all {
            let y = try p.apply(x, sampleRate: rate, seed: 11)
            XCTAssertEqual(try p.apply(x, sampleRate: rate, seed: 11), y, p.tag)
            XCTAssertTrue(y.allSatisfy(\.isFinite), p.tag)
            XCTAssertNotEqual(y, x, p.tag)
            let s = try p.apply(silence, sampleRate: rate, seed: 11)
            XCTAssertTrue(s.allSatisfy(\.isFinite), p.tag)
            XCTAssertLessThan(rms(s), 1e-3, "\(p.tag): silence stays (near) silent")
            XCTAssertEqual(try p.apply([], sampleRate: rate, seed: 11), [], p.tag)
        }
    }

    func testNewSettingsValidateAndSpecsRoundTrip() throws {
        let full = WaveformAugmentation(noiseSNRs: [20], pinkNoiseSNRs: [10], gainsDB: [-30, -10, 10], telephone: [.band, .mulaw],
                                        codecs: [CodecSetting(.mp3), CodecSetting(.opus, kbps: 12)], reverbRT60s: [0.3, 0.6],
                                        padSilence: [1], padNoiseFloorDB: -80)
        XCTAssertNoThrow(try full.validate())
        XCTAssertEqual(full.perturbations.map(\.tag),
                       ["noise20", "pink10", "gain-30", "gain-10", "gain10", "telephone", "telephone-mulaw", "mp3-32k", "opus-12k",
                        "reverb0.3", "reverb0.6", "pad1-floor-80"])
        XCTAssertEqual(WaveformAugmentation(padSilence: [0.5, 1]).perturbations.map(\.tag), ["pad0.5", "pad1"])
        XCTAssertEqual(try JSONDecoder().decode(WaveformAugmentation.self, from: try JSONEncoder().encode(full)), full)
        for bad in [WaveformAugmentation(gainsDB: [0]), WaveformAugmentation(gainsDB: [30]), WaveformAugmentation(gainsDB: [.nan]),
                    WaveformAugmentation(gainsDB: [-10, -10]), WaveformAugmentation(pinkNoiseSNRs: [.nan]), WaveformAugmentation(telephone: [.band, .band]),
                    WaveformAugmentation(codecs: [CodecSetting(.mp3, kbps: 4)]), WaveformAugmentation(codecs: [CodecSetting(.opus, kbps: 500)]),
                    WaveformAugmentation(reverbRT60s: [0]), WaveformAugmentation(reverbRT60s: [.infinity]),
                    WaveformAugmentation(padSilence: [-1]), WaveformAugmentation(padSilence: [.nan]),
                    WaveformAugmentation(padSilence: [1], padNoiseFloorDB: 0), WaveformAugmentation(padNoiseFloorDB: -80)] {
            XCTAssertThrowsError(try bad.validate(), "\(bad)") { e in
                guard case ExperimentError.invalidSetup = e else { return XCTFail("\(e)") }
            }
        }
        // Specs written before these settings existed decode, and encode byte for byte as they were.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for older in [#"{"noiseSNRs":[20],"speeds":[0.9,1.1]}"#, #"{"noiseSNRs":[],"pitchShifts":[-1,1],"speeds":[]}"#] {
            let decoded = try JSONDecoder().decode(WaveformAugmentation.self, from: Data(older.utf8))
            XCTAssertTrue(decoded.pinkNoiseSNRs.isEmpty && decoded.gainsDB.isEmpty && decoded.telephone.isEmpty && decoded.codecs.isEmpty
                          && decoded.reverbRT60s.isEmpty && decoded.padSilence.isEmpty && decoded.padNoiseFloorDB == nil)
            XCTAssertEqual(String(decoding: try encoder.encode(decoded), as: UTF8.self), older)
        }
    }

    func testCacheKeepsTheNewCopiesApart() throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.wav")
        try AudioEncoder.writeWAV(voice(seconds: 1), sampleRate: rate, to: a)
        var cfg = FeatureConfig(); cfg.blocks = [.mfcc, .zcr]
        let cache = FeatureCache(root: dir.appendingPathComponent("cache"), config: cfg)
        let plain = try cache.features(for: [a], threads: 1, progress: false)[0]
        let padded = try cache.features(for: [a], perturbation: .padSilence(seconds: 1, noiseFloorDB: nil), threads: 1, progress: false)[0]
        let quiet = try cache.features(for: [a], perturbation: .gain(dB: -10), threads: 1, progress: false)[0]
        XCTAssertEqual(padded.shape[1], 1 + (rate + 2 * rate) / 512)
        XCTAssertEqual(quiet.shape, plain.shape)
        XCTAssertNotEqual(quiet, plain)
        let names = try FileManager.default.contentsOfDirectory(atPath: cache.folder.path)
        XCTAssertEqual(names.filter { $0.hasSuffix("-pad1.safetensors") }.count, 1)
        XCTAssertEqual(names.filter { $0.hasSuffix("-gain-10.safetensors") }.count, 1)
    }
}
