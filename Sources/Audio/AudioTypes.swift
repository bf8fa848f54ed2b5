// Value types of the audio input: options, decoded clips, header information.

/// How ``AudioDecoder`` decodes a file.
public struct AudioOptions: Sendable, Equatable {
    /// Output sample rate in Hz, reached with soxr HQ as `librosa.load(sr=…)` does;
    /// `nil` keeps the file's native rate. Default 22050 (librosa's default).
    public var sampleRate: Int?
    /// Longest accepted duration in seconds; `nil` for no limit. Checked from the header before
    /// decoding when the header knows the length, and again while decoding.
    public var maxDuration: Double?
    /// Frames per channel read from the file per block (the streaming granularity). Default 65536.
    public var blockFrames: Int
    /// Which decoder reads the samples. Default ``AudioBackend/automatic``.
    public var backend: AudioBackend

    /// Options with librosa's defaults (22050 Hz, mono) unless given.
    public init(sampleRate: Int? = 22050, maxDuration: Double? = nil, blockFrames: Int = 65536,
                backend: AudioBackend = .automatic) {
        self.sampleRate = sampleRate
        self.maxDuration = maxDuration
        self.blockFrames = blockFrames
        self.backend = backend
    }

    /// Native rate, no limit.
    public static let native = AudioOptions(sampleRate: nil)
}

/// Which decoder reads a file's samples. Both give the same samples (checked bit for bit on every
/// corpus file by `benchmarks/decode/bit_identity.sh`); they differ in speed and in how damage
/// inside a FLAC stream is reported.
public enum AudioBackend: Sendable, Equatable {
    /// Plain PCM/float WAV files through the Swift reader, native FLAC through libFLAC directly,
    /// everything else (and any WAV or FLAC those readers decline) through libsndfile.
    case automatic
    /// libsndfile for every file: the reference the direct decoders are checked against.
    case libsndfile
}

/// A decoded mono signal.
public struct AudioClip: Sendable, Equatable {
    /// Mono samples (mean of the channels). Integer encodings map to [-1, 1); float files keep
    /// their values as stored (as librosa does), which are normally within [-1, 1].
    public var samples: [Float]
    /// Rate of `samples` in Hz.
    public var sampleRate: Int
    /// Rate of the file in Hz.
    public var sourceSampleRate: Int
    /// Channels in the file (before the mono mix).
    public var sourceChannels: Int

    /// Creates a clip.
    public init(samples: [Float], sampleRate: Int, sourceSampleRate: Int, sourceChannels: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.sourceSampleRate = sourceSampleRate
        self.sourceChannels = sourceChannels
    }

    /// Duration in seconds.
    public var duration: Double { sampleRate > 0 ? Double(samples.count) / Double(sampleRate) : 0 }
}

/// What a file holds, from its header (``AudioDecoder/info(contentsOf:)``) or after decoding it
/// (``AudioDecoder/stream(contentsOf:options:_:)``; then `frames` counts the frames actually decoded).
public struct AudioInfo: Sendable, Equatable {
    /// Frames per channel; `nil` when the header does not know the length.
    public var frames: Int64?
    /// Native sample rate in Hz.
    public var sampleRate: Int
    /// Number of channels.
    public var channels: Int
    /// Container, as libsndfile names it (e.g. "WAV (Microsoft)", "FLAC (Free Lossless Audio Codec)").
    public var container: String
    /// Encoding, as libsndfile names it (e.g. "Signed 16 bit PCM", "Vorbis").
    public var encoding: String

    /// Creates an info value.
    public init(frames: Int64?, sampleRate: Int, channels: Int, container: String, encoding: String) {
        self.frames = frames
        self.sampleRate = sampleRate
        self.channels = channels
        self.container = container
        self.encoding = encoding
    }

    /// Duration in seconds, when the length is known.
    public var duration: Double? {
        guard let f = frames, sampleRate > 0 else { return nil }
        return Double(f) / Double(sampleRate)
    }

    /// "container, encoding".
    public var formatDescription: String { "\(container), \(encoding)" }
}
