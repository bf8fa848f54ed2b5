import Foundation

/// TESS (Toronto emotional speech set): `OAF_back_angry.wav`, `YAF_…`, flat or in folders such as
/// `OAF_angry/`. Emotions: angry, disgust, fear -> fearful, happy, neutral, ps (pleasant surprise)
/// -> surprised, sad. Speakers OAF and YAF (both female); the release's one `OA_` name is read as
/// OAF and noted. Tags: `word`, `gender`. AIFF data under a `.wav` name is kept and noted.
public struct TESSLoader: CorpusLoader {
    /// Whether byte-identical files are reported.
    public var checkIdenticalContent: Bool
    /// Creates a loader.
    public init(checkIdenticalContent: Bool = true) { self.checkIdenticalContent = checkIdenticalContent }
    /// `TESS`.
    public var corpusName: String { "TESS" }

    /// Emotion words.
    public static let words: [String: Emotion] = [
        "angry": .angry, "disgust": .disgust, "fear": .fearful, "happy": .happy,
        "neutral": .neutral, "ps": .surprised, "sad": .sad,
    ]

    /// Loads the corpus.
    public func load(from root: URL) throws -> Corpus {
        try CorpusFiles.requireDirectory(root)
        var b = CorpusBuilder(name: corpusName, root: root, labels: Emotion.names(Array(Set(Self.words.values))))
        for (url, rel) in CorpusFiles.files(under: root) where b.isAcceptedAudio(rel) {
            let stem = url.deletingPathExtension().lastPathComponent
            let parts = stem.split(separator: "_").map(String.init)
            guard parts.count >= 3 else { b.problem(rel, .unparsableName("expected OAF_<word>_<emotion>")); continue }
            var speaker = parts[0].uppercased()
            if speaker == "OA" {
                speaker = "OAF"; b.problem(rel, .note("prefix OA_ read as OAF"))
            }
            guard speaker == "OAF" || speaker == "YAF" else {
                b.problem(rel, .unparsableName("speaker prefix \(parts[0]) is not OAF/YAF")); continue
            }
            let code = parts[parts.count - 1].lowercased()
            guard let emotion = Self.words[code] else { b.problem(rel, .unknownLabel(code)); continue }
            let word = parts[1..<(parts.count - 1)].joined(separator: "_").lowercased()
            b.add(id: CorpusFiles.stripExtension(rel), url: url, key: "\(speaker)_\(word)_\(code)", file: rel,
                  label: emotion.rawValue, speaker: speaker, tags: ["word": word, "gender": "female"])
        }
        if b.entries.isEmpty && b.problems.isEmpty {
            throw CorpusError.layoutNotRecognized(root.path, "no TESS audio files (OAF_<word>_<emotion>.wav)")
        }
        return b.finish(checkIdenticalContent: checkIdenticalContent)
    }
}
