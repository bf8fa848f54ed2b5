// The lengths container headers declare, read here because libsndfile shortens a cut data chunk
// silently: for AIFF, AU, W64, RF64, CAF, NIST and IFF/8SVX it reports only the frames present, so a
// truncated file would decode "successfully". RIFF/WAVE is read by `WAVHeader`.

/// What a container's header says about its length, compared with the file's size.
struct DeclaredLength: Equatable {
    /// Frames per channel the header declares (its own count, or its data size / bytes per frame).
    var frames: Int64
    /// Whole frames the file actually holds after the data offset, when the encoding has a fixed
    /// frame size (nil for compressed encodings: then only the decoded count can be compared).
    var presentFrames: Int64?
    /// Container name for messages.
    var container: String

    /// Reads the header of `r` (a whole file or buffer); nil when the container is not one of
    /// those handled here, or its header does not declare a length (streamed, unknown size).
    static func parse(_ r: ByteReader) -> DeclaredLength? {
        let head = r.bytes(at: 0, count: 16)
        guard head.count >= 12 else { return nil }
        let tag = String(decoding: head[0..<4], as: UTF8.self)
        switch tag {
        case "FORM":
            let kind = String(decoding: head[8..<12], as: UTF8.self)
            if kind == "AIFF" || kind == "AIFC" { return aiff(r, compressed: kind == "AIFC") }
            if kind == "8SVX" || kind == "16SV" { return svx(r, bytesPerSample: kind == "16SV" ? 2 : 1) }
            return nil
        case ".snd": return au(r, bigEndian: true)
        case "dns.": return au(r, bigEndian: false)
        case "RF64": return rf64(r)
        case "caff": return caf(r)
        case "NIST": return nist(r)
        default:
            if head.count == 16, Array(head) == w64RIFF { return w64(r) }
            return nil
        }
    }

    // MARK: - Formats

    /// AIFF/AIFC: `COMM` numSampleFrames; `SSND` data after its offset field.
    private static func aiff(_ r: ByteReader, compressed: Bool) -> DeclaredLength? {
        var channels = 0, frames: Int64 = -1, bits = 0, codec = "NONE"
        var dataStart: Int64 = -1
        var malformed = false
        walkChunks(r, from: 12, bigEndian: true) { id, _, offset in
            if id == "COMM" {
                let b = r.bytes(at: offset + 8, count: 22)
                guard b.count >= 18 else { malformed = true; return false }
                channels = Int(be16(b, 0))
                frames = Int64(be32(b, 2))
                bits = Int(be16(b, 6))
                if compressed, b.count >= 22 { codec = String(decoding: b[18..<22], as: UTF8.self) }
            } else if id == "SSND" {
                let b = r.bytes(at: offset + 8, count: 4)
                guard b.count == 4 else { malformed = true; return false }
                dataStart = offset + 16 + Int64(be32(b, 0))
                return false
            }
            return true
        }
        guard !malformed else { return nil }
        guard frames >= 0, channels > 0, dataStart >= 0 else { return nil }
        let width: Int?
        switch codec {
        case "NONE", "twos", "sowt": width = (bits + 7) / 8
        case "raw ", "ulaw", "ULAW", "alaw", "ALAW": width = 1
        case "in24": width = 3
        case "in32", "fl32", "FL32": width = 4
        case "fl64", "FL64": width = 8
        default: width = nil                                  // compressed: only the decoded count
        }
        return make(frames: frames, dataStart: dataStart, frameBytes: width.map { $0 * channels }, length: r.length,
                    container: compressed ? "AIFF-C" : "AIFF")
    }

    /// Sun/NeXT AU: data size (0xFFFFFFFF = unknown) and encoding in the 24-byte header.
    private static func au(_ r: ByteReader, bigEndian: Bool) -> DeclaredLength? {
        let b = r.bytes(at: 0, count: 24)
        guard b.count == 24 else { return nil }
        let word = { (i: Int) -> UInt32 in bigEndian ? be32(b, i) : le32(b, i) }
        let dataStart = Int64(word(4)), size = word(8), encoding = word(12), channels = Int64(word(20))
        guard size != 0xFFFF_FFFF, channels > 0 else { return nil }
        let width: Int64
        switch encoding {
        case 1, 2, 27: width = 1                              // µ-law, 8-bit linear, A-law
        case 3: width = 2
        case 4: width = 3
        case 5, 6: width = 4
        case 7: width = 8
        default: return nil                                   // G.72x ADPCM: bit-packed
        }
        return make(frames: Int64(size) / (width * channels), dataStart: dataStart, frameBytes: Int(width * channels),
                    length: r.length, container: "AU")
    }

