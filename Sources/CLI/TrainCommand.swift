import ArgumentParser
import Foundation
import SERAudio
import SERCore
import SERCorpora
import SERExperiments
import SERFeatures
import SERModel

/// Model and optimisation flags shared by `ser train` and `ser baseline`.
struct ExperimentOptions: ParsableArguments {
    @Option(help: "Corpus: \(CorpusKind.allCases.map(\.rawValue).joined(separator: ", ")); several, comma-separated, are pooled (e.g. ravdess,emodb,savee,crema-d). crema-d-voice labels CREMA-D by the crowd's voice-only ratings (summaryTable.csv) instead of the portrayed emotion.")
    var corpus: String
    @Option(help: "Corpus folder (for manifest: the CSV file); with several corpora, one folder each, comma-separated, in the same order.")
    var data: String
    @Option(help: "Label set: corpus (one corpus's own), shared7 (neutral happy sad angry fearful disgust surprised; calm -> neutral, bored dropped) or shared6 (also without surprised). Default: corpus for one corpus, shared7 for several.")
    var labels: String?
    @Option(name: .customLong("protocol"), help: "holdout (paper's 6:2:2), speaker-kfold, loso, loso-session, loco (leave one corpus out; several corpora).")
    var protocolName: String = "holdout"
    @Option(help: "Folds for speaker-kfold.") var folds = ExperimentSpec(corpus: .ravdess, data: "", protocolKind: .speakerKFold).folds
    @Option(help: "Seeds, comma-separated (holdout: one split and run per seed).") var seeds: String = "0"
    @Option(name: .customLong("fold"), help: "Run only this fold (repeatable), e.g. seed-0, fold-1, speaker-03.")
    var onlyFolds: [String] = []
    @Option(help: "Run folder.") var out: String
    @Option(help: "Feature cache folder.") var cache: String = ".cache/features"
    @Option(help: "Per-clip normalisation before standardising: global (training statistics only, the paper's), utterance (each clip by its own statistics), speaker (each clip by its speaker's statistics; needs unlabelled audio of every test speaker).")
    var normalization: String = "global"
    @OptionGroup var features: FeatureOptions

