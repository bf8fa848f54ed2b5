import Foundation

/// SAVEE (Haq, Jackson & Edge 2008), either layout:
/// `AudioData/DC/a01.wav` (speaker folder + emotion prefix + sentence number) or `ALL/DC_a01.wav`.
///
/// Prefixes: a anger -> angry, d disgust, f fear -> fearful, h happiness -> happy, n neutral,
/// sa sadness -> sad, su surprise -> surprised. Speakers DC, JE, JK, KL (all male). Tags:
/// `sentence`, `gender`. Non-audio files (e.g. `Info.txt`) are ignored; audio files whose name
/// does not parse are reported.
public struct SAVEELoader: CorpusLoader {
    /// Whether byte-identical files are reported.
    public var checkIdenticalContent: Bool
    /// Creates a loader.
    public init(checkIdenticalContent: Bool = true) { self.checkIdenticalContent = checkIdenticalContent }
    /// `SAVEE`.
    public var corpusName: String { "SAVEE" }

    /// Emotion prefixes.
    public static let prefixes: [String: Emotion] = [
        "a": .angry, "d": .disgust, "f": .fearful, "h": .happy, "n": .neutral, "sa": .sad, "su": .surprised,
    ]

    /// Splits `sa03` into ("sa", "03").
    static func splitCode(_ s: Substring) -> (String, String)? {
        let letters = s.prefix { $0.isLetter }
        let digits = s.dropFirst(letters.count)
        guard !letters.isEmpty, !digits.isEmpty, digits.allSatisfy(\.isNumber) else { return nil }
        return (letters.lowercased(), String(digits))
    }

    /// Loads the corpus.
    public func load(from root: URL) throws -> Corpus {
        try CorpusFiles.requireDirectory(root)
        var b = CorpusBuilder(name: corpusName, root: root, labels: Emotion.names(Array(Self.prefixes.values)))
        for (url, rel) in CorpusFiles.files(under: root) where b.isAcceptedAudio(rel) {
            let stem = url.deletingPathExtension().lastPathComponent
            let folder = url.deletingLastPathComponent().lastPathComponent
            var speaker: String, code: Substring
            let pieces = stem.split(separator: "_")
            if pieces.count == 2, pieces[0].count == 2, pieces[0].allSatisfy(\.isUppercase) {
                speaker = String(pieces[0]); code = pieces[1]                // ALL/DC_a01
            } else if pieces.count == 1, folder.count == 2, folder.allSatisfy(\.isUppercase) {
                speaker = folder; code = Substring(stem)                     // AudioData/DC/a01
            } else {
                b.problem(rel, .unparsableName("expected AudioData/XX/e01 or ALL/XX_e01")); continue
            }
            guard let (prefix, sentence) = Self.splitCode(code) else {
                b.problem(rel, .unparsableName("emotion code '\(code)'")); continue
            }
            guard let emotion = Self.prefixes[prefix] else { b.problem(rel, .unknownLabel(prefix)); continue }
            b.add(id: CorpusFiles.stripExtension(rel), url: url, key: "\(speaker)_\(prefix)\(sentence)", file: rel,
                  label: emotion.rawValue, speaker: speaker, tags: ["sentence": sentence, "gender": "male"])
        }
        if b.entries.isEmpty && b.problems.isEmpty {
            throw CorpusError.layoutNotRecognized(root.path, "no SAVEE audio files (AudioData/XX/e01.wav or ALL/XX_e01.wav)")
        }
        return b.finish(checkIdenticalContent: checkIdenticalContent)
    }
}
