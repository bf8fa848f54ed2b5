import Foundation

/// RAVDESS (Livingstone & Russo 2018): `Actor_XX/MM-VV-EE-II-SS-RR-AA.wav|.flac`.
///
/// Fields: modality (03 audio-only is required), vocal channel (01 speech, 02 song), emotion
/// 01…08 = neutral, calm, happy, sad, angry, fearful, disgust, surprised, intensity (01 normal,
/// 02 strong), statement (01 "Kids are talking by the door", 02 "Dogs are sitting by the door"),
/// repetition, actor (odd = male). Speaker is `Actor_XX`. Tags: `intensity`, `statement`,
/// `repetition`, `gender`, `channel`.
public struct RAVDESSLoader: CorpusLoader {
    /// Whether song files (vocal channel 02) are loaded; when false they are counted in
    /// ``Corpus/excluded`` as `RAVDESS song (vocal channel 02)`. The paper uses speech only.
    public var includeSong: Bool
    /// Whether byte-identical files are reported (only equal-size files are compared).
    public var checkIdenticalContent: Bool

    /// Creates a loader.
    public init(includeSong: Bool = false, checkIdenticalContent: Bool = true) {
        self.includeSong = includeSong; self.checkIdenticalContent = checkIdenticalContent
    }

    /// `RAVDESS`.
    public var corpusName: String { "RAVDESS" }

    /// RAVDESS's emotion codes 01…08.
    public static let emotions: [Emotion] = [.neutral, .calm, .happy, .sad, .angry, .fearful, .disgust, .surprised]

    /// Loads the corpus.
    public func load(from root: URL) throws -> Corpus {
        try CorpusFiles.requireDirectory(root)
        var b = CorpusBuilder(name: corpusName, root: root, labels: Emotion.names(Self.emotions))
        for (url, rel) in CorpusFiles.files(under: root) where b.isAcceptedAudio(rel) {
            let stem = url.deletingPathExtension().lastPathComponent
            let parts = stem.split(separator: "-").map(String.init)
            guard parts.count == 7, parts.allSatisfy({ $0.count == 2 && Int($0) != nil }) else {
                b.problem(rel, .unparsableName("expected MM-VV-EE-II-SS-RR-AA")); continue
            }
            let n = parts.compactMap { Int($0) }
            guard n[0] == 3 else { b.problem(rel, .unparsableName("modality \(parts[0]) is not audio-only (03)")); continue }
            guard n[1] == 1 || n[1] == 2 else { b.problem(rel, .unparsableName("vocal channel \(parts[1])")); continue }
            if n[1] == 2 && !includeSong { b.exclude("RAVDESS song (vocal channel 02)"); continue }
            guard (1...8).contains(n[2]) else { b.problem(rel, .unknownLabel(parts[2])); continue }
            guard (1...2).contains(n[3]), (1...2).contains(n[4]), (1...2).contains(n[5]), n[6] >= 1 else {
                b.problem(rel, .unparsableName("intensity/statement/repetition/actor out of range")); continue
            }
            let speaker = "Actor_\(parts[6])"
            let folder = url.deletingLastPathComponent().lastPathComponent
            if folder.hasPrefix("Actor_") && folder != speaker {
                b.problem(rel, .note("actor \(parts[6]) in the name but folder \(folder) (name wins)"))
            }
            let tags = [
                "channel": n[1] == 1 ? "speech" : "song",
                "intensity": n[3] == 1 ? "normal" : "strong",
                "statement": n[4] == 1 ? "kids" : "dogs",
                "repetition": parts[5],
                "gender": n[6] % 2 == 1 ? "male" : "female",
            ]
            b.add(id: CorpusFiles.stripExtension(rel), url: url, key: stem, file: rel,
                  label: Self.emotions[n[2] - 1].rawValue, speaker: speaker, tags: tags)
        }
        if b.entries.isEmpty && b.problems.isEmpty {
            throw CorpusError.layoutNotRecognized(root.path, "no RAVDESS audio files (Actor_XX/03-01-…)")
        }
        return b.finish(checkIdenticalContent: checkIdenticalContent)
    }
}
