import ArgumentParser
import Foundation
import SERCore

/// `--shard INDEX/COUNT`: the part of a run this process does (see ``Shard``).
struct ShardOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Do shard INDEX of COUNT (0-based, e.g. 0/4 … 3/4) of the inputs.",
        discussion: "Default: from SER_SHARD=INDEX/COUNT, a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN), or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX with SER_SHARD_COUNT); none of these: the whole run. The inputs are sorted by name and shard INDEX takes every COUNT-th, so every shard must be given the same inputs. 0/1 processes everything even inside an array job. `ser merge` joins the shards' outputs.",
        valueName: "INDEX/COUNT"))
    var shard: String?

    /// The shard and where it came from (for messages): the option, the environment, or the whole run.
    func resolve() throws -> (shard: Shard, origin: String) {
        do {
            if let spec = shard { return (try Shard(parsing: spec), "--shard") }
            if let s = try Shard.fromEnvironment() {
                let env = ProcessInfo.processInfo.environment
                let origin = env["SER_SHARD"].map { _ in "SER_SHARD" }
                    ?? (env["SLURM_ARRAY_TASK_ID"] != nil ? "SLURM_ARRAY_TASK_ID" : "JOB_COMPLETION_INDEX")
                return (s, origin)
            }
            return (.whole, "")
        } catch let e as ShardError {
            throw ValidationError("\(e)")
        }
    }
}

extension Shard {
    /// A line for standard error saying which part of the run this is.
    func note(command: String, origin: String, selected: Int, of total: Int) -> String {
        "\(command): shard \(self) (from \(origin)): \(selected) of \(total) inputs\n"
    }
}
