// The one interface the decoding pipeline reads samples through, and the choice of decoder.
import Foundation

/// An open audio stream that hands out interleaved Float frames: libsndfile (``SoundFile``) or
/// one of the direct decoders for the corpora's formats (``WAVReader``, ``FLACReader``), whose
/// samples are libsndfile's bit for bit.
protocol PCMSource: AnyObject {
    /// Path or name used in errors.
    var path: String { get }
    var channels: Int { get }
    var sampleRate: Int { get }
    /// Frames per channel from the header, or nil when unknown.
    var headerFrames: Int64? { get }
    /// Whether the container is RIFF/WAVE (the truncation check reads its header).
    var isWAV: Bool { get }
    var audioInfo: AudioInfo { get }
    /// An error the library recorded while reading (libsndfile only), or nil.
    var errorMessage: String? { get }
    /// Reads up to `frames` interleaved frames into `buffer` [frames * channels]; 0 at the end.
    /// Throws what is found damaged while reading.
    func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) throws -> Int
}

extension SoundFile: PCMSource {
    var channels: Int { Int(info.channels) }
    var sampleRate: Int { Int(info.samplerate) }
}

/// An opened source with what its container header declares, for the checks before decoding.
struct OpenedSource {
    let source: PCMSource
    /// The RIFF/WAVE header when the bytes are one.
    let wav: WAVHeader?
    /// The length the container declares (AIFF, AU, W64, RF64, CAF, NIST, 8SVX), when it does.
    let declared: DeclaredLength?
    /// Why an Ogg file is cut short, when it is.
    let oggProblem: String?
    /// Size of the file or buffer in bytes (0 when unknown; not needed for the WAV reader, which
    /// checks its declared sizes itself).
    var bytes: Int64 = 0
}

enum PCMSourceOpener {
    /// A source from the direct readers, which check their declared lengths themselves: no
    /// container walk; FLAC passes on its size for the declared-frames-per-byte limit that
    /// libsndfile's files get too. nil for a libsndfile source.
    private static func directReader(_ source: PCMSource, wav: WAVHeader?) -> OpenedSource? {
        if let flac = source as? FLACReader {
            return OpenedSource(source: source, wav: wav, declared: nil, oggProblem: nil, bytes: flac.streamBytes)
        }
        if source is WAVReader { return OpenedSource(source: source, wav: wav, declared: nil, oggProblem: nil) }
        return nil
    }

    /// ``open(url:backend:)`` with the declared length and Ogg end check.
    static func openChecked(url: URL, backend: AudioBackend) throws -> OpenedSource {
        let (source, wav) = try open(url: url, backend: backend)
        if let direct = directReader(source, wav: wav) { return direct }
        let reader = FileByteReader(url: url)
        return OpenedSource(source: source, wav: wav, declared: DeclaredLength.parse(reader), oggProblem: OggEnd.problem(reader),
                            bytes: reader.length)
    }

    /// ``open(data:name:backend:)`` with the declared length and Ogg end check.
    static func openChecked(data: Data, name: String, backend: AudioBackend) throws -> OpenedSource {
        let (source, wav) = try open(data: data, name: name, backend: backend)
        if let direct = directReader(source, wav: wav) { return direct }
        let reader = DataByteReader(data: data)
        return OpenedSource(source: source, wav: wav, declared: DeclaredLength.parse(reader), oggProblem: OggEnd.problem(reader),
                            bytes: reader.length)
    }

    /// Opens `url` with the decoder `backend` asks for: the direct decoders for plain WAV and
    /// native FLAC, libsndfile for every other file and whenever a direct decoder declines.
    /// Also returns the RIFF/WAVE header when the file is one (for the truncation check).
    static func open(url: URL, backend: AudioBackend) throws -> (PCMSource, WAVHeader?) {
        let reader = FileByteReader(url: url)
        let wav = WAVHeader.parse(reader)
        try SoundFile.checkReadable(url)
        if let wav { try AudioDecoder.checkBits(wav, path: url.path) }
        if backend == .automatic {
            if let wav {
                if let r = WAVReader(url: url, header: wav) { return (r, wav) }
            } else if FLACReader.isFLAC(reader.bytes(at: 0, count: 4)), let r = FLACReader(url: url) {
                return (r, nil)
            }
        }
        return (try SoundFile.open(url: url), wav)
    }

    /// ``open(url:backend:)`` for bytes in memory; `name` is used in errors.
    static func open(data: Data, name: String, backend: AudioBackend) throws -> (PCMSource, WAVHeader?) {
        let wav = WAVHeader.parse(DataByteReader(data: data))
        if let wav { try AudioDecoder.checkBits(wav, path: name) }
        if backend == .automatic, !data.isEmpty {
            if let wav {
                if let r = WAVReader(data: data, name: name, header: wav) { return (r, wav) }
            } else if FLACReader.isFLAC([UInt8](data.prefix(4))), let r = FLACReader(data: data, name: name) {
                return (r, nil)
            }
        }
        return (try SoundFile.open(data: data, name: name), wav)
    }
}
