// A minimal RIFF/WAVE header reader, used for what libsndfile does not tell us: the data size the
// header declares (libsndfile silently shortens a cut data chunk) and the format tag of encodings
// it cannot decode (it only reports "malformed fmt chunk").
import Foundation
import SERCore

/// Random access to the first bytes of a file or buffer.
protocol ByteReader {
    var length: Int64 { get }
    func bytes(at offset: Int64, count: Int) -> [UInt8]
}

/// Reads a file on disk with `FileHandle`.
struct FileByteReader: ByteReader {
    let handle: FileHandle?
    /// Size of the opened file (through symbolic links: `FileManager`'s attributes would give the
    /// link's own size and make every linked WAV look truncated).
    let length: Int64
    init(url: URL) {
        handle = FileNames.fileHandle(forReading: url.path)
        length = handle.flatMap { h in (try? h.seekToEnd()).map { Int64($0) } } ?? 0
    }
    func bytes(at offset: Int64, count: Int) -> [UInt8] {
        guard let handle, offset >= 0, offset < length else { return [] }
        do {
            try handle.seek(toOffset: UInt64(offset))
            return [UInt8](try handle.read(upToCount: count) ?? Data())
        } catch { return [] }
    }
}

/// Reads bytes already in memory.
struct DataByteReader: ByteReader {
    let data: Data
    var length: Int64 { Int64(data.count) }
    func bytes(at offset: Int64, count: Int) -> [UInt8] {
        guard offset >= 0, offset < length else { return [] }
        let s = data.startIndex + Int(offset)
        return [UInt8](data[s..<min(data.endIndex, s + count)])
    }
}

/// What the RIFF/WAVE chunks declare.
struct WAVHeader: Equatable {
    /// `wFormatTag` of the fmt chunk.
    var formatTag: UInt16?
    /// For WAVE_FORMAT_EXTENSIBLE, the first two bytes of the sub-format GUID (the codec tag).
    var subFormatTag: UInt16?
    /// Bytes per frame.
    var blockAlign: Int = 0
    /// Offset of the first data byte.
    var dataOffset: Int64?
    /// Data size in bytes as declared by the data chunk.
    var declaredDataBytes: UInt32?
    /// Length of the whole file or buffer.
    var fileLength: Int64 = 0
    /// Channels, sample rate and bits per sample of the fmt chunk (0 when absent).
    var channels: Int = 0
    var sampleRate: Int = 0
    var bitsPerSample: Int = 0
    /// WAVE_FORMAT_EXTENSIBLE: `wValidBitsPerSample`, and whether the sub-format GUID ends in the
    /// standard `-0000-0010-8000-00AA00389B71` suffix (only then does its tag mean PCM or float).
    var validBits: Int = 0
    var standardSubFormat = false
    /// Whether the chunks up to `data` are laid out plainly: exactly one `fmt ` chunk (16, 18 or 40
    /// bytes) before `data`, every chunk id printable ASCII and every size even. Only such files
    /// take the Swift WAV decoder (``WAVReader``); libsndfile's parser has recovery rules for
    /// anything else (misaligned chunks, odd sizes), so those files stay with it.
    var plainLayout = false

    /// The codec tag, looking through WAVE_FORMAT_EXTENSIBLE.
    var effectiveFormatTag: UInt16? {
        formatTag == 0xFFFE ? (subFormatTag ?? formatTag) : formatTag
    }

    /// Tags libsndfile decodes in WAV (PCM, float, A-law, µ-law, MS/IMA ADPCM, GSM 6.10, G.721,
    /// extensible). A file that fails to open with any other tag is reported as unsupported.
    static let decodableTags: Set<UInt16> = [0x0001, 0x0003, 0x0006, 0x0007, 0x0002, 0x0011, 0x0031, 0x0040, 0xFFFE]

