import Foundation

/// Finds audio files: plain files are taken as given, folders are searched recursively.
public enum AudioFiles {
    /// File name extensions treated as audio when searching folders.
    public static let extensions: Set<String> = ["wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff"]

    /// One audio file found under an input argument.
    public struct Item: Sendable, Equatable {
        /// The file.
        public var url: URL
        /// Its path relative to the folder argument it was found in (its name, for a file argument).
        public var relativePath: String
    }

    /// Expands files and folders into audio files, sorted within each folder.
    /// - Throws: `AudioError.fileNotFound` for an argument that does not exist.
    public static func collect(_ paths: [String]) throws -> [Item] {
        var items: [Item] = []
        let fm = FileManager.default
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { throw AudioError.fileNotFound(path: p) }
            let root = URL(fileURLWithPath: p).standardizedFileURL
            if !isDir.boolValue {
                items.append(Item(url: root, relativePath: root.lastPathComponent))
                continue
            }
            guard let e = fm.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { continue }
            var found: [Item] = []
            let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
            for case let u as URL in e where extensions.contains(u.pathExtension.lowercased()) {
                let path = u.standardizedFileURL.path
                let rel = path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : u.lastPathComponent
                found.append(Item(url: u.standardizedFileURL, relativePath: rel))
            }
            items += found.sorted { $0.relativePath < $1.relativePath }
        }
        return items
    }
}
