// A thin owner of a libsndfile read handle, opened from a path or from bytes in memory
// (libsndfile virtual I/O). Internal: the public API is `AudioDecoder`.
import CSndFile
import Foundation
import SERCore

/// Bytes in memory served to libsndfile through `SF_VIRTUAL_IO`.
final class MemorySource {
    let data: Data
    var position: Int64 = 0
    init(_ data: Data) { self.data = data }
}

private func memorySource(_ user: UnsafeMutableRawPointer?) -> MemorySource {
    Unmanaged<MemorySource>.fromOpaque(user!).takeUnretainedValue()
}

private func makeVirtualIO() -> SF_VIRTUAL_IO {
    SF_VIRTUAL_IO(
        get_filelen: { user in sf_count_t(memorySource(user).data.count) },
        seek: { offset, whence, user in
            let m = memorySource(user)
            let base: Int64
            switch whence {
            case SEEK_SET: base = 0
            case SEEK_CUR: base = m.position
            case SEEK_END: base = Int64(m.data.count)
            default: return -1
            }
            let p = base + offset
            guard p >= 0 else { return -1 }
            m.position = p
            return p
        },
        read: { ptr, count, user in
            let m = memorySource(user)
            guard let ptr, count > 0, m.position < Int64(m.data.count) else { return 0 }
            let n = Int(min(count, Int64(m.data.count) - m.position))
            let start = m.data.startIndex + Int(m.position)
            m.data.copyBytes(to: ptr.assumingMemoryBound(to: UInt8.self), from: start..<(start + n))
            m.position += Int64(n)
            return sf_count_t(n)
        },
        write: { _, _, _ in 0 },
        tell: { user in memorySource(user).position })
}

/// An open libsndfile handle for reading, with its header.
final class SoundFile {
    let handle: OpaquePointer
    let info: SF_INFO
    /// Path or name used in errors.
    let path: String
    private let source: MemorySource?

    private init(handle: OpaquePointer, info: SF_INFO, path: String, source: MemorySource?) {
        self.handle = handle
        self.info = info
        self.path = path
        self.source = source
    }

    deinit { sf_close(handle) }

    /// Opens a file on disk. Throws `fileNotFound`, `empty` (0 bytes), or the classified libsndfile error.
    static func open(url: URL) throws -> SoundFile {
        let path = url.path
        try checkReadable(url)
        var info = SF_INFO()
        guard let h = FileNames.withCString(path, { sf_open($0, Int32(SFM_READ), &info) }) else {
            let code = Int(sf_error(nil))
            let message = String(cString: sf_strerror(nil))
            throw classifyOpenError(code: code, message: message, path: path,
                                    wav: WAVHeader.parse(FileByteReader(url: url)))
        }
        return SoundFile(handle: h, info: info, path: path, source: nil)
    }

    /// Throws `fileNotFound`, `io` (a directory) or `empty` (0 bytes) before any decoder opens `url`.
    static func checkReadable(_ url: URL) throws {
        let path = url.path
        // stat (not FileManager's attributes, which describe a symbolic link itself) follows
        // links; FileNames passes the name's exact bytes (names need not be UTF-8).
        guard let st = FileNames.status(path) else { throw AudioError.fileNotFound(path: path) }
        if st.st_mode & S_IFMT == S_IFDIR { throw AudioError.io(path: path, reason: "is a directory, not an audio file") }
        if st.st_size == 0 { throw AudioError.empty(path: path) }
    }

    /// Opens bytes in memory; `name` is used in errors.
    static func open(data: Data, name: String) throws -> SoundFile {
        if data.isEmpty { throw AudioError.empty(path: name) }
        let source = MemorySource(data)
        var vio = makeVirtualIO()
        var info = SF_INFO()
        let user = Unmanaged.passUnretained(source).toOpaque()
        guard let h = sf_open_virtual(&vio, Int32(SFM_READ), &info, user) else {
            let code = Int(sf_error(nil))
            let message = String(cString: sf_strerror(nil))
            throw classifyOpenError(code: code, message: message, path: name,
                                    wav: WAVHeader.parse(DataByteReader(data: data)))
        }
        return SoundFile(handle: h, info: info, path: name, source: source)
    }

