import Foundation

/// EMO-DB (Burkhardt et al. 2005): `wav/SSTTTEV.wav|.flac`, e.g. `03a01Fa`.
///
/// SS speaker (03 10 11 12 15 male; 08 09 13 14 16 female), TTT text code, E emotion letter
/// (W anger -> angry, L boredom -> bored, E disgust, A fear -> fearful, F happiness -> happy,
/// T sadness -> sad, N neutral), V version letter. Speaker is the two digits. Tags: `text`,
/// `version`, `gender`. Only `wav/` is read when present (the label folders are not audio).
public struct EMODBLoader: CorpusLoader {
    /// Whether byte-identical files are reported.
    public var checkIdenticalContent: Bool
    /// Creates a loader.
    public init(checkIdenticalContent: Bool = true) { self.checkIdenticalContent = checkIdenticalContent }
    /// `EMO-DB`.
    public var corpusName: String { "EMO-DB" }

    /// Emotion letters.
    public static let letters: [Character: Emotion] = [
        "W": .angry, "L": .bored, "E": .disgust, "A": .fearful, "F": .happy, "T": .sad, "N": .neutral,
    ]
    /// Male speakers of the release.
    public static let maleSpeakers: Set<String> = ["03", "10", "11", "12", "15"]

    /// Loads the corpus.
    public func load(from root: URL) throws -> Corpus {
        try CorpusFiles.requireDirectory(root)
        let wav = root.appendingPathComponent("wav")
        let dir = (try? CorpusFiles.requireDirectory(wav)) != nil ? wav : root
        var b = CorpusBuilder(name: corpusName, root: root,
                              labels: Emotion.names(Array(Self.letters.values)))
        let base = root.standardizedFileURL.path
        for (url, _) in CorpusFiles.files(under: dir) {
            let rel = CorpusFiles.relativePath(url, base: base)
            guard b.isAcceptedAudio(rel) else { continue }
            let stem = Array(url.deletingPathExtension().lastPathComponent)
            guard stem.count == 7, stem[0].isNumber, stem[1].isNumber, stem[2].isLetter,
                  stem[3].isNumber, stem[4].isNumber, stem[6].isLetter else {
                b.problem(rel, .unparsableName("expected SSTTTEV, e.g. 03a01Fa")); continue
            }
            guard let emotion = Self.letters[stem[5]] else { b.problem(rel, .unknownLabel(String(stem[5]))); continue }
            let speaker = String(stem[0...1])
            b.add(id: CorpusFiles.stripExtension(rel), url: url, key: String(stem), file: rel,
                  label: emotion.rawValue, speaker: speaker,
                  tags: ["text": String(stem[2...4]), "version": String(stem[6]),
                         "gender": Self.maleSpeakers.contains(speaker) ? "male" : "female"])
        }
        if b.entries.isEmpty && b.problems.isEmpty {
            throw CorpusError.layoutNotRecognized(root.path, "no EMO-DB audio files (wav/SSTTTEV.wav)")
        }
        return b.finish(checkIdenticalContent: checkIdenticalContent)
    }
}