    /// Sony Wave64: GUID chunk ids, 64-bit sizes that include the 24-byte chunk header, 8-byte alignment.
    private static func w64(_ r: ByteReader) -> DeclaredLength? {
        var blockAlign = 0, tag: UInt16 = 0
        var offset: Int64 = 40
        for _ in 0..<4096 {
            let c = r.bytes(at: offset, count: 24)
            guard c.count == 24 else { break }
            let size = Int64(bitPattern: le64(c, 16))
            guard size >= 24, size < 1 << 56 else { return nil }
            if Array(c[0..<16]) == w64FMT {
                let f = r.bytes(at: offset + 24, count: 16)
                guard f.count == 16 else { return nil }
                tag = UInt16(le16(f, 0))
                blockAlign = Int(le16(f, 12))
            } else if Array(c[0..<16]) == w64DATA {
                guard blockAlign > 0, tag == 1 || tag == 3 || tag == 0xFFFE || tag == 6 || tag == 7 else { return nil }
                return make(frames: (size - 24) / Int64(blockAlign), dataStart: offset + 24, frameBytes: blockAlign,
                            length: r.length, container: "W64")
            }
            offset += (size + 7) & ~7
        }
        return nil
    }

    /// RF64: the real data size lives in the `ds64` chunk (the `data` chunk says 0xFFFFFFFF).
    private static func rf64(_ r: ByteReader) -> DeclaredLength? {
        var dataBytes: Int64 = -1, blockAlign = 0, tag: UInt16 = 0
        var found: DeclaredLength?
        walkChunks(r, from: 12, bigEndian: false) { id, size, offset in
            if id == "ds64" {
                let b = r.bytes(at: offset + 8, count: 16)
                guard b.count == 16 else { return false }
                dataBytes = Int64(bitPattern: le64(b, 8))
            } else if id == "fmt " {
                let f = r.bytes(at: offset + 8, count: 16)
                guard f.count == 16 else { return false }
                tag = UInt16(le16(f, 0))
                blockAlign = Int(le16(f, 12))
            } else if id == "data" {
                let declared = size == 0xFFFF_FFFF ? dataBytes : size
                guard declared > 0, blockAlign > 0, tag == 1 || tag == 3 || tag == 0xFFFE || tag == 6 || tag == 7 else { return false }
                found = make(frames: declared / Int64(blockAlign), dataStart: offset + 8, frameBytes: blockAlign,
                             length: r.length, container: "RF64")
                return false
            }
            return true
        }
        return found
    }

    /// Apple CAF: `desc` (bytes and frames per packet), `data` (64-bit size, -1 = to the end,
    /// starting with a 4-byte edit count). Only constant-size packets (PCM, µ-law, A-law) are judged.
    private static func caf(_ r: ByteReader) -> DeclaredLength? {
        var bytesPerPacket: Int64 = 0, framesPerPacket: Int64 = 0
        var offset: Int64 = 8
        for _ in 0..<4096 {
            let c = r.bytes(at: offset, count: 12)
            guard c.count == 12 else { break }
            let id = String(decoding: c[0..<4], as: UTF8.self)
            let size = Int64(bitPattern: be64(c, 4))
            if id == "desc" {
                let d = r.bytes(at: offset + 12, count: 32)
                guard d.count == 32 else { return nil }
                bytesPerPacket = Int64(be32(d, 16))
                framesPerPacket = Int64(be32(d, 20))
            } else if id == "data" {
                guard size != -1, size >= 4, bytesPerPacket > 0, framesPerPacket > 0 else { return nil }
                let (frames, overflow) = ((size - 4) / bytesPerPacket).multipliedReportingOverflow(by: framesPerPacket)
                guard !overflow else { return nil }
                return make(frames: frames, dataStart: offset + 16,
                            frameBytes: framesPerPacket == 1 ? Int(bytesPerPacket) : nil, length: r.length, container: "CAF")
            }
            guard size >= 0, size < 1 << 56 else { return nil }
            offset += 12 + size
        }
        return nil
    }

    /// NIST SPHERE: a text header ("NIST_1A", header size, then `name -type value` lines).
    private static func nist(_ r: ByteReader) -> DeclaredLength? {
        let b = r.bytes(at: 0, count: 1024)
        let text = String(decoding: b, as: UTF8.self)
        let lines = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        guard lines.count > 2, lines[0].first == "NIST_1A", let headerBytes = lines[1].first.flatMap({ Int64($0) })
        else { return nil }
        var fields: [String: String] = [:]
        for l in lines.dropFirst(2) where l.count >= 3 { fields[l[0]] = l[2] }
        if let coding = fields["sample_coding"], !coding.hasPrefix("pcm") { return nil }
        guard let count = fields["sample_count"].flatMap({ Int64($0) }),
              let width = fields["sample_n_bytes"].flatMap({ Int($0) }), (1...8).contains(width) else { return nil }
        let channels = fields["channel_count"].flatMap { Int($0) } ?? 1
        guard (1...4096).contains(channels) else { return nil }
        return make(frames: count, dataStart: headerBytes, frameBytes: width * channels, length: r.length, container: "NIST")
    }

