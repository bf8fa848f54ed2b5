import Foundation

/// Why a shard could not be chosen or shard outputs could not be joined. Each case names what it
/// refers to (the argument, the variable or the file) and the reason.
public enum ShardError: Error, Equatable, CustomStringConvertible {
    /// `--shard` (or `SER_SHARD`) is not `INDEX/COUNT` with `0 <= INDEX < COUNT`.
    case invalidSpec(String, reason: String)
    /// An environment variable a shard is read from holds an unusable value.
    case invalidEnvironment(variable: String, value: String, reason: String)
    /// `JOB_COMPLETION_INDEX` is set but no shard count is known.
    case missingCount(index: Int)
    /// A file name does not carry a shard number (`NAME.shard-I-of-N.EXT`).
    case notAShardFile(path: String)
    /// Shard files from runs split differently (`of-4` and `of-8`).
    case mixedCounts(paths: [String])
    /// The same shard was given twice.
    case duplicateShard(index: Int, count: Int, paths: [String])
    /// Some shards' files are missing.
    case missingShards(indices: [Int], count: Int, example: String)
    /// A shard has not finished (only its `.partial` file exists).
    case unfinished(path: String)
    /// One input appears in two shards' outputs.
    case overlap(file: String, paths: [String])
    /// A shard file cannot be read or parsed.
    case unreadable(path: String, reason: String)
    /// Shard files with different columns (CSV) or formats.
    case mismatch(path: String, reason: String)
    /// A row lacks the `file` field the merge orders by.
    case missingFileField(path: String, line: Int)

    public var description: String {
        switch self {
        case let .invalidSpec(s, reason): return "--shard \(s): \(reason) (expected INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/4)"
        case let .invalidEnvironment(v, value, reason): return "\(v)=\(value): \(reason); pass --shard INDEX/COUNT explicitly"
        case let .missingCount(i): return "JOB_COMPLETION_INDEX=\(i) is set but the shard count is unknown: set SER_SHARD_COUNT to the Job's completions, or pass --shard \(i)/COUNT"
        case let .notAShardFile(p): return "\(p): not a shard file (expected a name like out.shard-0-of-4.jsonl, as written with --shard)"
        case let .mixedCounts(paths): return "shard files from differently split runs: \(paths.joined(separator: ", "))"
        case let .duplicateShard(i, n, paths): return "shard \(i) of \(n) given twice: \(paths.joined(separator: ", "))"
        case let .missingShards(indices, n, example):
            let list = indices.prefix(20).map(String.init).joined(separator: ", ") + (indices.count > 20 ? ", …" : "")
            return "missing \(indices.count) of \(n) shards: \(list) (expected files like \(example))"
        case let .unfinished(p): return "\(p): this shard has not finished (it is still running, or it was interrupted: run it again)"
        case let .overlap(file, paths): return "\(file) appears in more than one shard: \(paths.joined(separator: ", "))"
        case let .unreadable(p, reason): return "\(p): \(reason)"
        case let .mismatch(p, reason): return "\(p): \(reason)"
        case let .missingFileField(p, line): return "\(p):\(line): row without a \"file\" field"
        }
    }
}

