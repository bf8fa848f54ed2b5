// File names as the file system stores them (bytes, not necessarily UTF-8), carried losslessly
// in Swift `String`s, and the few POSIX calls that take them back to bytes.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-exact file names in `String`s.
///
/// Linux file names are byte strings; Foundation decodes them as UTF-8 and replaces invalid bytes
/// with U+FFFD, so a file named `b"caf\xE9.wav"` (Latin-1) can neither be given as an argument
/// nor found in a folder scan: its name no longer names it. Here each byte that is not part of
/// valid UTF-8 is carried as one scalar of Unicode's private use plane 16, U+10FF80…U+10FFFF
/// (byte `b` as U+10FF00 + `b`), the same idea as Python's "surrogateescape". The bytes of a
/// genuine U+10FF80…U+10FFFF scalar in a name are escaped the same way, so every byte string maps
/// to one `String` and back exactly (``string(fromBytes:)`` and ``bytes(_:)`` are inverse).
///
/// Such strings survive `URL(fileURLWithPath:)`, `appendingPathComponent`, `pathExtension` and
/// `lastPathComponent` unchanged, so paths travel through the code as usual; only the calls that
/// hand a path to the operating system or a C library go through ``withCString(_:_:)`` (or the
/// helpers here). ``display(_:)`` writes escaped bytes as `\xE9` for messages.
public enum FileNames {
    /// Scalar of byte 0x80 (bytes 0x80…0xFF map to U+10FF80…U+10FFFF; 0x00…0x7F are always valid).
    static let escapeBase: UInt32 = 0x10FF00
    /// The escape range.
    static let escapes: ClosedRange<UInt32> = 0x10FF80...0x10FFFF

    /// The `String` for a file name or path given as bytes (no terminating NUL).
    public static func string<C: Collection>(fromBytes bytes: C) -> String where C.Element == UInt8 {
        let array = Array(bytes)
        if let s = String(validating: array, as: UTF8.self),
           !s.unicodeScalars.contains(where: { escapes.contains($0.value) }) { return s }
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < array.count {
            let (scalar, length) = decodeOne(array, at: i)
            if let scalar, !escapes.contains(scalar.value) {
                scalars.append(scalar)
            } else {
                for b in array[i..<(i + length)] { scalars.append(escaped(b)) }
            }
            i += length
        }
        return String(scalars)
    }

    /// The bytes a `String` from ``string(fromBytes:)`` (or any ordinary string) names.
    public static func bytes(_ path: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(path.utf8.count)
        for s in path.unicodeScalars {
            if escapes.contains(s.value) {
                out.append(UInt8(s.value - escapeBase))
            } else {
                out.append(contentsOf: String(s).utf8)
            }
        }
        return out
    }

    /// Whether `path` holds escaped bytes (it names a file whose name is not valid UTF-8).
    public static func isEscaped(_ path: String) -> Bool {
        path.unicodeScalars.contains { escapes.contains($0.value) }
    }

    /// Calls `body` with the NUL-terminated byte path for C and POSIX calls.
    public static func withCString<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        if !isEscaped(path) { return try path.withCString(body) }
        var b = bytes(path).map { CChar(bitPattern: $0) }
        b.append(0)
        return try b.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// `path` for messages: escaped bytes written as `\xE9`, everything else as is.
    public static func display(_ path: String) -> String {
        guard isEscaped(path) else { return path }
        var out = ""
        for s in path.unicodeScalars {
            if escapes.contains(s.value) {
                out += String(format: "\\x%02X", s.value - escapeBase)
            } else {
                out.unicodeScalars.append(s)
            }
        }
        return out
    }

    /// The process's arguments with byte-exact file names (`CommandLine.arguments` replaces
    /// invalid UTF-8 with U+FFFD), without the program name.
    public static var commandLineArguments: [String] {
        let argv = CommandLine.unsafeArgv
        return (1..<Int(CommandLine.argc)).map { i in
            guard let p = argv[i] else { return "" }
            return string(fromBytes: UnsafeRawBufferPointer(start: p, count: strlen(p)))
        }
    }

    // MARK: - File system calls

    /// `stat` (following symbolic links, unless `followLinks` is false), or nil when it fails.
    public static func status(_ path: String, followLinks: Bool = true) -> stat? {
        var st = stat()
        let r = withCString(path) { followLinks ? stat($0, &st) : lstat($0, &st) }
        return r == 0 ? st : nil
    }

    /// Whether something exists at `path` (through symbolic links).
    public static func exists(_ path: String) -> Bool { status(path) != nil }

    /// Whether `path` is a folder (through symbolic links).
    public static func isDirectory(_ path: String) -> Bool {
        guard let st = status(path) else { return false }
        return st.st_mode & S_IFMT == S_IFDIR
    }

    /// Size in bytes of the file at `path` (through symbolic links), or nil.
    public static func size(_ path: String) -> Int64? { status(path).map { Int64($0.st_size) } }

    /// Opens `path` read-only (`O_RDONLY | O_CLOEXEC`); the descriptor, or -1 with `errno` set.
    public static func openForReading(_ path: String) -> Int32 {
        withCString(path) { open($0, O_RDONLY | O_CLOEXEC) }
    }

