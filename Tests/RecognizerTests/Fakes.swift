import Foundation
import SERCore
import SERRecognizer

/// A deterministic fake model: "low" vs "high" from the energy at 220 Hz vs 1760 Hz (Goertzel),
/// "quiet" when the clip's RMS is below 0.01. A window mixing both tones gets probabilities in
/// proportion to their energies, like a real model averaging over time.
struct ToneClassifier: ClipClassifier {
    let labels = ["low", "high", "quiet"]
    let sampleRate: Int
    init(sampleRate: Int = 16000) { self.sampleRate = sampleRate }

    func probabilities(samples: [Float]) throws -> [Float] {
        let lo = goertzel(samples, hz: 220), hi = goertzel(samples, hz: 1760)
        var energy: Double = 0
        for x in samples { energy += Double(x * x) }
        let rms = (energy / Double(max(1, samples.count))).squareRoot()
        let quiet = rms < 0.01 ? 0.9 : 0.02
        let share = lo + hi > 0 ? lo / (lo + hi) : 0.5
        return [Float(share * (1 - quiet)), Float((1 - share) * (1 - quiet)), Float(quiet)]
    }

    private func goertzel(_ x: [Float], hz: Double) -> Double {
        let w = 2 * Double.pi * hz / Double(sampleRate), c = 2 * cos(w)
        var s1 = 0.0, s2 = 0.0
        for v in x { let s = Double(v) + c * s1 - s2; s2 = s1; s1 = s }
        return s1 * s1 + s2 * s2 - c * s1 * s2
    }
}

/// Returns whatever it was built with (for output validation tests).
struct FixedClassifier: ClipClassifier {
    let labels: [String]
    let sampleRate = 16000
    let output: [Float]
    func probabilities(samples: [Float]) throws -> [Float] { output }
}

/// Always throws.
struct FailingClassifier: ClipClassifier {
    struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
    let labels = ["a", "b"]
    let sampleRate = 16000
    func probabilities(samples: [Float]) throws -> [Float] { throw Boom() }
}

/// Test signals.
enum Signals {
    static func tone(_ hz: Double, seconds: Double, rate: Int = 16000, amplitude: Float = 0.3) -> [Float] {
        (0..<Int(seconds * Double(rate))).map { amplitude * Float(sin(2 * Double.pi * hz * Double($0) / Double(rate))) }
    }

    /// Very quiet seeded noise (about −80 dBFS), as in a real recording's pauses.
    static func silence(seconds: Double, rate: Int = 16000, seed: UInt64 = 7) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<Int(seconds * Double(rate))).map { _ in rng.nextNormal() * 1e-4 }
    }

    /// 0–0.5 s silence, 0.5–4.5 low, 4.5–7 silence, 7–11 high, 11–12 silence, 12–16 low, 16–20 high, 20–21 silence.
    static func bursts(rate: Int = 16000) -> [Float] {
        silence(seconds: 0.5, rate: rate, seed: 1) + tone(220, seconds: 4, rate: rate) + silence(seconds: 2.5, rate: rate, seed: 2)
            + tone(1760, seconds: 4, rate: rate) + silence(seconds: 1, rate: rate, seed: 3)
            + tone(220, seconds: 4, rate: rate) + tone(1760, seconds: 4, rate: rate) + silence(seconds: 1, rate: rate, seed: 4)
    }
}
