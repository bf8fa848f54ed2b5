#if Service
import Foundation

/// One part of a `multipart/form-data` body.
public struct MultipartPart: Sendable, Equatable {
    /// The form field name (`Content-Disposition: form-data; name="…"`).
    public var name: String?
    /// The uploaded file name, when the part is a file.
    public var filename: String?
    /// The part's `Content-Type`, when given.
    public var contentType: String?
    /// The content.
    public var data: Data

    /// A part with these fields.
    public init(name: String?, filename: String?, contentType: String?, data: Data) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
        self.data = data
    }
}

/// Why a `multipart/form-data` body could not be read or used.
public enum MultipartError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `Content-Type` has no boundary parameter.
    case missingBoundary
    /// The boundary parameter is longer than RFC 2046's 70 characters.
    case boundaryTooLong(length: Int)
    /// The body does not follow the format (`reason` says where).
    case malformed(String)
    /// The body has more than `limit` parts.
    case tooManyParts(limit: Int)
    /// A part's headers are longer than `limit` bytes.
    case headersTooLong(limit: Int)
    /// A part other than the `file` field (`name`, or nil for a part without a name).
    case unexpectedField(name: String?)
    /// No part is named `file`.
    case missingFile
    /// More than one part is named `file`.
    case duplicateFile

    /// One line with the reason.
    public var description: String {
        switch self {
        case .missingBoundary: return "multipart/form-data without a boundary parameter"
        case let .boundaryTooLong(n): return "the multipart boundary has \(n) characters; at most 70 are allowed"
        case let .malformed(r): return "malformed multipart/form-data body: \(r)"
        case let .tooManyParts(limit): return "the multipart body has more than \(limit) parts (allowed: 1...\(limit), one field named \"file\")"
        case let .headersTooLong(limit): return "a multipart part's headers are longer than \(limit) bytes"
        case let .unexpectedField(name):
            return "unexpected multipart field \(name.map { "\"\($0)\"" } ?? "without a name"); only the field \"file\" is accepted"
        case .missingFile: return "the multipart body has no field named \"file\""
        case .duplicateFile: return "the multipart body has more than one field named \"file\""
        }
    }
}

/// A `multipart/form-data` (RFC 7578) reader for uploads held in memory, linear in the body size.
///
/// The body is scanned once: each delimiter (`CRLF--boundary`) is found by looking for its first
/// byte and comparing at most the delimiter's length (≤ 74 bytes) there, so the work is at most
/// 74 comparisons per byte whatever the body holds, and the scan stops at the part limit. Part
/// headers are bounded (``maxHeaderBytes``). The service only accepts one part, `file`
/// (``filePart(_:)``).
public enum MultipartFormData {
    /// Longest headers of one part, in bytes.
    public static let maxHeaderBytes = 8192

