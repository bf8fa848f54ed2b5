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
}

/// Why a `multipart/form-data` body could not be read.
public enum MultipartError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `Content-Type` has no boundary parameter.
    case missingBoundary
    /// The body does not follow the format (`reason` says where).
    case malformed(String)

    /// One line with the reason.
    public var description: String {
        switch self {
        case .missingBoundary: return "multipart/form-data without a boundary parameter"
        case let .malformed(r): return "malformed multipart/form-data body: \(r)"
        }
    }
}

/// A small `multipart/form-data` (RFC 7578) reader for uploads held in memory.
public enum MultipartFormData {
    /// The boundary of a `multipart/form-data` content type, or nil when `contentType` is another type.
    /// - Throws: ``MultipartError/missingBoundary`` for multipart without a boundary.
    public static func boundary(contentType: String) throws -> String? {
        let params = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let type = params.first, type.lowercased() == "multipart/form-data" else { return nil }
        for p in params.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var b = kv[1].trimmingCharacters(in: .whitespaces)
            if b.hasPrefix("\""), b.hasSuffix("\""), b.count >= 2 { b = String(b.dropFirst().dropLast()) }
            if !b.isEmpty { return b }
        }
        throw MultipartError.missingBoundary
    }

    /// The parts of `body`, delimited by `boundary`.
    public static func parse(_ body: Data, boundary: String) throws -> [MultipartPart] {
        let delimiter = Data("--\(boundary)".utf8)
        let crlf = Data("\r\n".utf8)
        let headerEnd = Data("\r\n\r\n".utf8)
        guard var cursor = body.range(of: delimiter)?.upperBound else {
            throw MultipartError.malformed("no boundary line")
        }
        var parts: [MultipartPart] = []
        let nextDelimiter = Data("\r\n--\(boundary)".utf8)
        while true {
            // After a delimiter: "--" ends the body, otherwise CRLF and a part.
            if body[cursor...].starts(with: Data("--".utf8)) { break }
            guard body[cursor...].starts(with: crlf) else { throw MultipartError.malformed("boundary line not followed by CRLF") }
            cursor += 2
            guard let hEnd = body.range(of: headerEnd, in: cursor..<body.endIndex) else {
                throw MultipartError.malformed("part headers do not end")
            }
            let headerText = String(decoding: body[cursor..<hEnd.lowerBound], as: UTF8.self)
            guard let next = body.range(of: nextDelimiter, in: hEnd.upperBound..<body.endIndex) else {
                throw MultipartError.malformed("part is not closed by a boundary")
            }
            var part = MultipartPart(name: nil, filename: nil, contentType: nil, data: Data(body[hEnd.upperBound..<next.lowerBound]))
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
            cursor = next.upperBound
        }
        return parts
    }

    /// The file to recognise: the part named `file` or `audio`, else the first part with a file name,
    /// else the only part.
    public static func filePart(_ parts: [MultipartPart]) -> MultipartPart? {
        parts.first { $0.name == "file" || $0.name == "audio" } ?? parts.first { $0.filename != nil }
            ?? (parts.count == 1 ? parts[0] : nil)
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
