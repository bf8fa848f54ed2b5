import ArgumentParser
import Foundation
import SERAudio

/// `ser demo-signal`: writes a synthetic voiced recording for demos and smoke tests.
struct DemoSignalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-signal",
        abstract: "Write a synthetic voice-like WAV (a glottal pulse train through vowel formants, with pauses).")

    @Option(help: "Output WAV file.") var out: String
    @Option(help: "Duration in seconds.") var seconds: Double = 6
    @Option(help: "Sample rate (Hz).") var sr: Int = 22050

    func run() throws {
        let x = DemoSignal.make(seconds: seconds, sampleRate: sr)
        try AudioEncoder.writeWAV(x, sampleRate: sr, to: URL(fileURLWithPath: out))
        print("wrote \(out) (\(String(format: "%.1f", seconds)) s at \(sr) Hz)")
    }
}

/// A deterministic voice-like signal: syllables of a pulse train with a moving pitch, filtered by
/// two formant resonators, separated by short pauses.
enum DemoSignal {
    static func make(seconds: Double, sampleRate sr: Int) -> [Float] {
        let n = Int(seconds * Double(sr))
        var x = [Float](repeating: 0, count: n)
        var phase = 0.0
        var y1 = 0.0, y2 = 0.0, z1 = 0.0, z2 = 0.0
        func resonator(_ f: Double, _ bw: Double) -> (Double, Double, Double) {
            let r = exp(-Double.pi * bw / Double(sr)), th = 2 * Double.pi * f / Double(sr)
            return (2 * r * cos(th), -r * r, 1 - r)
        }
        for i in 0..<n {
            let t = Double(i) / Double(sr)
            let syl = t.truncatingRemainder(dividingBy: 1.0)     // 0.7 s voiced, 0.3 s pause
            let env = syl < 0.7 ? sin(Double.pi * syl / 0.7) : 0
            let f0 = 140 + 40 * sin(2 * Double.pi * 0.4 * t) + 20 * syl
            phase += f0 / Double(sr)
            var pulse = 0.0
            if phase >= 1 { phase -= 1; pulse = 1 }
            let vowel = Int(t) % 2 == 0
            let (a1, a2, g1) = resonator(vowel ? 700 : 300, 90)
            let (b1, b2, g2) = resonator(vowel ? 1200 : 2300, 120)
            let s1 = g1 * pulse + a1 * y1 + a2 * y2; y2 = y1; y1 = s1
            let s2 = g2 * s1 + b1 * z1 + b2 * z2; z2 = z1; z1 = s2
            x[i] = Float(env * (s1 * 0.6 + s2 * 2.0))
        }
        let peak = x.map(abs).max() ?? 1
        if peak > 0 { for i in 0..<n { x[i] *= 0.5 / peak } }
        return x
    }
}
