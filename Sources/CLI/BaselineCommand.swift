import ArgumentParser
import Foundation
import SERCorpora
import SERExperiments
import SERReports

/// `ser baseline`: logistic regression on utterance statistics, on the same split files as `ser train`.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Logistic regression on per-channel means and standard deviations of the fused features, same protocols and splits as `ser train`.",
        discussion: """
        Example: ser baseline --corpus ravdess --data ../shared/corpora/ravdess --protocol holdout --seeds 0,1,2,3,4 --out runs/ravdess-baseline
        Pass the split of an STA-CNN run with --split RUN/split.json to compare on identical test sets.
        """)

    @OptionGroup var experiment: ExperimentOptions
    @Option(help: "Reuse this split file (e.g. from a `ser train` run).") var split: String?
    @OptionGroup(title: "Waveform augmentation (each setting adds one copy of every training clip)") var augment: AugmentationOptions
    @Flag(help: "Also score each fold's model on perturbed copies of its validation clips (gain +10 dB, telephone, MP3 32k, Opus 16k, reverb 0.5 s, pink noise 10 dB, 1 s of silence); a Robustness table in the report.")
    var robustness = false
    @Flag(help: "No progress bars.") var quiet = false

    func run() throws {
        var spec = try experiment.spec()
        let augmentation = try augment.augmentation()
        spec.augmentation = augmentation.isEmpty ? nil : augmentation
        if robustness { spec.robustness = .robustnessBattery }
        let dir = URL(fileURLWithPath: experiment.out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if let split {
            let dest = dir.appendingPathComponent("split.json")
            if FileManager.default.fileExists(atPath: dest.path) { try FileManager.default.removeItem(at: dest) }
            try FileManager.default.copyItem(at: URL(fileURLWithPath: split), to: dest)
        }
        var runner = ExperimentRunner(spec: spec, directory: dir, cacheDirectory: URL(fileURLWithPath: experiment.cache))
        runner.progress = !quiet
        let report = try runner.runBaseline()
        print(report.summaryLine(directory: experiment.out))
    }
}
