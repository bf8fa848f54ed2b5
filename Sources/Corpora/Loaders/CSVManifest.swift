import Foundation

/// Minimal RFC 4180 CSV reader: commas, `"quoted, fields"`, `""` escapes, newlines inside quotes,
/// CRLF or LF line ends, a UTF-8 byte-order mark.
public enum CSV {
    /// Parse errors.
    public enum ParseError: Error, Equatable {
        /// A quoted field opened on `line` never closes.
        case unterminatedQuote(line: Int)
    }

    /// The rows of `text` (empty lines skipped).
    public static func parse(_ text: String) throws -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = ""
        var inQuotes = false, line = 1, quoteStart = 1
        var it = Array(text.unicodeScalars.drop { $0 == "\u{FEFF}" }).makeIterator()
        var pending: Unicode.Scalar? = nil
        func endRow() {
            row.append(field); field = ""
            if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
            row = []
        }
        while let c = pending ?? it.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    if let n = it.next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = n }
                    } else { inQuotes = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty: inQuotes = true; quoteStart = line
            case ",": row.append(field); field = ""
            case "\r":
                if let n = it.next(), n != "\n" { pending = n }
                endRow(); line += 1
            case "\n": endRow(); line += 1
            default: field.unicodeScalars.append(c)
            }
        }
        if inQuotes { throw ParseError.unterminatedQuote(line: quoteStart) }
        if !field.isEmpty || !row.isEmpty { endRow() }
        return rows
    }
}

/// A generic corpus described by a CSV file with a header naming at least `path`, `label` and
/// `speaker` (any order, case-insensitive). Other columns become tags. Relative paths are resolved
/// against the CSV's folder. Labels are mapped to canonical names through ``Emotion/init(alias:)``;
/// others are reported as unknown unless ``allowCustomLabels`` is set.
public struct CSVManifestLoader: CorpusLoader {
    /// Corpus name; defaults to the CSV file's name without extension.
    public var name: String?
    /// Keep labels that are not canonical emotions (as written) instead of reporting them.
    public var allowCustomLabels: Bool
    /// The label set, in order; nil: the labels found, canonical ones first in canonical order.
    public var labels: [String]?
    /// Whether byte-identical files are reported.
    public var checkIdenticalContent: Bool

    /// Creates a loader.
    public init(name: String? = nil, allowCustomLabels: Bool = false, labels: [String]? = nil,
                checkIdenticalContent: Bool = true) {
        self.name = name; self.allowCustomLabels = allowCustomLabels; self.labels = labels
        self.checkIdenticalContent = checkIdenticalContent
    }

    /// The configured name, or `manifest`.
    public var corpusName: String { name ?? "manifest" }

    /// Loads the corpus from the CSV file at `root`.
    public func load(from root: URL) throws -> Corpus {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root.path, isDirectory: &isDir), !isDir.boolValue else {
            throw CorpusError.missingDirectory(root.path)
        }
        guard let data = fm.contents(atPath: root.path) else {
            throw CorpusError.unreadableMetadata(root.path, "cannot read file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CorpusError.unreadableMetadata(root.path, "not UTF-8")
        }
        let rows: [[String]]
        do { rows = try CSV.parse(text) } catch CSV.ParseError.unterminatedQuote(let line) {
            throw CorpusError.unreadableMetadata(root.path, "unterminated quote starting on line \(line)")
        }
        guard let header = rows.first?.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
            throw CorpusError.unreadableMetadata(root.path, "empty file")
        }
        guard let pi = header.firstIndex(of: "path"), let li = header.firstIndex(of: "label"),
              let si = header.firstIndex(of: "speaker") else {
            throw CorpusError.unreadableMetadata(root.path, "header must name path, label and speaker columns")
        }
        let folder = root.deletingLastPathComponent()
        let csvName = name ?? root.deletingPathExtension().lastPathComponent
        var b = CorpusBuilder(name: csvName, root: folder, labels: [])
        var found: [String] = []
        for (r, row) in rows.dropFirst().enumerated() {
            let at = "\(root.lastPathComponent):\(r + 2)"
            guard row.count == header.count else {
                b.problem(at, .unparsableName("\(row.count) fields, header has \(header.count)")); continue
            }
            let path = row[pi], rawLabel = row[li].trimmingCharacters(in: .whitespaces), speaker = row[si]
            guard !path.isEmpty else { b.problem(at, .unparsableName("empty path")); continue }
            let label: String
            if let e = Emotion(alias: rawLabel) { label = e.rawValue }
            else if allowCustomLabels && !rawLabel.isEmpty { label = rawLabel }
            else { b.problem(at, .unknownLabel(rawLabel)); continue }
            if let fixed = labels, !fixed.contains(label) { b.problem(at, .unknownLabel(rawLabel)); continue }
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path)
                                          : folder.appendingPathComponent(path).standardizedFileURL
            var tags: [String: String] = [:]
            for (i, h) in header.enumerated() where i != pi && i != li && i != si { tags[h] = row[i] }
            if label != rawLabel { tags["original"] = rawLabel }
            let id = CorpusFiles.stripExtension(path)
            let before = b.entries.count
            b.add(id: id, url: url, key: CorpusFiles.stripExtension(url.standardizedFileURL.path), file: at,
                  label: label, speaker: speaker, tags: tags)
            if b.entries.count > before { found.append(label) }
        }
        let finished = b.finish(checkIdenticalContent: checkIdenticalContent)
        return Corpus(name: finished.name, root: folder, labels: labels ?? Emotion.canonicalOrder(found),
                      entries: finished.entries, problems: finished.problems, excluded: finished.excluded)
    }
}