    /// Maps libsndfile's open failure to an `AudioError`. A RIFF/WAVE file whose format tag
    /// libsndfile does not decode is reported as `unsupportedEncoding` (libsndfile only says
    /// "malformed fmt chunk" for those).
    private static func classifyOpenError(code: Int, message: String, path: String, wav: WAVHeader?) -> AudioError {
        if let wav, let tag = wav.effectiveFormatTag, !WAVHeader.decodableTags.contains(tag) {
            return .unsupportedEncoding(path: path, encoding: "WAVE format tag \(WAVHeader.tagName(tag))")
        }
        switch code {
        case SF_ERR_UNRECOGNISED_FORMAT: return .notAudio(path: path, reason: "format not recognised")
        case SF_ERR_SYSTEM: return .io(path: path, reason: message)
        case SF_ERR_UNSUPPORTED_ENCODING: return .unsupportedEncoding(path: path, encoding: message)
        default: return .notAudio(path: path, reason: message)
        }
    }

    /// Frames per channel from the header, or nil when unknown.
    var headerFrames: Int64? {
        info.frames >= 0 && info.frames < Int64.max / 2 ? Int64(info.frames) : nil
    }

    var container: String { SoundFile.formatName(info.format & Int32(SF_FORMAT_TYPEMASK), major: true) }
    var encoding: String { SoundFile.formatName(info.format & Int32(SF_FORMAT_SUBMASK), major: false) }
    var isWAV: Bool {
        let major = info.format & Int32(SF_FORMAT_TYPEMASK)
        return major == Int32(SF_FORMAT_WAV) || major == Int32(SF_FORMAT_WAVEX)
    }

    /// The header as an `AudioInfo`.
    var audioInfo: AudioInfo {
        AudioInfo(frames: headerFrames, sampleRate: Int(info.samplerate), channels: Int(info.channels),
                  container: container, encoding: encoding)
    }

    /// Reads up to `frames` interleaved frames as Float (libsndfile's normalisation: integers
    /// divided by 2^(bits-1)). Returns the frames read (0 at the end or on error).
    func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) -> Int {
        Int(sf_readf_float(handle, buffer, sf_count_t(frames)))
    }

    /// libsndfile's error state for this handle, or nil when none.
    var errorMessage: String? {
        sf_error(handle) == 0 ? nil : String(cString: sf_strerror(handle))
    }

    /// The libsndfile format codes the direct decoders describe their files with.
    enum Format {
        case wav, wavex, flac, pcmS8, pcmU8, pcm16, pcm24, pcm32, float, double
        var code: Int32 {
            switch self {
            case .wav: return Int32(SF_FORMAT_WAV)
            case .wavex: return Int32(SF_FORMAT_WAVEX)
            case .flac: return Int32(SF_FORMAT_FLAC)
            case .pcmS8: return Int32(SF_FORMAT_PCM_S8)
            case .pcmU8: return Int32(SF_FORMAT_PCM_U8)
            case .pcm16: return Int32(SF_FORMAT_PCM_16)
            case .pcm24: return Int32(SF_FORMAT_PCM_24)
            case .pcm32: return Int32(SF_FORMAT_PCM_32)
            case .float: return Int32(SF_FORMAT_FLOAT)
            case .double: return Int32(SF_FORMAT_DOUBLE)
            }
        }
    }

    /// libsndfile's name for a major format or subtype.
    static func formatName(_ format: Int32, major: Bool) -> String {
        var fi = SF_FORMAT_INFO()
        fi.format = format
        let r = sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &fi, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
        if r == 0, let name = fi.name { return String(cString: name) }
        return String(format: major ? "format 0x%06x" : "encoding 0x%04x", format)
    }
}
