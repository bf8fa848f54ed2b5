import Foundation

/// Level normalisation of a clip before its features: the clip is scaled so that its loud frames
/// sit at a fixed level, so the same voice recorded 10 dB louder or quieter gives the same
/// features (up to clipping). Whisper's log-mel, for one, shifts with the input level.
///
/// The level is the 95th percentile of the RMS levels (dBFS) of 25 ms frames every 10 ms: the
/// loud reference the voice activity detector uses, robust to a few clicks and to silence around
/// the speech (padding a clip with silence does not change it). The gain is clamped to
/// ±``maxGain`` dB, so a near-silent clip is not blown up into noise.
public enum Loudness {
    /// Largest gain applied, in dB (up or down).
    public static let maxGain: Double = 40

    /// The clip's loud reference level in dBFS (−120 for digital silence or an empty clip).
    public static func referenceLevel(_ x: [Float], sampleRate: Int) -> Double {
        let frame = max(1, sampleRate / 40), hop = max(1, sampleRate / 100)   // 25 ms, 10 ms
        guard !x.isEmpty else { return -120 }
        var levels: [Double] = []
        levels.reserveCapacity(x.count / hop + 1)
        var start = 0
        repeat {
            let end = min(x.count, start + frame)
            var e = 0.0
            for i in start..<end { e += Double(x[i]) * Double(x[i]) }
            let rms = (e / Double(end - start)).squareRoot()
            levels.append(rms > 1e-6 ? 20 * log10(rms) : -120)
            start += hop
        } while start + frame <= x.count
        levels.sort()
        return levels[min(levels.count - 1, Int((0.95 * Double(levels.count - 1)).rounded()))]
    }

    /// `x` scaled so that its ``referenceLevel(_:sampleRate:)`` becomes `target` dBFS (gain
    /// clamped to ±``maxGain`` dB).
    public static func normalized(_ x: [Float], sampleRate: Int, target: Double) -> [Float] {
        let gainDB = min(maxGain, max(-maxGain, target - referenceLevel(x, sampleRate: sampleRate)))
        let g = Float(pow(10, gainDB / 20))
        return x.map { $0 * g }
    }
}
