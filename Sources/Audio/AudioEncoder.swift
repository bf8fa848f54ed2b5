// Writing audio through libsndfile: WAV for the CLI demo and test files in every format the
// decoder reads.
import CSndFile
import Foundation

/// A file format libsndfile can write: a container plus an encoding.
public struct AudioFileFormat: Sendable, Equatable, CustomStringConvertible {
    /// Containers.
    public enum Container: Sendable, Equatable {
        /// RIFF WAVE (plain `fmt ` chunk).
        case wav
        /// RIFF WAVE with WAVE_FORMAT_EXTENSIBLE.
        case wavExtensible
        /// FLAC.
        case flac
        /// OGG (with Vorbis or Opus).
        case ogg
        /// MPEG audio (MP3).
        case mpeg
        /// AIFF.
        case aiff
        /// Sun/NeXT AU.
        case au
        /// Sony Wave64.
        case w64
        /// RF64 (64-bit RIFF/WAVE).
        case rf64
        /// Apple Core Audio Format.
        case caf
        /// NIST SPHERE.
        case nist
    }

    /// Sample encodings.
    public enum Encoding: Sendable, Equatable {
        /// 8-bit PCM (unsigned in WAV, as the format requires).
        case pcm8
        /// 16-bit PCM.
        case pcm16
        /// 24-bit PCM.
        case pcm24
        /// 32-bit PCM.
        case pcm32
        /// 32-bit IEEE float.
        case float32
        /// 64-bit IEEE float.
        case float64
        /// Vorbis (OGG).
        case vorbis
        /// Opus (OGG; 8, 12, 16, 24 or 48 kHz only).
        case opus
        /// MPEG layer III.
        case mp3
    }

    /// Container.
    public var container: Container
    /// Encoding.
    public var encoding: Encoding

    /// A format.
    public init(_ container: Container, _ encoding: Encoding) {
        self.container = container
        self.encoding = encoding
    }

    /// 16-bit PCM WAV.
    public static let wav16 = AudioFileFormat(.wav, .pcm16)
    /// 32-bit float WAV.
    public static let wavFloat = AudioFileFormat(.wav, .float32)
    /// 16-bit FLAC.
    public static let flac16 = AudioFileFormat(.flac, .pcm16)
    /// OGG/Vorbis.
    public static let oggVorbis = AudioFileFormat(.ogg, .vorbis)
    /// OGG/Opus.
    public static let oggOpus = AudioFileFormat(.ogg, .opus)
    /// MP3.
    public static let mp3 = AudioFileFormat(.mpeg, .mp3)

    /// e.g. "wav/pcm16".
    public var description: String { "\(container)/\(encoding)" }

    /// libsndfile's format code.
    var sndfileFormat: Int32 {
        let major: Int
        switch container {
        case .wav: major = Int(SF_FORMAT_WAV)
        case .wavExtensible: major = Int(SF_FORMAT_WAVEX)
        case .flac: major = Int(SF_FORMAT_FLAC)
        case .ogg: major = Int(SF_FORMAT_OGG)
        case .mpeg: major = Int(SF_FORMAT_MPEG)
        case .aiff: major = Int(SF_FORMAT_AIFF)
        case .au: major = Int(SF_FORMAT_AU)
        case .w64: major = Int(SF_FORMAT_W64)
        case .rf64: major = Int(SF_FORMAT_RF64)
        case .caf: major = Int(SF_FORMAT_CAF)
        case .nist: major = Int(SF_FORMAT_NIST)
        }
        let minor: Int
        switch encoding {
        case .pcm8: minor = [.wav, .wavExtensible, .w64, .rf64].contains(container) ? Int(SF_FORMAT_PCM_U8) : Int(SF_FORMAT_PCM_S8)
        case .pcm16: minor = Int(SF_FORMAT_PCM_16)
        case .pcm24: minor = Int(SF_FORMAT_PCM_24)
        case .pcm32: minor = Int(SF_FORMAT_PCM_32)
        case .float32: minor = Int(SF_FORMAT_FLOAT)
        case .float64: minor = Int(SF_FORMAT_DOUBLE)
        case .vorbis: minor = Int(SF_FORMAT_VORBIS)
        case .opus: minor = Int(SF_FORMAT_OPUS)
        case .mp3: minor = Int(SF_FORMAT_MPEG_LAYER_III)
        }
        return Int32(major | minor)
    }

