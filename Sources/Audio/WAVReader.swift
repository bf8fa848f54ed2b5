// The Swift decoder for plain PCM and float WAV files: header from `WAVHeader`, samples read in
// blocks and converted exactly as libsndfile converts them for `sf_readf_float`.
import Foundation
import SERCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads the sample data of a RIFF/WAVE file whose header ``WAVReader/accepts(_:)`` approves:
/// PCM 8/16/24/32 bit, IEEE float 32/64 bit, plain or WAVE_FORMAT_EXTENSIBLE, data complete.
///
/// The samples are libsndfile's (`sf_readf_float` with its default normalisation), bit for bit:
/// - unsigned 8 bit: `Float(b - 128) * (1 / 128)`;
/// - 16 bit: `Float(v) * (1 / 32768)`;
/// - 24 and 32 bit: the sample placed in the top bits of an `Int32`, `Float(v) * 2^-31`
///   (`Float(Int32)` rounds to nearest, as C's `(float)` does);
/// - float 32: the stored values; float 64: `Float(d)` (round to nearest).
/// Every scale is a power of two, so the products are exact.
///
/// Files that are anything else (truncated data, unknown or streamed data size, `blockAlign`
/// disagreeing with the sample width, odd chunk layouts) never reach this reader: libsndfile
/// decodes them, with its own rules and errors.
final class WAVReader: PCMSource {
    /// Sample encodings decoded here.
    enum Encoding: Equatable {
        case u8, s16, s24, s32, f32, f64
        /// Bytes per sample.
        var width: Int {
            switch self {
            case .u8: return 1
            case .s16: return 2
            case .s24: return 3
            case .s32, .f32: return 4
            case .f64: return 8
            }
        }
    }

    /// Where the bytes come from.
    private enum Source {
        /// An open file descriptor, read with `pread`.
        case file(Int32)
        /// Bytes in memory.
        case memory(Data)
    }

    let path: String
    let channels: Int
    let sampleRate: Int
    let encoding: Encoding
    /// Whole frames in the data chunk (`declared bytes / blockAlign`, as libsndfile counts them).
    let frames: Int64
    private let dataOffset: Int64
    private let extensible: Bool
    private let source: Source
    /// Frames delivered so far.
    private var position: Int64 = 0
    /// Raw bytes of one block, [blockFrames * channels * width]; grown on first use only.
    private var scratch: UnsafeMutableRawPointer?
    private var scratchBytes = 0

    /// The encoding when `header` describes a file this reader decodes, else nil.
    static func accepts(_ h: WAVHeader) -> Encoding? {
        guard h.plainLayout, let tag = h.formatTag, let offset = h.dataOffset, let size = h.declaredDataBytes,
              size != 0, size != 0xFFFF_FFFF, h.truncation == nil,
              (1...64).contains(h.channels), h.sampleRate > 0, h.sampleRate <= 1 << 22 else { return nil }
        var codec = tag
        if tag == 0xFFFE {
            guard h.standardSubFormat, let sub = h.subFormatTag, h.validBits <= h.bitsPerSample else { return nil }
            codec = sub
        }
        let encoding: Encoding
        switch (codec, h.bitsPerSample) {
        case (1, 8): encoding = .u8
        case (1, 16): encoding = .s16
        case (1, 24): encoding = .s24
        case (1, 32): encoding = .s32
        case (3, 32): encoding = .f32
        case (3, 64): encoding = .f64
        default: return nil
        }
        guard h.blockAlign == h.channels * encoding.width,
              offset + Int64(size) <= h.fileLength, Int64(size) >= Int64(h.blockAlign) else { return nil }
        return encoding
    }

    /// Opens the file for reading its data chunk; nil when the file cannot be opened (the caller
    /// then leaves the file to libsndfile, which reports why).
    convenience init?(url: URL, header: WAVHeader) {
        guard let encoding = WAVReader.accepts(header) else { return nil }
        let fd = FileNames.openForReading(url.path)
        guard fd >= 0 else { return nil }
        self.init(path: url.path, header: header, encoding: encoding, source: .file(fd))
    }

