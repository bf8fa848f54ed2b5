import Foundation
import SERCore

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
    ///
    /// Paths may carry byte-exact names that are not UTF-8 (see ``SERCore/FileNames``; pass
    /// ``SERCore/FileNames/commandLineArguments`` rather than `CommandLine.arguments`). Folders are
    /// searched with symbolic links followed (each folder once); a file argument is taken
    /// whatever its extension, files in folders by ``extensions``.
    /// - Throws: `AudioError.fileNotFound` for an argument that does not exist.
    public static func collect(_ paths: [String]) throws -> [Item] {
        var items: [Item] = []
        for p in paths {
            guard FileNames.exists(p) else { throw AudioError.fileNotFound(path: p) }
            let root = URL(fileURLWithPath: p).standardizedFileURL
            if !FileNames.isDirectory(p) {
                items.append(Item(url: root, relativePath: root.lastPathComponent))
                continue
            }
            let scan = FileNames.files(under: root.path, skipHidden: false)
            for f in scan.files where extensions.contains((f.relative as NSString).pathExtension.lowercased()) {
                items.append(Item(url: URL(fileURLWithPath: f.path), relativePath: f.relative))
            }
        }
        return items
    }
}