    /// Whether the installed libsndfile can write this format at `sampleRate` with `channels`.
    public func isWritable(sampleRate: Int, channels: Int = 1) -> Bool {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = sndfileFormat
        return sf_format_check(&info) != 0
    }
}

/// Writes audio files through libsndfile.
public enum AudioEncoder {
    /// Writes interleaved `samples` (`channels` per frame) at `sampleRate` to `url`.
    /// Float samples outside [-1, 1] are clipped for integer encodings.
    ///
    /// `compressionLevel` (0 = highest quality ... 1 = smallest file) is passed to libsndfile's
    /// `SFC_SET_COMPRESSION_LEVEL` with a constant bit rate (`SFC_SET_BITRATE_MODE`) before any
    /// audio is written; see ``LossyCodec/compressionLevel(kbps:sampleRate:)`` for the bit rates.
    public static func write(_ samples: [Float], channels: Int = 1, sampleRate: Int,
                             format: AudioFileFormat, compressionLevel: Double? = nil, to url: URL) throws {
        let path = url.path
        guard channels > 0, sampleRate > 0, samples.count % channels == 0 else {
            throw AudioError.invalidOptions(
                reason: "cannot write \(samples.count) samples as \(channels) channels at \(sampleRate) Hz")
        }
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format.sndfileFormat
        guard sf_format_check(&info) != 0 else {
            throw AudioError.unsupportedEncoding(path: path, encoding: "libsndfile cannot write \(format) at \(sampleRate) Hz, \(channels) channels")
        }
        guard let h = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError.io(path: path, reason: "cannot create file: \(String(cString: sf_strerror(nil)))")
        }
        switch format.encoding {
        case .pcm8, .pcm16, .pcm24, .pcm32:
            sf_command(h, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        default: break
        }
        if var level = compressionLevel {
            guard level.isFinite, level >= 0, level <= 1 else {
                sf_close(h)
                throw AudioError.invalidOptions(reason: "compression level \(level) must lie in 0...1")
            }
            var mode = Int32(SF_BITRATE_MODE_CONSTANT)
            // libsndfile 1.2.0 answers 0 to the mode command even where it takes it (the file
            // sizes follow the constant-rate formula); the level command answers SF_TRUE, and a
            // format without a bit rate (PCM) refuses it: an error, since the caller asked for one.
            _ = sf_command(h, Int32(SFC_SET_BITRATE_MODE), &mode, Int32(MemoryLayout<Int32>.size))
            let levelSet = sf_command(h, Int32(SFC_SET_COMPRESSION_LEVEL), &level, Int32(MemoryLayout<Double>.size))
            guard levelSet == SF_TRUE else {
                sf_close(h)
                throw AudioError.unsupportedEncoding(path: path, encoding: "libsndfile cannot set the bit rate of \(format)")
            }
        }
        let frames = samples.count / channels
        let written = samples.withUnsafeBufferPointer { sf_writef_float(h, $0.baseAddress, sf_count_t(frames)) }
        let failure = written == frames ? nil : String(cString: sf_strerror(h))
        let closeCode = sf_close(h)
        if let failure { throw AudioError.io(path: path, reason: "wrote \(written) of \(frames) frames: \(failure)") }
        if closeCode != 0 { throw AudioError.io(path: path, reason: "closing failed: \(String(cString: sf_error_number(closeCode)))") }
    }

    /// Writes mono `samples` as a WAV file: 16-bit PCM, or 32-bit float when `float` is true.
    public static func writeWAV(_ samples: [Float], sampleRate: Int, to url: URL, float: Bool = false) throws {
        try write(samples, sampleRate: sampleRate, format: float ? .wavFloat : .wav16, to: url)
    }
}
