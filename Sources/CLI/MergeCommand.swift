import ArgumentParser
import Foundation
import SERCore

/// `ser merge`: joins the outputs of a sharded `ser predict` or `ser features` run.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the outputs of the shards of a run (--shard) into one, in canonical order.",
        discussion: """
        Give every shard's file: `ser predict --shard I/N --output preds.jsonl` files \
        (preds.shard-I-of-N.jsonl, JSON lines or CSV), or the `ser features --shard` indexes \
        (OUT/index.shard-I-of-N.jsonl). The rows are sorted by their `file` (by bytes, the order the \
        partition uses); the rows of one input keep their order. The merge refuses, saying why: a missing \
        or repeated shard, files from differently split runs, an input found in two shards, a truncated \
        file (an interrupted shard: run it again), CSV files with different columns. For features indexes \
        it also refuses when an input failed in its shard or a features file it names is missing.

        Examples:
          ser merge preds.shard-*-of-8.jsonl --output preds.jsonl
          ser merge feats/index.shard-*-of-8.jsonl --output feats/index.jsonl
        """)

    @Argument(help: "Every shard's output file.") var files: [String]
    @Option(help: ArgumentHelp("Merged file (default: standard output).", valueName: "file")) var output: String?

    func run() throws {
        let merged: ShardMerge.Merged
        do { merged = try ShardMerge.merge(paths: files) } catch let e as ShardError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            throw ExitCode(1)
        }
        let problems = ShardMerge.featureIndexProblems(merged)
        if !problems.isEmpty {
            for p in problems.prefix(20) { FileHandle.standardError.write(Data("error: \(p)\n".utf8)) }
            if problems.count > 20 { FileHandle.standardError.write(Data("error: … and \(problems.count - 20) more\n".utf8)) }
            FileHandle.standardError.write(Data("merge: \(problems.count) inputs have no features; run their shards again\n".utf8))
            throw ExitCode(1)
        }
        let data = Data(merged.text.utf8)
        if let output {
            do { try data.write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
                throw ValidationError("--output \(output): \(error.localizedDescription)")
            }
            FileHandle.standardError.write(Data("merge: \(merged.shards) shards, \(merged.rows.count) rows -> \(output)\n".utf8))
        } else {
            FileHandle.standardOutput.write(data)
        }
    }
}
