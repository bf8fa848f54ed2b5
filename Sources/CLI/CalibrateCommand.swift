import ArgumentParser
import Foundation
import SERExperiments

/// `ser calibrate`: temperature scaling of an existing run's models, then its report rewritten.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Fit the softmax temperature of every finished fold's model of a run on its validation clips, store it in the model file, and rewrite the report.",
        discussion: """
        `ser train` already does this when a fold finishes; use it for runs trained before that. The \
        temperature T minimises the negative log-likelihood of softmax(logits / T) on the fold's \
        validation clips (never its test clips); it does not change any prediction's top class. The \
        rewritten report gives the expected calibration error on the test clips before and after.
        """)

    @OptionGroup var folder: RunFolderOptions

    func run() throws {
        let runner = try folder.runner()
        _ = try runner.calibrate()
        let report = try runner.evaluate()
        print(report.summaryLine(directory: folder.runFolder))
        if let c = report.calibration {
            print(String(format: "expected calibration error on the test clips (pooled): %.4f before, %.4f after temperature scaling",
                         c.pooledBefore.ece, c.pooledAfter.ece))
        }
    }
}
