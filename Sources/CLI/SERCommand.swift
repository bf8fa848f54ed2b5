import ArgumentParser
import SERCore

/// `ser`: speech emotion recognition from the command line.
@main
struct SER: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ser",
        abstract: "Speech emotion recognition (STA-CNN): features, training, evaluation, prediction, service.",
        version: SERVersion.report,
        subcommands: [PredictCommand.self] + serviceCommands + [FeaturesCommand.self, TrainCommand.self,
                      EvaluateCommand.self, CalibrateCommand.self, BaselineCommand.self, PerturbCommand.self, DemoSignalCommand.self,
                      EncoderCommand.self, ReportCommand.self, MergeCommand.self, ExportCommand.self])

    /// `ser serve`, when built with the `Service` trait (the default).
    #if Service
    static let serviceCommands: [any ParsableCommand.Type] = [ServeCommand.self]
    #else
    static let serviceCommands: [any ParsableCommand.Type] = []
    #endif

    /// Parses the arguments with byte-exact file names (names that are not UTF-8 keep their bytes;
    /// `CommandLine.arguments` would replace them with U+FFFD and name no file).
    static func main() async { await main(FileNames.commandLineArguments) }
}
