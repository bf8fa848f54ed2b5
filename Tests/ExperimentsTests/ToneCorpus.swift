import Foundation
import SERAudio
import SERCore

/// A generated two-class corpus for experiment tests: per speaker, `clips` 16 kHz WAV files
/// alternating "sad" (a low tone) and "angry" (a high one), each tone a little higher than the
/// last, at the speaker's gain, with seeded noise; listed in a CSV manifest.
enum ToneCorpus {
    /// Writes the files and `corpus.csv` (path,label,speaker) into `dir`; returns the manifest.
    /// Clip `i` of speaker `s` is `gain · (amplitude · sin(2π f t) + noise · n)`, with
    /// `f = (sad or angry Hz) · (1 + step · i)` and `n` standard normal (one stream, seed `seed`).
    static func write(to dir: URL, speakers: [(name: String, gain: Float)], clips: Int, samples: Int,
                      sadHz: Float, angryHz: Float, step: Float, amplitude: Float, noise: Float, seed: UInt64) throws -> URL {
        var csv = "path,label,speaker\n"
        var rng = SeededRandom(seed: seed)
        for (s, gain) in speakers {
            for i in 0..<clips {
                let label = i % 2 == 0 ? "sad" : "angry"
                let f = (label == "sad" ? sadHz : angryHz) * (1 + step * Float(i))
                let y = (0..<samples).map { n in gain * (amplitude * sin(2 * Float.pi * f * Float(n) / 16000) + noise * rng.nextNormal()) }
                let name = "\(s)\(i).wav"
                try AudioEncoder.writeWAV(y, sampleRate: 16000, to: dir.appendingPathComponent(name))
                csv += "\(name),\(label),\(s)\n"
            }
        }
        let manifest = dir.appendingPathComponent("corpus.csv")
        try csv.write(to: manifest, atomically: true, encoding: .utf8)
        return manifest
    }
}
