import Foundation
import SpeechEmotion

// Usage: QuickStart FILE [default|handmade]
let arguments = CommandLine.arguments.dropFirst()
guard let path = arguments.first else {
    print("usage: QuickStart FILE [default|handmade]")
    exit(2)
}
let model = BundledModel(rawValue: arguments.dropFirst().first ?? "default") ?? .default

do {
    // The bundled default model needs the Whisper-base encoder, installed once with `ser encoder install base`.
    let recognizer = EmotionRecognizer(classifier: try model.classifier())
    let p = try recognizer.recognize(file: URL(fileURLWithPath: path))
    if let emotion = p.emotion, let confidence = p.confidence {
        print("\(path): \(emotion) \(confidence) (normalisation: \(p.normalization ?? "none"))")
        for (label, probability) in zip(recognizer.labels, p.probabilityVector) {
            print("  \(label) \(probability)")
        }
    } else {
        print("\(path): no speech")
    }
} catch let error as RecognizerError {
    print("could not recognise \(path): \(error)")       // names the file and the reason
    exit(1)
} catch {
    print("could not load the model: \(error)")
    exit(1)
}