    /// A `FileHandle` reading `path`, or nil when it cannot be opened.
    public static func fileHandle(forReading path: String) -> FileHandle? {
        let fd = openForReading(path)
        return fd < 0 ? nil : FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// The whole file at `path`, or nil when it cannot be read.
    public static func contents(_ path: String) -> Data? {
        guard let h = fileHandle(forReading: path) else { return nil }
        return try? h.readToEnd() ?? Data()
    }

    // MARK: - Folder scans

    /// A regular file found by ``files(under:skipHidden:)``.
    public struct Found: Sendable, Equatable {
        /// Full path (the root joined with `relative`).
        public var path: String
        /// Path below the root, `/`-separated.
        public var relative: String
        /// Whether the entry (or a folder above it, below the root) is a symbolic link.
        public var viaLink: Bool
    }

    /// What a folder scan found.
    public struct Scan: Sendable, Equatable {
        /// Regular files (symbolic links to regular files included), sorted by relative path.
        public var files: [Found] = []
        /// Symbolic links whose target does not exist (relative paths).
        public var brokenLinks: [String] = []
        /// Folders not entered, as "relative path: why": already visited through another path (a
        /// link loop or a second link to the same folder), unreadable, or deeper than ``maxDepth``.
        public var skipped: [String] = []
    }

    /// Deepest folder level a scan enters.
    public static let maxDepth = 64

    /// Every regular file under the folder `root`, recursively, following symbolic links to files
    /// and folders (each folder is entered once, by its device and inode, so link loops end).
    /// Names are read with `readdir` as bytes (see the type's documentation). Entries whose name
    /// starts with "." are skipped when `skipHidden` is true.
    public static func files(under root: String, skipHidden: Bool) -> Scan {
        var scan = Scan()
        var visited = Set<[UInt64]>()
        if let st = status(root) { visited.insert([UInt64(st.st_dev), UInt64(st.st_ino)]) }
        walk(root, relative: "", depth: 0, viaLink: false, skipHidden: skipHidden, visited: &visited, into: &scan)
        scan.files.sort { $0.relative < $1.relative }
        scan.brokenLinks.sort()
        return scan
    }

    private static func walk(_ dir: String, relative: String, depth: Int, viaLink: Bool, skipHidden: Bool,
                             visited: inout Set<[UInt64]>, into scan: inout Scan) {
        guard let names = entries(of: dir) else {
            if !relative.isEmpty { scan.skipped.append("\(relative): cannot be read") }
            return
        }
        let base = dir.hasSuffix("/") ? dir : dir + "/"
        for name in names.sorted() {
            if skipHidden && name.hasPrefix(".") { continue }
            let path = base + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            guard let own = status(path, followLinks: false) else { continue }
            let isLink = own.st_mode & S_IFMT == S_IFLNK
            guard let st = isLink ? status(path) : own else {
                scan.brokenLinks.append(rel)
                continue
            }
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                scan.files.append(Found(path: path, relative: rel, viaLink: viaLink || isLink))
            case S_IFDIR:
                guard depth + 1 < maxDepth else { scan.skipped.append("\(rel): deeper than \(maxDepth) levels"); continue }
                guard visited.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted else {
                    scan.skipped.append("\(rel): already scanned through another path (link loop or second link)")
                    continue
                }
                walk(path, relative: rel, depth: depth + 1, viaLink: viaLink || isLink, skipHidden: skipHidden,
                     visited: &visited, into: &scan)
            default:
                continue                                   // sockets, pipes, devices
            }
        }
    }

    /// Names in the folder `dir` (without "." and ".."), or nil when it cannot be opened.
    public static func entries(of dir: String) -> [String]? {
        guard let d = withCString(dir, { opendir($0) }) else { return nil }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name: String = withUnsafeBytes(of: &e.pointee.d_name) { raw in
                let n = raw.firstIndex(of: 0) ?? raw.count
                return string(fromBytes: raw[0..<n])
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names
    }

    // MARK: - UTF-8

    private static func escaped(_ b: UInt8) -> Unicode.Scalar {
        Unicode.Scalar(escapeBase + UInt32(b))!                          // 0x10FF00 + b is a valid scalar
    }

    /// The scalar of the well-formed UTF-8 sequence at `i` and its length, or (nil, 1) when the
    /// byte at `i` does not start one (overlong forms, surrogates and values past U+10FFFF refused).
    private static func decodeOne(_ b: [UInt8], at i: Int) -> (Unicode.Scalar?, Int) {
        let c0 = b[i]
        if c0 < 0x80 { return (Unicode.Scalar(c0), 1) }
        let n: Int, minValue: UInt32
        var v: UInt32
        switch c0 {
        case 0xC2...0xDF: n = 2; v = UInt32(c0 & 0x1F); minValue = 0x80
        case 0xE0...0xEF: n = 3; v = UInt32(c0 & 0x0F); minValue = 0x800
        case 0xF0...0xF4: n = 4; v = UInt32(c0 & 0x07); minValue = 0x10000
        default: return (nil, 1)
        }
        guard i + n <= b.count else { return (nil, 1) }
        for k in 1..<n {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return (nil, 1) }
            v = v << 6 | UInt32(c & 0x3F)
        }
        guard v >= minValue, v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v), let s = Unicode.Scalar(v) else { return (nil, 1) }
        return (s, n)
    }
}
