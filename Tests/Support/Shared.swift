import Foundation

/// Locates the read-only `../shared` folder (corpora, librosa references) next to the checkout.
///
/// Honors `SER_SHARED` when set. Tests that need it call `try requireShared("…")`, which throws an
/// `XCTSkip`-compatible error with a clear message on a fresh clone where it is absent.
public enum SharedData {
    /// The package root, derived from this file's location.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared` (or `$SER_SHARED`) when it exists.
    public static var directory: URL? {
        let env = ProcessInfo.processInfo.environment["SER_SHARED"]
        let url = env.map { URL(fileURLWithPath: $0) }
            ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: url.path) ? url.standardizedFileURL : nil
    }

    /// A path inside `shared/`, or nil when absent.
    public static func path(_ relative: String) -> URL? {
        guard let d = directory else { return nil }
        let u = d.appendingPathComponent(relative)
        return FileManager.default.fileExists(atPath: u.path) ? u : nil
    }

    /// Fixtures committed with the tests: `Tests/Fixtures/<relative>`.
    public static func fixture(_ relative: String) -> URL {
        packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative)
    }

    /// A fresh temporary directory.
    public static func temporaryDirectory(_ prefix: String = "ser-test") throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}
