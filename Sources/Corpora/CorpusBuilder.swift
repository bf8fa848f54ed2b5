import Foundation
import SERAudio
import SERCore

/// What the first bytes of a file say it is.
/// What a corpus scan finds at the start of a file.
enum SniffedAudio: Equatable {
    case wav, flac, aiff
    case unreadable(String)
}

/// Lists a corpus folder's files and sniffs audio headers. Internal helper shared by the loaders.
enum CorpusFiles {
    /// Extensions the loaders accept as audio.
    static let acceptedExtensions: Set<String> = ["wav", "flac"]
    /// Other audio extensions: reported as unsupported instead of being ignored.
    static let otherAudioExtensions: Set<String> = ["aif", "aiff", "mp3", "ogg", "opus", "m4a", "aac", "wma", "sph", "au"]

    /// Throws ``CorpusError/missingDirectory`` unless `url` is an existing folder.
    static func requireDirectory(_ url: URL) throws {
        guard FileNames.isDirectory(url.path) else { throw CorpusError.missingDirectory(url.path) }
    }

    /// Every regular file under `root` (recursively, hidden files skipped), sorted by relative path.
    ///
    /// Symbolic links are followed, to files and to folders (each folder is scanned once, so link
    /// loops end); a link whose target is missing is listed too, so the loader reports it as
    /// missing audio instead of dropping it. Names are kept byte-exact (``SERCore/FileNames``).
    static func files(under root: URL) -> [(url: URL, relative: String)] {
        let base = root.standardizedFileURL.path
        let scan = FileNames.files(under: base, skipHidden: true)
        var out = scan.files.map { (url: URL(fileURLWithPath: $0.path), relative: $0.relative) }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        out += scan.brokenLinks.map { (url: URL(fileURLWithPath: prefix + $0), relative: $0) }
        return out.sorted { $0.relative < $1.relative }
    }

    /// `url`'s path relative to `base` (a standardized folder path), or the full path when outside it.
    static func relativePath(_ url: URL, base: String) -> String {
        let p = url.standardizedFileURL.path
        let b = base.hasSuffix("/") ? base : base + "/"
        return p.hasPrefix(b) ? String(p.dropFirst(b.count)) : p
    }

    /// Lower-cased extension of a path.
    static func ext(_ relative: String) -> String { (relative as NSString).pathExtension.lowercased() }

    /// `relative` without its extension.
    static func stripExtension(_ relative: String) -> String { (relative as NSString).deletingPathExtension }

    /// Reads the first bytes to tell WAV (RIFF/RF64/RIFX), FLAC and AIFF apart (``AudioContainer``);
    /// anything else is unreadable for a corpus.
    static func sniff(_ url: URL) -> SniffedAudio {
        guard let h = FileNames.fileHandle(forReading: url.path) else { return .unreadable("cannot open") }
        defer { try? h.close() }
        let d = (try? h.read(upToCount: AudioContainer.signatureLength)) ?? Data()
        if d.isEmpty { return .unreadable("empty file") }
        switch AudioContainer.sniff(d) {
        case .wav: return d.count >= AudioContainer.signatureLength ? .wav : .unreadable("truncated WAV header")
        case .flac: return .flac
        case .aiff: return .aiff
        case .ogg, .mp3, nil: return .unreadable("not a WAV/FLAC/AIFF header")
        }
    }
}

/// Accumulates a corpus's entries and problems while a loader walks its files. Internal.
struct CorpusBuilder {
    let name: String
    let root: URL
    let labels: [String]
    private(set) var entries: [CorpusEntry] = []
    private(set) var problems: [CorpusProblem] = []
    private(set) var excluded: [String: Int] = [:]
    /// Utterance key -> id of the entry holding it.
    private var seen: [String: String] = [:]

    init(name: String, root: URL, labels: [String]) {
        self.name = name; self.root = root; self.labels = labels
    }

    /// Records a problem.
    mutating func problem(_ file: String, _ reason: CorpusProblem.Reason) {
        problems.append(CorpusProblem(file: file, reason: reason))
    }

    /// Counts an utterance left out by the corpus definition.
    mutating func exclude(_ reason: String) { excluded[reason, default: 0] += 1 }

    /// Handles a non-accepted file: quietly ignores non-audio, reports other audio formats.
    /// Returns true when the file is an accepted audio file the loader should parse.
    mutating func isAcceptedAudio(_ relative: String) -> Bool {
        let x = CorpusFiles.ext(relative)
        if CorpusFiles.acceptedExtensions.contains(x) { return true }
        if CorpusFiles.otherAudioExtensions.contains(x) { problem(relative, .unsupportedFormat(x)) }
        return false
    }

    /// Adds an entry after checking the file is readable audio and its utterance is new.
    /// - Parameters:
    ///   - key: identifies the utterance (e.g. the file stem); a second file with the same key is a duplicate.
    ///   - file: the name used in problem reports (relative path).
    mutating func add(id: String, url: URL, key: String, file: String, label: String, speaker: String,
                      tags: [String: String]) {
        if !FileNames.exists(url.path) { problem(file, .missingAudio(FileNames.display(url.path))); return }
        switch CorpusFiles.sniff(url) {
        case .unreadable(let why): problem(file, .unreadable(why)); return
        case .aiff where CorpusFiles.ext(url.path) != "aif" && CorpusFiles.ext(url.path) != "aiff":
            problem(file, .note("AIFF data under a .\(CorpusFiles.ext(url.path)) name (kept; the decoder reads it)"))
        case .wav where CorpusFiles.ext(url.path) == "flac", .flac where CorpusFiles.ext(url.path) == "wav":
            problem(file, .note("content and extension disagree (kept)"))
        default: break
        }
        if let other = seen[key] { problem(file, .duplicate(of: other)); return }
        seen[key] = id
        entries.append(CorpusEntry(id: id, url: url, label: label, speaker: speaker, tags: tags))
    }

    /// The finished corpus; optionally reports byte-identical entries (only files of equal size are compared).
    func finish(checkIdenticalContent: Bool = true) -> Corpus {
        let sorted = entries.sorted { $0.id < $1.id }
        var probs = problems
        if checkIdenticalContent { probs += Self.identicalContent(sorted) }
        // Stable, readable order of problems.
        probs.sort { ($0.file, $0.reason.description) < ($1.file, $1.reason.description) }
        return Corpus(name: name, root: root, labels: labels, entries: sorted, problems: probs, excluded: excluded)
    }

    /// Problems for entries whose bytes equal an earlier entry's.
    static func identicalContent(_ entries: [CorpusEntry]) -> [CorpusProblem] {
        var bySize: [Int: [Int]] = [:]
        for (i, e) in entries.enumerated() {
            guard let s = FileNames.size(e.url.path) else { continue }
            bySize[Int(s), default: []].append(i)
        }
        var out: [CorpusProblem] = []
        for (_, group) in bySize where group.count > 1 {
            var reps: [(Int, Data)] = []
            for i in group {
                guard let d = FileNames.contents(entries[i].url.path) else { continue }
                if let r = reps.first(where: { $0.1 == d }) {
                    out.append(CorpusProblem(file: entries[i].id, reason: .identicalContent(to: entries[r.0].id)))
                } else {
                    reps.append((i, d))
                }
            }
        }
        return out
    }
}