/// One part of a run split over several processes or machines: shard `index` of `count`
/// (0-based, `0 <= index < count`).
///
/// The partition depends only on the set of input names, never on the order they were given
/// in: the names are sorted by their UTF-8 bytes (``canonicalOrder(_:_:)``) and shard `i` takes
/// the names at positions `i, i + count, i + 2·count, …`. Shard sizes differ by at most one.
/// Every process of a run must be given the same inputs.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// This shard's number, 0-based.
    public let index: Int
    /// Number of shards in the run.
    public let count: Int

    /// The whole run as one shard (no split).
    public static let whole = Shard(uncheckedIndex: 0, count: 1)

    private init(uncheckedIndex: Int, count: Int) { self.index = uncheckedIndex; self.count = count }

    /// Shard `index` of `count`; throws ``ShardError/invalidSpec(_:reason:)`` unless `0 <= index < count`.
    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw ShardError.invalidSpec("\(index)/\(count)", reason: "the count must be at least 1") }
        guard index >= 0, index < count else {
            throw ShardError.invalidSpec("\(index)/\(count)", reason: "the index must be in 0..<\(count)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `INDEX/COUNT` (e.g. `3/8`: the fourth of eight shards).
    public init(parsing spec: String) throws {
        let parts = spec.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ShardError.invalidSpec(spec, reason: "not two integers separated by /")
        }
        do { try self.init(index: i, count: n) } catch { throw ShardError.invalidSpec(spec, reason: n < 1 ? "the count must be at least 1" : "the index must be in 0..<\(n)") }
    }

    /// `index/count`.
    public var description: String { "\(index)/\(count)" }

    /// Whether this is the whole run (`0/1`).
    public var isWhole: Bool { count == 1 }

    /// The shard a process is, read from its environment, or nil when nothing there says so.
    ///
    /// In order:
    /// 1. `SER_SHARD=INDEX/COUNT`.
    /// 2. A Slurm job array: `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`; the index is
    ///    `(SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP` (minimum 0 and
    ///    step 1 when unset), so `--array=1-8` gives shards 0…7. An array that is not an
    ///    arithmetic range (`--array=1,4,9`) is refused: pass `--shard` then.
    /// 3. A Kubernetes Indexed Job: `JOB_COMPLETION_INDEX`, with the count from `SER_SHARD_COUNT`
    ///    (Kubernetes does not export the Job's completions; set it in the manifest).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard? {
        func int(_ name: String) throws -> Int? {
            guard let raw = env[name], !raw.isEmpty else { return nil }
            guard let v = Int(raw.trimmingCharacters(in: .whitespaces)) else {
                throw ShardError.invalidEnvironment(variable: name, value: raw, reason: "not an integer")
            }
            return v
        }
        if let spec = env["SER_SHARD"], !spec.isEmpty { return try Shard(parsing: spec) }
        if let id = try int("SLURM_ARRAY_TASK_ID") {
            guard let n = try int("SLURM_ARRAY_TASK_COUNT") else {
                throw ShardError.invalidEnvironment(variable: "SLURM_ARRAY_TASK_ID", value: "\(id)",
                                                    reason: "SLURM_ARRAY_TASK_COUNT is not set")
            }
            let lo = try int("SLURM_ARRAY_TASK_MIN") ?? 0
            let step = try int("SLURM_ARRAY_TASK_STEP") ?? 1
            guard step >= 1, id >= lo, (id - lo) % step == 0, (id - lo) / step < n else {
                throw ShardError.invalidEnvironment(
                    variable: "SLURM_ARRAY_TASK_ID", value: "\(id)",
                    reason: "not in the range min \(lo), step \(step), \(n) tasks (an array like --array=1,4,9 is not a range)")
            }
            return try Shard(index: (id - lo) / step, count: n)
        }
        if let i = try int("JOB_COMPLETION_INDEX") {
            guard let n = try int("SER_SHARD_COUNT") else { throw ShardError.missingCount(index: i) }
            do { return try Shard(index: i, count: n) } catch {
                throw ShardError.invalidEnvironment(variable: "JOB_COMPLETION_INDEX", value: "\(i)",
                                                    reason: "not in 0..<\(n) (SER_SHARD_COUNT)")
            }
        }
        return nil
    }

    /// The order shards and merged outputs use: by the names' UTF-8 bytes (independent of locale).
    public static func canonicalOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// The positions in `names` that belong to this shard, in their given order.
    public func select(_ names: [String]) -> [Int] {
        if count == 1 { return Array(names.indices) }
        let sorted = names.indices.sorted { Shard.canonicalOrder(names[$0], names[$1]) || (names[$0] == names[$1] && $0 < $1) }
        var mine: [Int] = []
        for (rank, i) in sorted.enumerated() where rank % count == index { mine.append(i) }
        return mine.sorted()
    }

    /// The elements of `items` that belong to this shard (keyed by `name`), in their given order.
    public func select<T>(_ items: [T], name: (T) -> String) -> [T] {
        select(items.map(name)).map { items[$0] }
    }

    /// The output file of this shard for `path`: `out.jsonl` → `out.shard-3-of-8.jsonl` (the
    /// number goes before the last extension); the path itself for the whole run.
    public func fileName(for path: String) -> String {
        guard !isWhole else { return path }
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let dir = (path as NSString).deletingLastPathComponent
        let base = ext.isEmpty ? url.lastPathComponent : String(url.lastPathComponent.dropLast(ext.count + 1))
        let name = "\(base).shard-\(index)-of-\(count)" + (ext.isEmpty ? "" : ".\(ext)")
        return dir.isEmpty ? name : (dir as NSString).appendingPathComponent(name)
    }

    /// The shard a file written by ``fileName(for:)`` belongs to, and the name without it
    /// (`out.shard-3-of-8.jsonl` → (3/8, `out.jsonl`)); nil for other names.
    public static func parseFileName(_ path: String) -> (shard: Shard, base: String)? {
        let name = (path as NSString).lastPathComponent
        guard let r = name.range(of: ".shard-", options: .backwards) else { return nil }
        let rest = name[r.upperBound...]
        let digits = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let spec = digits[0].split(separator: "-", omittingEmptySubsequences: false)
        guard spec.count == 3, spec[1] == "of", let i = Int(spec[0]), let n = Int(spec[2]),
              let shard = try? Shard(index: i, count: n) else { return nil }
        let base = String(name[..<r.lowerBound]) + (digits.count > 1 ? "." + digits[1] : "")
        let dir = (path as NSString).deletingLastPathComponent
        return (shard, dir.isEmpty ? base : (dir as NSString).appendingPathComponent(base))
    }
}
