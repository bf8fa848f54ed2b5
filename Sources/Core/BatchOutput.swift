import Foundation

/// Why outputs cannot be laid out.
public enum OutputLayoutError: Error, Equatable, CustomStringConvertible {
    /// Two inputs would be written to the same output path.
    case collision(output: String, inputs: [String])

    public var description: String {
        switch self {
        case let .collision(output, inputs):
            return "\(inputs.joined(separator: " and ")) would both be written to \(output); "
                + "rename one, give the folders separately, or give distinct folder names (nothing was written)"
        }
    }
}

/// Where the output of each input file goes under an output folder, so that no two inputs share
/// an output and nothing is overwritten.
///
/// - One input argument (a file or a folder): its files' paths relative to it (`corpus/a/x.wav`
///   → `OUT/a/x.EXT`), as before.
/// - Several arguments: each folder's files go under the folder's own name (`t/a t/b` →
///   `OUT/a/x.EXT`, `OUT/b/x.EXT`); a file argument goes to `OUT/<its name>`.
/// - The extension is replaced (`x.wav` → `x.EXT`), so `x.wav` and `x.flac` in one folder
///   would collide. Any collision (also two folders with the same name, or a file given twice)
///   is refused before any work with ``OutputLayoutError/collision(output:inputs:)``.
public enum OutputLayout {
    /// One input file and the argument it was found under.
    public struct Input: Sendable, Equatable {
        /// The command-line argument (a file or a folder).
        public var root: String
        /// Whether the argument is a folder.
        public var rootIsFolder: Bool
        /// The file's path relative to the folder (its name, for a file argument).
        public var relativePath: String
        /// Name used in messages (e.g. the argument joined with the relative path).
        public var name: String

        /// An input found under `root`.
        public init(root: String, rootIsFolder: Bool, relativePath: String, name: String) {
            self.root = root; self.rootIsFolder = rootIsFolder; self.relativePath = relativePath; self.name = name
        }
    }

    /// The output path of each input relative to the output folder, with the extension `ext`
    /// (no dot), in the inputs' order; throws on the first collision.
    public static func relativePaths(_ inputs: [Input], extension ext: String) throws -> [String] {
        let roots = Set(inputs.map(\.root))
        var seen: [String: String] = [:]
        var out: [String] = []
        out.reserveCapacity(inputs.count)
        for input in inputs {
            var rel = input.relativePath
            if roots.count > 1 && input.rootIsFolder {
                let name = URL(fileURLWithPath: input.root).standardizedFileURL.lastPathComponent
                rel = (name as NSString).appendingPathComponent(rel)
            }
            let path = ((rel as NSString).deletingPathExtension as NSString).appendingPathExtension(ext) ?? rel + "." + ext
            if let other = seen[path] { throw OutputLayoutError.collision(output: path, inputs: [other, input.name]) }
            seen[path] = input.name
            out.append(path)
        }
        return out
    }
}

/// Hands results that finish in any order to `emit` in their index order, each as soon as all
/// earlier ones are out: finished results wait in a buffer until their turn.
///
/// `emit` runs under a lock (one call at a time), on whichever thread completed the result that
/// made the next one available.
public final class InOrderEmitter<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [Int: Value] = [:]
    private var next = 0
    private let emit: (Int, Value) -> Void

    /// An emitter for results numbered 0, 1, 2, ….
    public init(emit: @escaping (Int, Value) -> Void) { self.emit = emit }

    /// Result `index` is done; emits it and any buffered successors if it is the next in order.
    public func submit(_ index: Int, _ value: Value) {
        lock.lock(); defer { lock.unlock() }
        pending[index] = value
        while let v = pending.removeValue(forKey: next) {
            emit(next, v)
            next += 1
        }
    }

    /// Results emitted so far.
    public var emitted: Int { lock.lock(); defer { lock.unlock() }; return next }
}

/// Why an output file cannot be written.
public enum OutputFileError: Error, Equatable, CustomStringConvertible {
    /// The file (or its folder) cannot be created or renamed.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotWrite(path, reason): return "\(path): cannot write (\(reason))"
        }
    }
}

/// A file written as results come, optionally under `PATH.partial` until ``finish()`` renames
/// it to `PATH`, so that a process killed half-way (a shard of a cluster run) leaves no file
/// under the final name and `ser merge` reports the shard as missing instead of joining a short
/// file. Writes are not synchronised: call them one at a time (e.g. from an ``InOrderEmitter``).
public final class OutputFile: @unchecked Sendable {
    /// The final path.
    public let path: String
    /// Where the text goes while it is written (`PATH.partial`, or `PATH`).
    public let writingPath: String
    private let handle: FileHandle

    /// Creates (or truncates) the file and its folder; `partial`: write under `PATH.partial`.
    public init(path: String, partial: Bool) throws {
        self.path = path
        writingPath = partial ? path + ".partial" : path
        let url = URL(fileURLWithPath: writingPath)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw OutputFileError.cannotWrite(path: path, reason: error.localizedDescription)
        }
        guard FileManager.default.createFile(atPath: writingPath, contents: nil) else {
            throw OutputFileError.cannotWrite(path: writingPath, reason: "cannot create the file")
        }
        do { handle = try FileHandle(forWritingTo: url) } catch {
            throw OutputFileError.cannotWrite(path: writingPath, reason: error.localizedDescription)
        }
    }

    /// Appends `text`.
    public func write(_ text: String) {
        guard !text.isEmpty else { return }
        handle.write(Data(text.utf8))
    }

    /// Closes the file and gives it its final name (replacing an older file of that name).
    public func finish() throws {
        try? handle.close()
        guard writingPath != path else { return }
        let fm = FileManager.default
        do {
            if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
            try fm.moveItem(atPath: writingPath, toPath: path)
        } catch {
            throw OutputFileError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }
}