    /// Bytes 2...15 of the KSDATAFORMAT_SUBTYPE GUIDs (`xxxxxxxx-0000-0010-8000-00AA00389B71`).
    static let guidSuffix: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]

    /// A readable name for a format tag.
    static func tagName(_ tag: UInt16) -> String {
        let names: [UInt16: String] = [
            0x0050: "MPEG", 0x0055: "MPEG Layer 3", 0x00FF: "AAC", 0x0160: "WMA v1",
            0x0161: "WMA v2", 0x0162: "WMA Pro", 0x2000: "AC-3", 0x2001: "DTS", 0x0022: "TrueSpeech",
            0x0092: "Dolby AC-3 SPDIF", 0x1610: "MPEG-2/4 AAC (ADTS)", 0x566F: "Vorbis", 0x704F: "Opus",
        ]
        let hex = String(format: "0x%04X", tag)
        return names[tag].map { "\(hex) (\($0))" } ?? hex
    }

    /// Parses a little-endian RIFF/WAVE header; nil when the bytes are not RIFF/WAVE.
    static func parse(_ reader: ByteReader) -> WAVHeader? {
        let head = reader.bytes(at: 0, count: 12)
        guard head.count == 12, head[0..<4] == [0x52, 0x49, 0x46, 0x46], head[8..<12] == [0x57, 0x41, 0x56, 0x45]
        else { return nil }
        var h = WAVHeader(fileLength: reader.length)
        var offset: Int64 = 12
        var plain = true
        var fmtChunks = 0
        for _ in 0..<4096 {
            let c = reader.bytes(at: offset, count: 8)
            guard c.count == 8 else { break }
            let id = String(decoding: c[0..<4], as: UTF8.self)
            let size = UInt32(c[4]) | UInt32(c[5]) << 8 | UInt32(c[6]) << 16 | UInt32(c[7]) << 24
            if !c[0..<4].allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { plain = false }
            if id == "fmt " {
                fmtChunks += 1
                if ![16, 18, 40].contains(size) { plain = false }
                let f = reader.bytes(at: offset + 8, count: Int(min(size, 40)))
                if f.count >= 16 {
                    h.formatTag = UInt16(f[0]) | UInt16(f[1]) << 8
                    h.channels = Int(UInt16(f[2]) | UInt16(f[3]) << 8)
                    h.sampleRate = Int(UInt32(f[4]) | UInt32(f[5]) << 8 | UInt32(f[6]) << 16 | UInt32(f[7]) << 24)
                    h.blockAlign = Int(UInt16(f[12]) | UInt16(f[13]) << 8)
                    h.bitsPerSample = Int(UInt16(f[14]) | UInt16(f[15]) << 8)
                }
                if f.count >= 20 { h.validBits = Int(UInt16(f[18]) | UInt16(f[19]) << 8) }
                if f.count >= 26 { h.subFormatTag = UInt16(f[24]) | UInt16(f[25]) << 8 }
                if f.count >= 40 { h.standardSubFormat = Array(f[26..<40]) == WAVHeader.guidSuffix }
            } else if id == "data" {
                h.dataOffset = offset + 8
                h.declaredDataBytes = size
                break
            }
            if size & 1 != 0 { plain = false }
            offset += 8 + Int64(size) + Int64(size & 1)
        }
        h.plainLayout = plain && fmtChunks == 1 && h.dataOffset != nil
        return h
    }

    /// When the data chunk declares more whole frames than the file holds: (declared, present).
    /// Sizes 0 and 0xFFFFFFFF (streamed WAVs of unknown length) are not judged.
    var truncation: (declared: Int64, present: Int64)? {
        guard let off = dataOffset, let size = declaredDataBytes, size != 0, size != 0xFFFF_FFFF, blockAlign > 0
        else { return nil }
        let available = max(0, fileLength - off)
        let declaredFrames = Int64(size) / Int64(blockAlign)
        let presentFrames = min(available, Int64(size)) / Int64(blockAlign)
        return presentFrames < declaredFrames ? (declaredFrames, presentFrames) : nil
    }
}
