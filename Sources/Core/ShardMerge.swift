import Foundation

/// Joins the outputs of the shards of one run (``Shard``) into one output in canonical order.
///
/// The inputs are row files, JSON lines (`.jsonl`) or CSV with a header (`.csv`), whose rows
/// carry the input they came from in a `file` field (``ser predict`` rows, ``ser features``
/// indexes). The merge refuses, naming the files:
/// - a file name without a shard number (`NAME.shard-I-of-N.EXT`), or files from runs split
///   differently, or from different outputs (`a.shard-0-of-2.jsonl` with `b.shard-1-of-2.jsonl`);
/// - a shard given twice, or missing shards;
/// - an input whose rows appear in two shards;
/// - a truncated file (last line without its newline: an interrupted shard), CSV files with
///   different headers, rows without `file`.
///
/// Rows are kept byte for byte. They are ordered by `file` in ``Shard/canonicalOrder(_:_:)``
/// (the order the partition sorts by); the rows of one input keep their order (segments by time).
public enum ShardMerge {
    /// Row file formats.
    public enum Format: String, Sendable {
        case jsonl, csv
    }

    /// One row of a shard file.
    public struct Row: Sendable {
        /// The input the row describes (its `file` field).
        public var file: String
        /// The row as written, without its line end (a CSV row may span lines inside quotes).
        public var text: String
        /// The shard file it came from.
        public var path: String
    }

    /// The joined output.
    public struct Merged: Sendable {
        /// The format of the inputs (and the output).
        public var format: Format
        /// CSV header line (without its line end); nil for JSON lines.
        public var header: String?
        /// Every row, in canonical order.
        public var rows: [Row]
        /// The number of shards joined.
        public var shards: Int
        /// The output name the shard files were written for (`out.jsonl` for `out.shard-0-of-4.jsonl`).
        public var base: String

        /// The merged file's text.
        public var text: String {
            var s = header.map { $0 + "\n" } ?? ""
            for r in rows { s += r.text; s += "\n" }
            return s
        }
    }

    /// The format of a row file, from its extension (`.jsonl`, `.ndjson`, `.json` → JSON lines;
    /// `.csv`) or else its first character.
    public static func format(of path: String, text: String) -> Format {
        switch (path as NSString).pathExtension.lowercased() {
        case "jsonl", "ndjson", "json": return .jsonl
        case "csv": return .csv
        default: return text.first == "{" ? .jsonl : .csv
        }
    }

