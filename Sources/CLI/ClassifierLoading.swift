// TEMPORARY stub: replaced by the STA-CNN + features adapter (owned by the CLI lead).
// Until then `--model fake:pitch` gives a deterministic stand-in so `ser predict`, `ser serve` and
// benchmarks/service/bench.sh can be exercised end to end.
import Foundation
import SERRecognizer

/// Why no classifier could be loaded.
enum ClassifierLoadingError: Error, CustomStringConvertible {
    /// The model adapter is not part of this build yet.
    case noModelYet(path: String?)

    var description: String {
        switch self {
        case let .noModelYet(path):
            return "\(path ?? "<default model>"): no model yet: this build cannot load an STA-CNN classifier "
                + "(the adapter has not landed; `--model fake:pitch` runs a stand-in for testing)"
        }
    }
}

/// The classifier for `ser predict` / `ser serve` from a model file (`nil`: the default model).
func loadClassifier(modelPath: String?) throws -> any ClipClassifier {
    if modelPath == "fake:pitch" { return FakePitchClassifier() }
    throw ClassifierLoadingError.noModelYet(path: modelPath)
}

/// A stand-in: "low" vs "high" from the share of the energy below ~500 Hz (two one-pole low-pass
/// filters), "quiet" from the level. Deterministic; not a model.
struct FakePitchClassifier: ClipClassifier {
    let labels = ["low", "high", "quiet"]
    let sampleRate = 16000

    func probabilities(samples: [Float]) throws -> [Float] {
        let a = Float(exp(-2 * Double.pi * 500 / Double(sampleRate)))
        var y1: Float = 0, y2: Float = 0
        var total: Double = 0, low: Double = 0
        for x in samples {
            y1 = (1 - a) * x + a * y1
            y2 = (1 - a) * y1 + a * y2
            total += Double(x * x)
            low += Double(y2 * y2)
        }
        let rms = (total / Double(max(1, samples.count))).squareRoot()
        let lowShare = total > 0 ? min(1, low / total) : 0.5
        let quiet = rms < 0.01 ? 0.8 : 0.05
        return [Float(lowShare * (1 - quiet)), Float((1 - lowShare) * (1 - quiet)), Float(quiet)]
    }
}