    /// IFF 8SVX/16SV: the `BODY` chunk holds the samples (one channel unless a `CHAN` chunk says stereo).
    private static func svx(_ r: ByteReader, bytesPerSample: Int) -> DeclaredLength? {
        var channels = 1
        var found: DeclaredLength?
        walkChunks(r, from: 12, bigEndian: true) { id, size, offset in
            if id == "CHAN" {
                let b = r.bytes(at: offset + 8, count: 4)
                if b.count == 4, be32(b, 0) == 6 { channels = 2 }
            } else if id == "BODY" {
                let frameBytes = bytesPerSample * channels
                found = make(frames: size / Int64(frameBytes), dataStart: offset + 8, frameBytes: frameBytes,
                             length: r.length, container: "IFF/SVX")
                return false
            }
            return true
        }
        return found
    }

    /// Calls `visit(id, size, offset)` for each chunk of a RIFF-style (little-endian) or IFF-style
    /// (big-endian) container from byte `start`: a 4-byte id and a 32-bit size at `offset`, the
    /// payload after them, padded to an even length. Stops when `visit` returns false, at the end
    /// of the bytes, or after 4096 chunks (a malformed file cannot loop for long).
    private static func walkChunks(_ r: ByteReader, from start: Int64, bigEndian: Bool,
                                   _ visit: (_ id: String, _ size: Int64, _ offset: Int64) -> Bool) {
        var offset = start
        for _ in 0..<4096 {
            let c = r.bytes(at: offset, count: 8)
            guard c.count == 8 else { return }
            let size = Int64(bigEndian ? be32(c, 4) : le32(c, 4))
            guard visit(String(decoding: c[0..<4], as: UTF8.self), size, offset) else { return }
            offset += 8 + size + (size & 1)
        }
    }

    private static func make(frames: Int64, dataStart: Int64, frameBytes: Int?, length: Int64, container: String) -> DeclaredLength? {
        guard frames >= 0, dataStart >= 0 else { return nil }
        let present = frameBytes.flatMap { $0 > 0 ? max(0, length - dataStart) / Int64($0) : nil }
        return DeclaredLength(frames: frames, presentFrames: present, container: container)
    }

    /// The first 16 bytes of a Wave64 file (the "riff" GUID) and its "fmt " and "data" chunk GUIDs.
    static let w64RIFF: [UInt8] = [0x72, 0x69, 0x66, 0x66, 0x2E, 0x91, 0xCF, 0x11, 0xA5, 0xD6, 0x28, 0xDB, 0x04, 0xC1, 0x00, 0x00]
    static let w64FMT: [UInt8] = [0x66, 0x6D, 0x74, 0x20, 0xF3, 0xAC, 0xD3, 0x11, 0x8C, 0xD1, 0x00, 0xC0, 0x4F, 0x8E, 0xDB, 0x8A]
    static let w64DATA: [UInt8] = [0x64, 0x61, 0x74, 0x61, 0xF3, 0xAC, 0xD3, 0x11, 0x8C, 0xD1, 0x00, 0xC0, 0x4F, 0x8E, 0xDB, 0x8A]
}

/// Whether an Ogg file ends where its stream ends: the last page must be whole and flagged
/// end-of-stream. A file cut inside a page, or at a page boundary before the last page, fails.
enum OggEnd {
    /// Nil when `r` is not Ogg or ends properly; otherwise why it is truncated.
    static func problem(_ r: ByteReader) -> String? {
        guard r.bytes(at: 0, count: 4) == [0x4F, 0x67, 0x67, 0x53] else { return nil }
        // An ID3v1 tag (128 bytes starting "TAG") that a tagger appended is not part of the stream.
        var end = r.length
        if end > 128 + 27, r.bytes(at: end - 128, count: 3) == [0x54, 0x41, 0x47] { end -= 128 }
        // A page is at most 27 + 255 + 255 * 255 = 65307 bytes: the last one starts in the tail.
        let tailStart = max(0, end - 65_307 - 64)
        let tail = r.bytes(at: tailStart, count: Int(end - tailStart))
        guard tail.count >= 27 else { return "the file ends inside the first Ogg page" }
        var i = tail.count - 27
        var sawCapture = false
        while i >= 0 {
            if tail[i] == 0x4F, tail[i + 1] == 0x67, tail[i + 2] == 0x67, tail[i + 3] == 0x53, tail[i + 4] == 0 {
                sawCapture = true
                let segments = Int(tail[i + 26])
                if i + 27 + segments <= tail.count {
                    var body = 0
                    for k in 0..<segments { body += Int(tail[i + 27 + k]) }
                    if i + 27 + segments + body == tail.count {
                        // The page that ends exactly at the end of the file.
                        return tail[i + 5] & 0x04 != 0 ? nil
                            : "the last Ogg page is not marked end-of-stream (the file stops before its stream does)"
                    }
                }
            }
            i -= 1
        }
        return sawCapture ? "the file ends inside an Ogg page" : "no Ogg page ends at the end of the file"
    }
}

// Byte helpers (big and little endian) over arrays known to be long enough.
private func be16(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(b[i]) << 8 | UInt32(b[i + 1]) }
private func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}
private func be64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(be32(b, i)) << 32 | UInt64(be32(b, i + 4)) }
private func le16(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(b[i]) | UInt32(b[i + 1]) << 8 }
private func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
}
private func le64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(le32(b, i)) | UInt64(le32(b, i + 4)) << 32 }
