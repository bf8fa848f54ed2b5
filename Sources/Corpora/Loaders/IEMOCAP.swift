import Foundation

/// IEMOCAP (Busso et al. 2008), the usual 4-class set (5531 utterances of the full release).
///
/// Labels come from `SessionN/dialog/EmoEvaluation/<dialog>.txt`, lines
/// `[start - end]<TAB>TURN<TAB>emo<TAB>[V, A, D]`; audio is `SessionN/sentences/wav/<dialog>/TURN.wav`.
/// Kept labels: neu -> neutral, hap and exc -> happy (merged), ang -> angry, sad. Every other label
/// (fru, sur, fea, dis, oth, xxx) is counted in ``Corpus/excluded`` as `IEMOCAP label <code>`.
/// Speaker is session + the turn's speaker gender (`Ses01F_impro01_M003` -> `Ses01M`).
/// Tags: `session` ("1"…"5"), `dialog`, `gender`, `type` (improvised/scripted), `start`, `end`,
/// `valence`, `arousal`, `dominance`, `original` (the IEMOCAP code).
public struct IEMOCAPLoader: CorpusLoader {
    /// IEMOCAP code -> canonical emotion.
    public var labelMap: [String: Emotion]
    /// Whether byte-identical files are reported.
    public var checkIdenticalContent: Bool

    /// The 4-class map (hap and exc merged into happy).
    public static let fourClass: [String: Emotion] = [
        "neu": .neutral, "hap": .happy, "exc": .happy, "ang": .angry, "sad": .sad,
    ]

    /// Creates a loader (4-class set by default).
    public init(labelMap: [String: Emotion] = IEMOCAPLoader.fourClass, checkIdenticalContent: Bool = false) {
        self.labelMap = labelMap; self.checkIdenticalContent = checkIdenticalContent
    }

    /// `IEMOCAP`.
    public var corpusName: String { "IEMOCAP" }

    /// One parsed evaluation line.
    struct Turn { var start: String, end: String, name: String, code: String, vad: [String] }

    /// Parses `[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]`; nil for other lines.
    static func parse(line: String) -> Turn? {
        guard line.hasPrefix("[") else { return nil }
        var fields = line.split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
        if fields.count < 4 {   // tolerate spaces instead of tabs
            guard let close = line.firstIndex(of: "]") else { return nil }
            let rest = line[line.index(after: close)...].split(separator: " ", maxSplits: 2).map(String.init)
            guard rest.count == 3 else { return nil }
            fields = [String(line[...close])] + rest
        }
        let times = fields[0].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            .components(separatedBy: " - ").map { $0.trimmingCharacters(in: .whitespaces) }
        guard times.count == 2, Double(times[0]) != nil, Double(times[1]) != nil else { return nil }
        let vad = fields[3].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return Turn(start: times[0], end: times[1], name: fields[1], code: fields[2].lowercased(), vad: vad)
    }

    /// Loads the corpus.
    public func load(from root: URL) throws -> Corpus {
        try CorpusFiles.requireDirectory(root)
        let fm = FileManager.default
        let sessions = ((try? fm.contentsOfDirectory(atPath: root.path)) ?? [])
            .filter { $0.hasPrefix("Session") && Int($0.dropFirst(7)) != nil }
            .sorted { (Int($0.dropFirst(7)) ?? 0) < (Int($1.dropFirst(7)) ?? 0) }
        guard !sessions.isEmpty else {
            throw CorpusError.layoutNotRecognized(root.path, "no Session1…Session5 folders")
        }
        var b = CorpusBuilder(name: corpusName, root: root, labels: Emotion.names(Array(Set(labelMap.values))))
        let base = root.standardizedFileURL.path
        for session in sessions {
            let sessionNumber = String(Int(session.dropFirst(7)) ?? 0)
            let evalDir = root.appendingPathComponent(session).appendingPathComponent("dialog/EmoEvaluation")
            let txts = ((try? fm.contentsOfDirectory(atPath: evalDir.path)) ?? [])
                .filter { $0.hasSuffix(".txt") && !$0.hasPrefix(".") }.sorted()
            if txts.isEmpty { b.problem("\(session)/dialog/EmoEvaluation", .missingAudio("no label files")); continue }
            for txt in txts {
                let file = evalDir.appendingPathComponent(txt)
                let relTxt = CorpusFiles.relativePath(file, base: base)
                guard let data = fm.contents(atPath: file.path) else {
                    b.problem(relTxt, .unreadable("cannot read label file")); continue
                }
                let dialog = String(txt.dropLast(4))
                let text = String(decoding: data, as: UTF8.self)
                for (lineNo, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
                    let line = String(raw)
                    guard line.hasPrefix("[") else { continue }
                    let at = "\(relTxt):\(lineNo + 1)"
                    guard let t = Self.parse(line: line) else { b.problem(at, .unparsableName("evaluation line")); continue }
                    guard let emotion = labelMap[t.code] else {
                        if ["fru", "sur", "fea", "dis", "oth", "xxx"].contains(t.code) {
                            b.exclude("IEMOCAP label \(t.code)")
                        } else {
                            b.problem(at, .unknownLabel(t.code))
                        }
                        continue
                    }
                    guard let tail = t.name.split(separator: "_").last, let g = tail.first, g == "F" || g == "M",
                          t.name.hasPrefix("Ses") else {
                        b.problem(at, .unparsableName("turn name \(t.name)")); continue
                    }
                    let wavDir = root.appendingPathComponent(session).appendingPathComponent("sentences/wav/\(dialog)")
                    let candidates = ["wav", "flac"].map { wavDir.appendingPathComponent("\(t.name).\($0)") }
                    guard let audio = candidates.first(where: { fm.fileExists(atPath: $0.path) }) else {
                        b.problem(at, .missingAudio(CorpusFiles.relativePath(candidates[0], base: base))); continue
                    }
                    var tags = [
                        "session": sessionNumber, "dialog": dialog, "gender": g == "F" ? "female" : "male",
                        "type": dialog.contains("impro") ? "improvised" : "scripted",
                        "start": t.start, "end": t.end, "original": t.code,
                    ]
                    for (k, v) in zip(["valence", "arousal", "dominance"], t.vad) { tags[k] = v }
                    let rel = CorpusFiles.relativePath(audio, base: base)
                    b.add(id: CorpusFiles.stripExtension(rel), url: audio, key: t.name, file: rel,
                          label: emotion.rawValue, speaker: String(t.name.prefix(5)) + String(g), tags: tags)
                }
            }
        }
        return b.finish(checkIdenticalContent: checkIdenticalContent)
    }
}
