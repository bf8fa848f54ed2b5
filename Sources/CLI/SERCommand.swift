import ArgumentParser
import Logging

/// `ser`: speech emotion recognition from the command line.
@main
struct SER: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ser",
        abstract: "Speech emotion recognition (STA-CNN): features, training, evaluation, prediction, service.",
        subcommands: [PredictCommand.self, ServeCommand.self, FeaturesCommand.self, TrainCommand.self,
                      EvaluateCommand.self, BaselineCommand.self, DemoSignalCommand.self, EncoderCommand.self])
}
