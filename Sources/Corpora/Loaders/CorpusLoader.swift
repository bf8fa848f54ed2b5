import Foundation

/// A loader for one corpus's official layout.
public protocol CorpusLoader: Sendable {
    /// The corpus name used in reports and split files (e.g. `RAVDESS`).
    var corpusName: String { get }
    /// Reads the corpus under `root`. Throws ``CorpusError`` when `root` is missing or unrecognisable;
    /// problems with single files end up in ``Corpus/problems``.
    func load(from root: URL) throws -> Corpus
}

/// The corpora the project knows, for command-line selection.
public enum CorpusKind: String, CaseIterable, Sendable, Codable {
    /// RAVDESS speech, 8 emotions.
    case ravdess
    /// EMO-DB (Berlin), 7 emotions.
    case emodb
    /// SAVEE, 7 emotions.
    case savee
    /// IEMOCAP, 4-class set.
    case iemocap
    /// TESS, 7 emotions.
    case tess
    /// CREMA-D, 6 emotions.
    case cremad
    /// CREMA-D labelled by the crowd's voice-only ratings (`summaryTable.csv`) instead of the
    /// portrayed emotion; tied votes left out.
    case cremadVoice = "cremad-voice"
    /// A CSV manifest (`path,label,speaker`); the root is the CSV file.
    case manifest

    /// The default loader for this corpus.
    public var loader: any CorpusLoader {
        switch self {
        case .ravdess: return RAVDESSLoader()
        case .emodb: return EMODBLoader()
        case .savee: return SAVEELoader()
        case .iemocap: return IEMOCAPLoader()
        case .tess: return TESSLoader()
        case .cremad: return CREMADLoader()
        case .cremadVoice: return CREMADLoader(labelSource: .voice)
        case .manifest: return CSVManifestLoader()
        }
    }
}

extension Emotion {
    /// Raw names of a list of emotions (for ``Corpus/labels``).
    static func names(_ list: [Emotion]) -> [String] { list.sorted().map(\.rawValue) }
}
