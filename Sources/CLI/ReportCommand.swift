import ArgumentParser
import Foundation
import SERReports

/// `ser report`: renders a report again (Markdown and SVG) from its `report.json`.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render report.md and the SVG figures again from a report.json (e.g. a copied results folder).",
        discussion: """
        Reads FOLDER/report.json (or the report JSON file given) and writes report.md and the figures next \
        to it, as `ser train` and `ser evaluate` would. Nothing is recomputed: the numbers are the JSON's.

        Example:
          ser report docs/results/*/
        """)

    @Argument(help: "Result folders (holding report.json) or report JSON files.") var paths: [String]

    func run() throws {
        var failed = 0
        for path in paths {
            var url = URL(fileURLWithPath: path)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
                url = url.appendingPathComponent("report.json")
            }
            do {
                let report = try ExperimentReport.read(from: url)
                let written = try report.write(to: url.deletingLastPathComponent(),
                                               baseName: url.deletingPathExtension().lastPathComponent)
                print("\(url.deletingLastPathComponent().path): \(written.count) files")
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