    /// The boundary of a `multipart/form-data` content type, or nil when `contentType` is another type.
    /// - Throws: ``MultipartError/missingBoundary`` for multipart without a boundary,
    ///   ``MultipartError/boundaryTooLong(length:)`` for one over 70 characters.
    public static func boundary(contentType: String) throws -> String? {
        let params = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let type = params.first, type.lowercased() == "multipart/form-data" else { return nil }
        for p in params.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var b = kv[1].trimmingCharacters(in: .whitespaces)
            if b.hasPrefix("\""), b.hasSuffix("\""), b.count >= 2 { b = String(b.dropFirst().dropLast()) }
            if b.utf8.count > 70 { throw MultipartError.boundaryTooLong(length: b.utf8.count) }
            if !b.isEmpty { return b }
        }
        throw MultipartError.missingBoundary
    }

    /// The parts of `body`, delimited by `boundary`; at most `maxParts` of them.
    /// - Throws: ``MultipartError/tooManyParts(limit:)`` as soon as part `maxParts + 1` starts;
    ///   ``MultipartError/malformed(_:)`` or ``MultipartError/headersTooLong(limit:)`` for a body
    ///   that does not follow the format.
    public static func parse(_ body: Data, boundary: String, maxParts: Int = .max) throws -> [MultipartPart] {
        let dash = UInt8(ascii: "-"), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        let delimiter = [cr, lf, dash, dash] + Array(boundary.utf8)   // CRLF--boundary
        guard boundary.utf8.count >= 1 else { throw MultipartError.missingBoundary }
        return try body.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [MultipartPart] in
            let bytes = raw.bindMemory(to: UInt8.self)
            let n = bytes.count

            /// Whether `pattern` occurs at `i`.
            func matches(_ pattern: [UInt8], at i: Int) -> Bool {
                guard i >= 0, i + pattern.count <= n else { return false }
                for k in 0..<pattern.count where bytes[i + k] != pattern[k] { return false }
                return true
            }
            /// The first `i >= from` where `pattern` starts (pattern[0] located with memchr).
            func find(_ pattern: [UInt8], from: Int, upTo end: Int) -> Int? {
                var i = from
                let stop = min(n, end)
                while i + pattern.count <= stop {
                    guard let base = raw.baseAddress,
                          let hit = memchr(base + i, Int32(pattern[0]), stop - pattern.count + 1 - i) else { return nil }
                    let j = base.distance(to: UnsafeRawPointer(hit))
                    if matches(pattern, at: j) { return j }
                    i = j + 1
                }
                return nil
            }

            // The first delimiter: "--boundary" at the start, or CRLF--boundary after a preamble.
            let firstLine = Array(delimiter.dropFirst(2))
            var cursor: Int
            if matches(firstLine, at: 0) {
                cursor = firstLine.count
            } else if let d = find(delimiter, from: 0, upTo: n) {
                cursor = d + delimiter.count
            } else {
                throw MultipartError.malformed("no boundary line")
            }
            var parts: [MultipartPart] = []
            while true {
                // After a delimiter: "--" ends the body; otherwise optional blanks, CRLF, a part.
                if matches([dash, dash], at: cursor) { break }
                while cursor < n, bytes[cursor] == UInt8(ascii: " ") || bytes[cursor] == UInt8(ascii: "\t") { cursor += 1 }
                guard matches([cr, lf], at: cursor) else { throw MultipartError.malformed("boundary line not followed by CRLF") }
                cursor += 2
                guard parts.count < maxParts else { throw MultipartError.tooManyParts(limit: maxParts) }
                // Headers: up to an empty line (a part without headers starts with CRLF at once).
                let headerEnd: Int, dataStart: Int
                if matches([cr, lf], at: cursor) {
                    headerEnd = cursor; dataStart = cursor + 2
                } else if let h = find([cr, lf, cr, lf], from: cursor, upTo: cursor + maxHeaderBytes + 4) {
                    headerEnd = h; dataStart = h + 4
                } else if n - cursor > maxHeaderBytes {
                    throw MultipartError.headersTooLong(limit: maxHeaderBytes)
                } else {
                    throw MultipartError.malformed("part headers do not end")
                }
                guard let next = find(delimiter, from: dataStart, upTo: n) else {
                    throw MultipartError.malformed("part is not closed by a boundary")
                }
                let headerText = String(decoding: UnsafeBufferPointer(rebasing: bytes[cursor..<headerEnd]), as: UTF8.self)
                var part = MultipartPart(name: nil, filename: nil, contentType: nil,
                                         data: Data(UnsafeBufferPointer(rebasing: bytes[dataStart..<next])))
                for line in headerText.components(separatedBy: "\r\n") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let key = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    if key == "content-type" { part.contentType = value }
                    if key == "content-disposition" {
                        part.name = parameter("name", in: value)
                        part.filename = parameter("filename", in: value)
                    }
                }
                parts.append(part)
                cursor = next + delimiter.count
            }
            return parts
        }
    }

    /// The file to recognise: the one part named `file`.
    /// - Throws: ``MultipartError/unexpectedField(name:)`` for any other part (naming it),
    ///   ``MultipartError/duplicateFile`` for two `file` parts, ``MultipartError/missingFile``
    ///   for none.
    public static func filePart(_ parts: [MultipartPart]) throws -> MultipartPart {
        var file: MultipartPart?
        for p in parts {
            guard p.name == "file" else { throw MultipartError.unexpectedField(name: p.name) }
            guard file == nil else { throw MultipartError.duplicateFile }
            file = p
        }
        guard let file else { throw MultipartError.missingFile }
        return file
    }

    private static func parameter(_ key: String, in value: String) -> String? {
        for p in value.split(separator: ";").dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, kv[0].lowercased() == key else { continue }
            var v = kv[1]
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }
}

#endif