    func spec() throws -> ExperimentSpec {
        let names = corpus.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let folders = data.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, names.count == folders.count else {
            throw ValidationError("--corpus names \(names.count) corpora but --data \(folders.count) folders; give one folder per corpus")
        }
        let kinds: [CorpusKind] = try names.map { name in
            guard let k = CorpusKind(rawValue: name.replacingOccurrences(of: "crema-d", with: "cremad")) else {
                throw ValidationError("unknown corpus '\(name)' (expected \(CorpusKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return k
        }
        let kind = kinds[0]
        guard let proto = EvaluationProtocol(rawValue: protocolName) else {
            throw ValidationError("unknown protocol '\(protocolName)' (expected \(EvaluationProtocol.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var s = ExperimentSpec(corpus: kind, data: folders[0], protocolKind: proto)
        if kinds.count > 1 { s.corpora = zip(kinds, folders).map { CorpusSource(corpus: $0, data: $1) } }
        if let labels {
            guard let set = LabelSet(rawValue: labels) else {
                throw ValidationError("unknown --labels '\(labels)' (expected \(LabelSet.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            s.labels = set
        }
        s.folds = folds
        s.seeds = try seeds.split(separator: ",").map {
            guard let v = UInt64($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("bad seed '\($0)'") }
            return v
        }
        guard !s.seeds.isEmpty else { throw ValidationError("--seeds is empty") }
        s.onlyFolds = onlyFolds
        guard let norm = FeatureNormalization(rawValue: normalization) else {
            throw ValidationError("unknown --normalization '\(normalization)' (expected \(FeatureNormalization.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        s.normalization = norm == .global ? nil : norm
        s.features = try features.config()
        return s
    }
}

/// `ser train`: trains and evaluates STA-CNN under a protocol, writing a report.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train STA-CNN on a corpus under a protocol; evaluate each fold's best model on its test set; write the report.",
        discussion: """
        Example (the paper's 6:2:2 protocol, 5 seeds):
          ser train --corpus ravdess --data ../shared/corpora/ravdess --protocol holdout --seeds 0,1,2,3,4 --out runs/ravdess-holdout
        Speaker-independent, with each speaker's features normalised by that speaker's statistics:
          ser train --corpus emodb --data ../shared/corpora/emodb --protocol loso --normalization speaker --out runs/emodb-loso
        The same with speed-perturbed copies (0.9x, 1.1x) of every training clip:
          ser train --corpus savee --data ../shared/corpora/savee --seeds 0,1,2,3,4 --normalization speaker --speed-perturb 0.9,1.1 --out runs/savee-sp
        With copies that sound like users' recordings (loudness, telephone, MP3/Opus, rooms, silence around):
          ser train --corpus ravdess --data ../shared/corpora/ravdess --gain -30,-10,10 --telephone --codec mp3,opus --reverb 0.3,0.6 --pad-silence 1 --out runs/ravdess-robust
        A killed run continues with the same command plus --resume. `ser evaluate --run DIR` recomputes the report.
        """)

    @OptionGroup var experiment: ExperimentOptions
    @Option(help: "Most epochs.") var epochs: Int = TrainingConfig().epochs
    @Option(help: "Early-stopping patience (epochs).") var patience: Int = TrainingConfig().patience
    @Option(name: .customLong("batch-size"), help: "Batch size.") var batchSize = TrainingConfig().batchSize
    @Option(help: "Adam learning rate.") var lr = TrainingConfig().learningRate
    @Option(help: "L2 coefficient (coupled, as torch.optim.Adam weight_decay).") var l2 = TrainingConfig().l2
    @Option(help: "Channels of the three convolutions.")
    var conv: String = STACNNConfig().convChannels.map(String.init).joined(separator: ",")
    @Option(name: .customLong("lstm-hidden"), help: "BiLSTM hidden size per direction.") var lstmHidden: Int = STACNNConfig().lstmHidden
    @Option(help: "Attention heads.") var heads: Int = STACNNConfig().heads
    @Option(help: "Dropout rate.") var dropout: Float = STACNNConfig().dropout
    @Flag(name: .customLong("no-cfe"), help: "Ablation: without the BiLSTM (CFE).") var noCFE = false
    @Flag(name: .customLong("no-gfe"), help: "Ablation: without self-attention (GFE).") var noGFE = false
    @Flag(name: .customLong("no-masking"), help: "No SpecAugment-style masking of training clips.") var noMasking = false
    @OptionGroup(title: "Waveform augmentation (each setting adds one copy of every training clip)") var augment: AugmentationOptions
    @Option(help: "Validate, select and save an exponential moving average of the weights with this decay per step (e.g. 0.995); off by default.")
    var ema: Float?
    @Flag(help: "Balanced batches: each epoch draws clips so that every (corpus, class) group weighs the same (with replacement).")
    var balanced = false
    @Option(name: .customLong("epoch-clips"), help: "Clips drawn per epoch: a number, or 'originals' (each fold's number of original training clips). Default: every training clip, perturbed copies included. With augmentation, 'originals' keeps an epoch as long as without it, each batch drawing from originals and copies alike.")
    var epochClips: String?
    @Option(help: "OpenBLAS threads for training. A run is bit-reproducible for a given seed and thread count (rounding differs between counts).")
    var threads: Int = 2
    @Flag(help: "Also score each fold's model on perturbed copies of its validation clips (gain +10 dB, telephone, MP3 32k, Opus 16k, reverb 0.5 s, pink noise 10 dB, 1 s of silence); a Robustness table in the report.")
    var robustness = false
    @Flag(help: "Continue the run in --out.") var resume = false
    @Flag(help: "No progress bars.") var quiet = false

    func run() throws {
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        BLAS.setThreads(threads)
        var spec = try experiment.spec()
        var m = STACNNConfig()
        m.convChannels = try conv.split(separator: ",").map {
            guard let v = Int($0), v > 0 else { throw ValidationError("bad --conv '\(conv)'") }
            return v
        }
        m.lstmHidden = lstmHidden; m.heads = heads; m.dropout = dropout
        m.useCFE = !noCFE; m.useGFE = !noGFE
        spec.model = m
        var t = TrainingConfig()
        t.epochs = epochs; t.patience = patience; t.batchSize = batchSize; t.learningRate = lr; t.l2 = l2
        if noMasking { t.masking = .none }
        t.weightAverageDecay = ema
        if balanced { t.balancedSampling = true }
        switch epochClips {
        case nil: break
        case "originals"?: t.epochClipsOriginals = true
        case let text?:
            guard let n = Int(text), n > 0 else { throw ValidationError("bad --epoch-clips '\(text)' (expected a positive number or 'originals')") }
            t.epochClips = n
        }
        do { try t.validate() } catch { throw ValidationError("\(error)") }
        spec.training = t
        let augmentation = try augment.augmentation()
        spec.augmentation = augmentation.isEmpty ? nil : augmentation
        if robustness { spec.robustness = .robustnessBattery }
        var runner = ExperimentRunner(spec: spec, directory: URL(fileURLWithPath: experiment.out),
                                      cacheDirectory: URL(fileURLWithPath: experiment.cache))
        runner.progress = !quiet
        let report = try runner.run(resume: resume)
        print(report.summaryLine(directory: experiment.out))
    }

    /// Parses a comma-separated list of numbers ("" is empty).
    static func numbers(_ text: String, option: String) throws -> [Double] {
        try text.split(separator: ",").map {
            guard let v = Double($0.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw ValidationError("bad \(option) value '\($0)' (expected comma-separated numbers)")
            }
            return v
        }
    }
}

/// `ser evaluate`: recomputes test metrics of a finished run's models and rewrites its report.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate the best model of every fold of a run on its test set and rewrite the report (Markdown, JSON, SVG).")

    @OptionGroup var folder: RunFolderOptions

    func run() throws {
        let report = try folder.runner().evaluate()
        print(report.summaryLine(directory: folder.runFolder))
    }
}

/// The options of the commands that work on a finished run folder (`evaluate`, `calibrate`).
struct RunFolderOptions: ParsableArguments {
    @Option(name: .customLong("run"), help: "Run folder written by `ser train`.") var runFolder: String
    @Option(help: "Feature cache folder.") var cache: String = ".cache/features"
    @Flag(help: "No progress bars.") var quiet = false

    /// The runner of the run in ``runFolder``, from its `spec.json`.
    func runner() throws -> ExperimentRunner {
        let dir = URL(fileURLWithPath: runFolder)
        let specURL = dir.appendingPathComponent("spec.json")
        guard let data = try? Data(contentsOf: specURL) else { throw ValidationError("\(specURL.path): not found; is \(runFolder) a run folder?") }
        let spec = try JSONDecoder().decode(ExperimentSpec.self, from: data)
        var runner = ExperimentRunner(spec: spec, directory: dir, cacheDirectory: URL(fileURLWithPath: cache))
        runner.progress = !quiet
        return runner
    }
}