    /// Joins the shard files at `paths` (all shards of one run, in any order).
    public static func merge(paths: [String]) throws -> Merged {
        guard !paths.isEmpty else { throw ShardError.missingShards(indices: [0], count: 1, example: "out.shard-0-of-1.jsonl") }
        var byIndex: [Int: String] = [:]
        var count: Int?
        var base: String?
        for p in paths {
            guard let (shard, b) = Shard.parseFileName(p) else { throw ShardError.notAShardFile(path: p) }
            if let n = count, n != shard.count { throw ShardError.mixedCounts(paths: paths) }
            if let b0 = base, (b0 as NSString).lastPathComponent != (b as NSString).lastPathComponent {
                throw ShardError.mismatch(path: p, reason: "written for \((b as NSString).lastPathComponent), the others for \((b0 as NSString).lastPathComponent)")
            }
            count = shard.count
            base = b
            if let other = byIndex[shard.index] {
                throw ShardError.duplicateShard(index: shard.index, count: shard.count, paths: [other, p])
            }
            byIndex[shard.index] = p
        }
        let n = count ?? 1
        let missing = (0..<n).filter { byIndex[$0] == nil }
        if !missing.isEmpty {
            let expected = missing.compactMap { (try? Shard(index: $0, count: n))?.fileName(for: base ?? "out") }
            // A shard still writing (or killed) has only its `.partial` file.
            if let unfinished = expected.first(where: { FileManager.default.fileExists(atPath: $0 + ".partial") }) {
                throw ShardError.unfinished(path: unfinished + ".partial")
            }
            throw ShardError.missingShards(indices: missing, count: n, example: expected.first ?? "")
        }
        let ordered = (0..<n).compactMap { byIndex[$0] }

        var format: Format?
        var header: String?
        var rows: [Row] = []
        var owner: [String: String] = [:]      // input -> shard file holding its rows
        for path in ordered {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ShardError.unreadable(path: path, reason: "\(error.localizedDescription)")
            }
            let f = self.format(of: path, text: text)
            if let f0 = format, f0 != f { throw ShardError.mismatch(path: path, reason: "\(f.rawValue) among \(f0.rawValue) files") }
            format = f
            if let last = text.unicodeScalars.last, last != "\n" {
                throw ShardError.unreadable(path: path, reason: "the last line is incomplete (was the shard interrupted? run it again)")
            }
            let parsed: (header: String?, rows: [Row])
            switch f {
            case .jsonl: parsed = (nil, try jsonRows(text, path: path))
            case .csv: parsed = try csvRows(text, path: path)
            }
            if f == .csv {
                if let h = header, let h2 = parsed.header, h != h2 {
                    throw ShardError.mismatch(path: path, reason: "CSV columns differ from the other shards'")
                }
                header = header ?? parsed.header
            }
            for r in parsed.rows {
                if let other = owner[r.file], other != path { throw ShardError.overlap(file: r.file, paths: [other, path]) }
                owner[r.file] = path
            }
            rows += parsed.rows
        }
        // Stable sort by input: each input's rows keep their order.
        let order = rows.indices.sorted { a, b in
            if rows[a].file == rows[b].file { return a < b }
            return Shard.canonicalOrder(rows[a].file, rows[b].file)
        }
        return Merged(format: format ?? .jsonl, header: header, rows: order.map { rows[$0] }, shards: n, base: base ?? "")
    }

    /// For a `ser features` index (rows with `features` or `error`): each row that failed
    /// (`error`) and each `features` file missing next to its shard's index, as messages; empty
    /// for other row files.
    public static func featureIndexProblems(_ merged: Merged) -> [String] {
        guard merged.format == .jsonl else { return [] }
        var problems: [String] = []
        for r in merged.rows {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(r.text.utf8))) as? [String: Any] else { continue }
            if let error = object["error"] as? String {
                problems.append("\(r.file): failed in \(r.path): \(error)")
            } else if let rel = object["features"] as? String {
                let dir = (r.path as NSString).deletingLastPathComponent
                let path = dir.isEmpty ? rel : (dir as NSString).appendingPathComponent(rel)
                if !FileManager.default.fileExists(atPath: path) { problems.append("\(r.file): \(path) is missing (listed in \(r.path))") }
            }
        }
        return problems
    }

    /// The rows of a JSON lines text (blank lines skipped).
    static func jsonRows(_ text: String, path: String) throws -> [Row] {
        var rows: [Row] = []
        for (k, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let s = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if s.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: Any] else {
                throw ShardError.unreadable(path: path, reason: "line \(k + 1) is not a JSON object")
            }
            guard let file = object["file"] as? String else { throw ShardError.missingFileField(path: path, line: k + 1) }
            rows.append(Row(file: file, text: s, path: path))
        }
        return rows
    }

    /// The header and rows of a CSV text (RFC 4180 quoting; a quoted field may hold line ends).
    static func csvRows(_ text: String, path: String) throws -> (header: String?, rows: [Row]) {
        let records = CSV.records(text)
        guard let first = records.first else { return (nil, []) }
        guard let column = first.fields.firstIndex(of: "file") else {
            throw ShardError.mismatch(path: path, reason: "the CSV header has no \"file\" column")
        }
        var rows: [Row] = []
        for (k, r) in records.dropFirst().enumerated() {
            if r.fields == [""] { continue }
            guard column < r.fields.count else { throw ShardError.missingFileField(path: path, line: k + 2) }
            rows.append(Row(file: r.fields[column], text: r.text, path: path))
        }
        return (first.text, rows)
    }
}

/// Comma-separated values (RFC 4180): writing fields and reading records.
public enum CSV {
    /// One record: its fields and its text as written (without the line end).
    public struct Record: Sendable, Equatable {
        /// The unquoted fields.
        public var fields: [String]
        /// The record as it appears in the file.
        public var text: String
    }

    /// `s` quoted when it holds a comma, a quote or a line end (quotes doubled).
    public static func field(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// The fields joined into one line (without its line end).
    public static func line(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") }

    /// The records of `text` (LF or CRLF line ends; quoted fields may span lines).
    public static func records(_ text: String) -> [Record] {
        var out: [Record] = []
        var fields: [String] = []
        var field = ""
        var raw = ""
        var quoted = false
        var it = text.makeIterator()
        var pending: Character? = nil
        func next() -> Character? {
            if let c = pending { pending = nil; return c }
            return it.next()
        }
        while let c = next() {
            if quoted {
                raw.append(c)
                if c == "\"" {
                    if let d = next() {
                        if d == "\"" { field.append("\""); raw.append(d) } else { quoted = false; pending = d }
                    } else { quoted = false }
                } else { field.append(c) }
                continue
            }
            switch c {
            case "\"": quoted = true; raw.append(c)
            case ",": fields.append(field); field = ""; raw.append(c)
            case "\n", "\r\n", "\r":
                fields.append(field)
                out.append(Record(fields: fields, text: raw))
                fields = []; field = ""; raw = ""
            default: field.append(c); raw.append(c)
            }
        }
        if !raw.isEmpty || !fields.isEmpty {
            fields.append(field)
            out.append(Record(fields: fields, text: raw))
        }
        return out
    }
}
