import Foundation

/// CREMA-D (Cao et al. 2014): `AudioWAV/1001_DFA_ANG_XX.wav` (actor, sentence, emotion, intensity).
///
/// Emotions ANG -> angry, DIS -> disgust, FEA -> fearful, HAP -> happy, NEU -> neutral, SAD -> sad.
/// Intensity LO/MD/HI/XX -> low/medium/high/unspecified. Speaker is the actor id (`1001`…`1091`).
/// Tags: `sentence`, `intensity`. Reads `AudioWAV/` when present, else the folder itself.
public struct CREMADLoader: CorpusLoader {
    /// Whether byte-identical files are reported.
    public var checkIdenticalContent: Bool
    /// Creates a loader.
    public init(checkIdenticalContent: Bool = true) { self.checkIdenticalContent = checkIdenticalContent }
    /// `CREMA-D`.
    public var corpusName: String { "CREMA-D" }

    /// Emotion codes.
    public static let codes: [String: Emotion] = [
        "ANG": .angry, "DIS": .disgust, "FEA": .fearful, "HAP": .happy, "NEU": .neutral, "SAD": .sad,
    ]
    /// Intensity codes.
    public static let intensities = ["LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"]

    /// Loads the corpus.
    public func load(from root: URL) throws -> Corpus {
        try CorpusFiles.requireDirectory(root)
        let audio = root.appendingPathComponent("AudioWAV")
        let dir = (try? CorpusFiles.requireDirectory(audio)) != nil ? audio : root
        let base = root.standardizedFileURL.path
        var b = CorpusBuilder(name: corpusName, root: root, labels: Emotion.names(Array(Self.codes.values)))
        for (url, _) in CorpusFiles.files(under: dir) {
            let rel = CorpusFiles.relativePath(url, base: base)
            guard b.isAcceptedAudio(rel) else { continue }
            let stem = url.deletingPathExtension().lastPathComponent
            let p = stem.split(separator: "_").map(String.init)
            guard p.count == 4, p[0].count == 4, Int(p[0]) != nil, p[1].count == 3 else {
                b.problem(rel, .unparsableName("expected AAAA_SSS_EEE_II")); continue
            }
            guard let emotion = Self.codes[p[2]] else { b.problem(rel, .unknownLabel(p[2])); continue }
            guard let intensity = Self.intensities[p[3]] else {
                b.problem(rel, .unparsableName("intensity \(p[3])")); continue
            }
            b.add(id: CorpusFiles.stripExtension(rel), url: url, key: stem, file: rel, label: emotion.rawValue,
                  speaker: p[0], tags: ["sentence": p[1], "intensity": intensity])
        }
        if b.entries.isEmpty && b.problems.isEmpty {
            throw CorpusError.layoutNotRecognized(root.path, "no CREMA-D audio files (AudioWAV/1001_DFA_ANG_XX.wav)")
        }
        return b.finish(checkIdenticalContent: checkIdenticalContent)
    }
}