    /// Reads the data chunk of bytes in memory; nil when the header is not one this reader takes.
    convenience init?(data: Data, name: String, header: WAVHeader) {
        guard let encoding = WAVReader.accepts(header) else { return nil }
        self.init(path: name, header: header, encoding: encoding, source: .memory(data))
    }

    private init(path: String, header h: WAVHeader, encoding: Encoding, source: Source) {
        self.path = path
        channels = h.channels
        sampleRate = h.sampleRate
        self.encoding = encoding
        frames = Int64(h.declaredDataBytes ?? 0) / Int64(h.blockAlign)
        dataOffset = h.dataOffset ?? 0
        extensible = h.formatTag == 0xFFFE
        self.source = source
    }

    deinit {
        if case let .file(fd) = source { Glibc.close(fd) }
        scratch?.deallocate()
    }

    var headerFrames: Int64? { frames }
    var isWAV: Bool { true }
    var errorMessage: String? { nil }

    /// The header as libsndfile describes it (same container and encoding names).
    var audioInfo: AudioInfo {
        let major = extensible ? SoundFile.Format.wavex : SoundFile.Format.wav
        let minor: SoundFile.Format
        switch encoding {
        case .u8: minor = .pcmU8
        case .s16: minor = .pcm16
        case .s24: minor = .pcm24
        case .s32: minor = .pcm32
        case .f32: minor = .float
        case .f64: minor = .double
        }
        return AudioInfo(frames: frames, sampleRate: sampleRate, channels: channels,
                         container: SoundFile.formatName(major.code, major: true),
                         encoding: SoundFile.formatName(minor.code, major: false))
    }

    func read(into buffer: UnsafeMutablePointer<Float>, frames want: Int) throws -> Int {
        let k = Int(min(Int64(max(want, 0)), frames - position))
        if k <= 0 { return 0 }
        let frameBytes = channels * encoding.width
        let offset = dataOffset + position * Int64(frameBytes)
        var got = 0
        switch source {
        case let .memory(data):
            let start = data.startIndex + Int(offset)
            let n = max(0, min(k * frameBytes, data.endIndex - start)) / frameBytes
            data.withUnsafeBytes { raw in
                convert(raw.baseAddress! + (start - data.startIndex), samples: n * channels, into: buffer)
            }
            got = n
        case let .file(fd):
            let bytes = k * frameBytes
            if scratchBytes < bytes {
                scratch?.deallocate()
                scratch = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
                scratchBytes = bytes
            }
            guard let raw = scratch else { return 0 }
            var filled = 0
            while filled < bytes {
                let r = pread(fd, raw + filled, bytes - filled, off_t(offset) + off_t(filled))
                if r < 0 {
                    if errno == EINTR { continue }
                    throw AudioError.io(path: path, reason: "read failed after \(position) frames: \(String(cString: strerror(errno)))")
                }
                if r == 0 { break }
                filled += r
            }
            got = filled / frameBytes
            convert(UnsafeRawPointer(raw), samples: got * channels, into: buffer)
        }
        position += Int64(got)
        return got
    }

    /// Converts `samples` stored samples at `raw` (little-endian) to libsndfile's floats.
    private func convert(_ raw: UnsafeRawPointer, samples n: Int, into out: UnsafeMutablePointer<Float>) {
        switch encoding {
        case .u8:
            let p = raw.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { out[i] = Float(Int32(p[i]) - 128) * (1 / 128) }
        case .s16:
            for i in 0..<n {
                out[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) * (1 / 32768)
            }
        case .s24:
            let p = raw.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n {
                let v = UInt32(p[3 * i]) << 8 | UInt32(p[3 * i + 1]) << 16 | UInt32(p[3 * i + 2]) << 24
                out[i] = Float(Int32(bitPattern: v)) * 0x1p-31
            }
        case .s32:
            for i in 0..<n {
                out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) * 0x1p-31
            }
        case .f32:
            for i in 0..<n {
                out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case .f64:
            for i in 0..<n {
                out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        }
    }
}
