import Foundation

/// CREMA-D (Cao et al. 2014): `AudioWAV/1001_DFA_ANG_XX.wav` (actor, sentence, emotion, intensity).
///
/// Emotions ANG -> angry, DIS -> disgust, FEA -> fearful, HAP -> happy, NEU -> neutral, SAD -> sad.
/// Intensity LO/MD/HI/XX -> low/medium/high/unspecified. Speaker is the actor id (`1001`…`1091`).
/// Tags: `sentence`, `intensity`. Reads `AudioWAV/` when present, else the folder itself.
///
/// **Labels.** By default a clip's label is the emotion the actor was asked to portray (in its
/// name). With ``LabelSource/voice`` it is what the crowd heard: the plurality of the voice-only
/// ratings in the release's `summaryTable.csv` (column `VoiceVote`, letters N H S A F D; about ten
/// raters per clip). Clips whose vote is tied between emotions are left out and counted in
/// ``Corpus/excluded``; the intended emotion is kept in the tag `intended`, the raters' agreement
/// in percent in `voiceLevel`. The crowd's plurality matches the intended emotion for only about 42 %
/// of the clips (see the README), so the two label sources measure different things.
public struct CREMADLoader: CorpusLoader {
    /// Where a clip's label comes from.
    public enum LabelSource: String, Codable, Sendable, CaseIterable {
        /// The emotion the actor portrayed (file name).
        case intended
        /// The plurality of the crowd's voice-only ratings (`summaryTable.csv`).
        case voice
    }

    /// Whether byte-identical files are reported.
    public var checkIdenticalContent: Bool
    /// Where labels come from.
    public var labelSource: LabelSource
    /// Creates a loader.
    public init(checkIdenticalContent: Bool = true, labelSource: LabelSource = .intended) {
        self.checkIdenticalContent = checkIdenticalContent; self.labelSource = labelSource
    }
    /// `CREMA-D`, or `CREMA-D-voice` with the crowd's labels (so pooled ids and reports say which).
    public var corpusName: String { labelSource == .intended ? "CREMA-D" : "CREMA-D-voice" }

    /// The letters of `summaryTable.csv`'s vote columns.
    public static let voteLetters: [String: Emotion] = [
        "N": .neutral, "H": .happy, "S": .sad, "A": .angry, "F": .fearful, "D": .disgust,
    ]

    /// The crowd's voice-only vote of each clip, by file stem (`1001_DFA_ANG_XX`), from the
    /// release's `summaryTable.csv`: the vote's letters (several when tied) and the agreement in %.
    /// - Throws: ``CorpusError/unreadableMetadata(_:_:)`` naming the file when it is missing, not
    ///   CSV, or lacks the `FileName`/`VoiceVote` columns.
    public static func voiceVotes(_ table: URL) throws -> [String: (letters: [String], level: String)] {
        let text: String
        do { text = try String(contentsOf: table, encoding: .utf8) } catch {
            throw CorpusError.unreadableMetadata(table.path, "the crowd's ratings are needed for voice labels (\(error.localizedDescription))")
        }
        let rows: [[String]]
        do { rows = try CSV.parse(text) } catch { throw CorpusError.unreadableMetadata(table.path, "\(error)") }
        guard let header = rows.first, let name = header.firstIndex(of: "FileName"), let vote = header.firstIndex(of: "VoiceVote") else {
            throw CorpusError.unreadableMetadata(table.path, "expected the columns FileName and VoiceVote")
        }
        let level = header.firstIndex(of: "VoiceLevel")
        var out: [String: (letters: [String], level: String)] = [:]
        for row in rows.dropFirst() where row.count > max(name, vote) {
            out[row[name]] = (row[vote].split(separator: ":").map(String.init), level.flatMap { $0 < row.count ? row[$0] : nil } ?? "")
        }
        return out
    }

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
        // summaryTable.csv sits beside AudioWAV/ in the release (or in the folder given); read at the
        // first clip, so that a folder with no CREMA-D audio is reported as such first.
        var votes: [String: (letters: [String], level: String)]?
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
            var label = emotion.rawValue, tags = ["sentence": p[1], "intensity": intensity]
            if labelSource == .voice {
                if votes == nil { votes = try Self.voiceVotes(root.appendingPathComponent("summaryTable.csv")) }
                guard let v = votes?[stem] else { b.problem(rel, .unknownLabel("no row in summaryTable.csv")); continue }
                guard v.letters.count == 1, let heard = Self.voteLetters[v.letters[0]] else {
                    if v.letters.count > 1 { b.exclude("crowd's voice vote tied"); continue }
                    b.problem(rel, .unknownLabel("voice vote '\(v.letters.joined(separator: ":"))'")); continue
                }
                label = heard.rawValue
                tags["intended"] = emotion.rawValue; tags["voiceLevel"] = v.level
            }
            b.add(id: CorpusFiles.stripExtension(rel), url: url, key: stem, file: rel, label: label,
                  speaker: p[0], tags: tags)
        }
        if b.entries.isEmpty && b.problems.isEmpty {
            throw CorpusError.layoutNotRecognized(root.path, "no CREMA-D audio files (AudioWAV/1001_DFA_ANG_XX.wav)")
        }
        return b.finish(checkIdenticalContent: checkIdenticalContent)
    }
}
