// A direct FLAC decoder for the common case (the corpora's FLAC files), writing mono Float
// samples without libsndfile's per-sample copy loop. Anything unusual makes it give up, and the
// caller decodes the file with libsndfile instead, so errors and odd files behave as before.

/// Decodes a whole FLAC stream held in memory to mono `Float` samples at the native rate, bit for
/// bit what libsndfile returns (`sf_readf_float`: integer samples times `2^-(bits-1)`) followed by
/// ``AudioDecoder``'s mono mix (mean of the channels in float32, channel order).
///
/// Supported: 4–24 bits per sample, 1–8 channels, fixed or variable block size, every subframe type
/// (constant, verbatim, fixed, LPC), wasted bits, stereo decorrelation, both Rice coding methods
/// and escaped partitions. Frame header CRC-8 and frame CRC-16 are verified. The decoder returns
/// `nil` (and the caller falls back to libsndfile) for anything else: a missing or unknown total
/// length, a CRC mismatch, reserved codes, a frame whose parameters differ from STREAMINFO, or a
/// sample count that does not add up to the declared total.
enum FLACDecoder {
    /// What STREAMINFO declares.
    struct StreamInfo: Equatable {
        var sampleRate: Int
        var channels: Int
        var bitsPerSample: Int
        var totalSamples: Int
        var maxBlockSize: Int
        /// Byte offset of the first frame.
        var firstFrame: Int
    }

    /// Bytes of zeros a caller must make readable after the stream (the bit reader loads 8 bytes at a time).
    static let padding = 16

    /// Parses the `fLaC` marker and metadata blocks; nil when the bytes are not a FLAC stream this
    /// decoder handles.
    static func streamInfo(_ p: UnsafePointer<UInt8>, count: Int) -> StreamInfo? {
        guard count >= 42, p[0] == 0x66, p[1] == 0x4C, p[2] == 0x61, p[3] == 0x43 else { return nil }
        var offset = 4
        var info: StreamInfo?
        while true {
            guard offset + 4 <= count else { return nil }
            let last = p[offset] & 0x80 != 0
            let type = p[offset] & 0x7F
            let length = Int(p[offset + 1]) << 16 | Int(p[offset + 2]) << 8 | Int(p[offset + 3])
            offset += 4
            guard offset + length <= count else { return nil }
            if type == 0 {
                guard info == nil, length >= 34 else { return nil }
                let s = p + offset
                let maxBlock = Int(s[2]) << 8 | Int(s[3])
                let rate = Int(s[10]) << 12 | Int(s[11]) << 4 | Int(s[12]) >> 4
                let channels = Int((s[12] >> 1) & 7) + 1
                let bits = Int((s[12] & 1) << 4 | s[13] >> 4) + 1
                var total = Int(s[13] & 0x0F)
                for i in 14..<18 { total = total << 8 | Int(s[i]) }
                info = StreamInfo(sampleRate: rate, channels: channels, bitsPerSample: bits, totalSamples: total,
                                  maxBlockSize: maxBlock, firstFrame: 0)
            } else if info == nil || type == 127 {
                return nil   // STREAMINFO must come first; 127 is invalid
            }
            offset += length
            if last { break }
        }
        guard var result = info, result.sampleRate > 0, result.totalSamples > 0, result.maxBlockSize >= 16,
              (4...24).contains(result.bitsPerSample) else { return nil }
        result.firstFrame = offset
        return result
    }

    /// Decodes every frame into `out` (`info.totalSamples` mono floats). `p` must have
    /// ``padding`` readable bytes after `count`. Returns false when the stream is anything but
    /// regular (see the type's documentation); `out` is then unspecified.
    static func decodeMono(_ p: UnsafePointer<UInt8>, count: Int, info: StreamInfo,
                           into out: UnsafeMutablePointer<Float>) -> Bool {
        let channels = info.channels
        let maxBlock = info.maxBlockSize
        let work = UnsafeMutablePointer<Int32>.allocate(capacity: channels * maxBlock)
        defer { work.deallocate() }
        var reader = BitReader(base: p, endBits: count * 8, pos: info.firstFrame * 8)
        var done = 0
        var frameIndex = 0
        while done < info.totalSamples {
            guard let n = decodeFrame(&reader, info: info, index: frameIndex, work: work) else { return false }
            guard done + n <= info.totalSamples else { return false }
            mix(work, stride: maxBlock, channels: channels, count: n, bits: info.bitsPerSample, into: out + done)
            done += n
            frameIndex += 1
        }
        return true
    }

    /// Float conversion (libsndfile's `sample * (1 / 2^(bits-1))`) and the mono mean.
    private static func mix(_ x: UnsafeMutablePointer<Int32>, stride: Int, channels: Int, count n: Int, bits: Int,
                            into out: UnsafeMutablePointer<Float>) {
        let norm = Float(1.0 / Double(1 << (bits - 1)))
        switch channels {
        case 1:
            for i in 0..<n { out[i] = Float(x[i]) * norm }
        case 2:
            let y = x + stride
            for i in 0..<n { out[i] = (Float(x[i]) * norm + Float(y[i]) * norm) / 2 }
        default:
            let c = Float(channels)
            for i in 0..<n {
                var s: Float = 0
                for ch in 0..<channels { s += Float(x[ch * stride + i]) * norm }
                out[i] = s / c
            }
        }
    }

    // MARK: Frames

    /// Decodes one frame into `work` (channel `c` at `work + c * maxBlockSize`); returns its block size.
    private static func decodeFrame(_ r: inout BitReader, info: StreamInfo, index: Int,
                                    work: UnsafeMutablePointer<Int32>) -> Int? {
        guard r.pos & 7 == 0 else { return nil }
        let start = r.pos >> 3
        guard start + 6 <= r.endBits >> 3 else { return nil }
        let h = r.base + start
        guard h[0] == 0xFF, h[1] & 0xFE == 0xF8 else { return nil }
        let variable = h[1] & 1 != 0
        let blockCode = Int(h[2] >> 4), rateCode = Int(h[2] & 0x0F)
        let assignment = Int(h[3] >> 4), sizeCode = Int((h[3] >> 1) & 7)
        guard h[3] & 1 == 0, blockCode != 0, rateCode != 15, sizeCode != 3, sizeCode != 7 else { return nil }
        // Coded frame or sample number (UTF-8 style, up to 7 bytes).
        var q = start + 4
        let lead = h[4]
        var number = 0
        var extra = 0
        if lead & 0x80 == 0 { number = Int(lead) }
        else if lead & 0xE0 == 0xC0 { number = Int(lead & 0x1F); extra = 1 }
        else if lead & 0xF0 == 0xE0 { number = Int(lead & 0x0F); extra = 2 }
        else if lead & 0xF8 == 0xF0 { number = Int(lead & 0x07); extra = 3 }
        else if lead & 0xFC == 0xF8 { number = Int(lead & 0x03); extra = 4 }
        else if lead & 0xFE == 0xFC { number = Int(lead & 0x01); extra = 5 }
        else if lead == 0xFE { number = 0; extra = 6 }
        else { return nil }
        q += 1
        guard q + extra + 4 <= r.endBits >> 3 else { return nil }
        for _ in 0..<extra {
            let b = r.base[q]
            guard b & 0xC0 == 0x80 else { return nil }
            number = number << 6 | Int(b & 0x3F)
            q += 1
        }
        var blockSize: Int
        switch blockCode {
        case 1: blockSize = 192
        case 2...5: blockSize = 576 << (blockCode - 2)
        case 6: blockSize = Int(r.base[q]) + 1; q += 1
        case 7: blockSize = (Int(r.base[q]) << 8 | Int(r.base[q + 1])) + 1; q += 2
        default: blockSize = 256 << (blockCode - 8)
        }
        switch rateCode {
        case 12: q += 1
        case 13, 14: q += 2
        default: break
        }
        guard q + 1 <= r.endBits >> 3, crc8(h, count: q - start) == r.base[q] else { return nil }
        q += 1
        // The frame must agree with STREAMINFO (libsndfile normalises by the frame's bit depth).
        let bitsTable = [0, 8, 12, 0, 16, 20, 24, 0]
        let bits = sizeCode == 0 ? info.bitsPerSample : bitsTable[sizeCode]
        guard bits == info.bitsPerSample, blockSize <= info.maxBlockSize else { return nil }
        if !variable { guard number == index else { return nil } }
        let channels = assignment < 8 ? assignment + 1 : 2
        guard assignment <= 10, channels == info.channels else { return nil }

        r.pos = q * 8
        let stride = info.maxBlockSize
        for c in 0..<channels {
            // The side channel carries one extra bit.
            let sideExtra = (assignment == 8 && c == 1) || (assignment == 9 && c == 0) || (assignment == 10 && c == 1)
            guard decodeSubframe(&r, bits: bits + (sideExtra ? 1 : 0), blockSize: blockSize,
                                 into: work + c * stride) else { return nil }
        }
        // Byte alignment, then CRC-16 of everything from the sync code.
        r.pos = (r.pos + 7) & ~7
        let end = r.pos >> 3
        guard end + 2 <= r.endBits >> 3 else { return nil }
        let crc = UInt16(r.base[end]) << 8 | UInt16(r.base[end + 1])
        guard crc16(h, count: end - start) == crc else { return nil }
        r.pos += 16

        if assignment >= 8 {
            let a = work, b = work + stride
            switch assignment {
            case 8:  // left, side
                for i in 0..<blockSize { b[i] = a[i] &- b[i] }
            case 9:  // side, right
                for i in 0..<blockSize { a[i] = a[i] &+ b[i] }
            default: // mid, side
                for i in 0..<blockSize {
                    let side = b[i]
                    let mid = (a[i] &<< 1) | (side & 1)
                    a[i] = (mid &+ side) >> 1
                    b[i] = (mid &- side) >> 1
                }
            }
        }
        return blockSize
    }

    /// One subframe of `blockSize` samples at `bits` bits into `x`.
    private static func decodeSubframe(_ r: inout BitReader, bits: Int, blockSize n: Int,
                                       into x: UnsafeMutablePointer<Int32>) -> Bool {
        guard r.pos + 8 <= r.endBits else { return false }
        let header = Int(r.read(8))
        guard header & 0x80 == 0 else { return false }
        let type = (header >> 1) & 0x3F
        var wasted = 0
        if header & 1 != 0 {
            guard let k = r.unary() else { return false }
            wasted = k + 1
        }
        guard wasted < bits else { return false }
        let b = bits - wasted
        switch type {
        case 0:
            let v = r.readSigned(b)
            for i in 0..<n { x[i] = v }
        case 1:
            for i in 0..<n {
                guard r.pos <= r.endBits else { return false }
                x[i] = r.readSigned(b)
            }
        case 8...12:
            let order = type - 8
            guard order <= n else { return false }
            guard readWarmUp(&r, order: order, bits: b, into: x) else { return false }
            guard decodeResidual(&r, blockSize: n, order: order, into: x) else { return false }
            restoreFixed(x, count: n, order: order)
        case 32...63:
            let order = type - 31
            guard order <= n else { return false }
            guard readWarmUp(&r, order: order, bits: b, into: x) else { return false }
            guard r.pos + 9 <= r.endBits else { return false }
            let precision = Int(r.read(4)) + 1
            guard precision <= 15 else { return false }
            let shift = Int(r.readSigned(5))
            guard shift >= 0 else { return false }
            var coefs = (Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0),
                         Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0),
                         Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0),
                         Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0))
            let ok = withUnsafeMutableBytes(of: &coefs) { raw -> Bool in
                let c = raw.baseAddress!.assumingMemoryBound(to: Int32.self)
                for i in 0..<order {
                    guard r.pos <= r.endBits else { return false }
                    c[i] = r.readSigned(precision)
                }
                guard decodeResidual(&r, blockSize: n, order: order, into: x) else { return false }
                // libFLAC's rule: 32-bit arithmetic when it cannot overflow, 64-bit otherwise.
                if bits + precision + log2Floor(order) <= 32 {
                    restoreLPC32(x, count: n, coefs: c, order: order, shift: shift)
                } else {
                    restoreLPC64(x, count: n, coefs: c, order: order, shift: shift)
                }
                return true
            }
            guard ok else { return false }
        default:
            return false
        }
        if wasted > 0 { for i in 0..<n { x[i] = x[i] &<< Int32(wasted) } }
        return r.pos <= r.endBits
    }

    private static func readWarmUp(_ r: inout BitReader, order: Int, bits: Int, into x: UnsafeMutablePointer<Int32>) -> Bool {
        for i in 0..<order {
            guard r.pos <= r.endBits else { return false }
            x[i] = r.readSigned(bits)
        }
        return true
    }

    private static func log2Floor(_ v: Int) -> Int { v <= 1 ? 0 : Int.bitWidth - 1 - v.leadingZeroBitCount }

    /// The Rice-coded residual after `order` warm-up samples, into `x[order..<blockSize]`.
    private static func decodeResidual(_ r: inout BitReader, blockSize n: Int, order: Int,
                                       into x: UnsafeMutablePointer<Int32>) -> Bool {
        guard r.pos + 6 <= r.endBits else { return false }
        let method = Int(r.read(2))
        guard method <= 1 else { return false }
        let paramBits = method == 0 ? 4 : 5
        let escape = method == 0 ? 15 : 31
        let partitionOrder = Int(r.read(4))
        let partitions = 1 << partitionOrder
        guard n % partitions == 0 else { return false }
        let perPartition = n >> partitionOrder
        guard perPartition >= order else { return false }
        var i = order
        for part in 0..<partitions {
            let count = part == 0 ? perPartition - order : perPartition
            guard r.pos + paramBits <= r.endBits else { return false }
            let k = Int(r.read(paramBits))
            if k == escape {
                guard r.pos + 5 <= r.endBits else { return false }
                let raw = Int(r.read(5))
                for j in 0..<count {
                    guard r.pos <= r.endBits else { return false }
                    x[i + j] = raw == 0 ? 0 : r.readSigned(raw)
                }
            } else {
                guard r.rice(k: k, count: count, into: x + i) else { return false }
            }
            i += count
        }
        return true
    }

    private static func restoreFixed(_ x: UnsafeMutablePointer<Int32>, count n: Int, order: Int) {
        guard order > 0 else { return }
        switch order {
        case 1:
            for i in 1..<n { x[i] = x[i] &+ x[i - 1] }
        case 2:
            for i in 2..<n { x[i] = x[i] &+ 2 &* x[i - 1] &- x[i - 2] }
        case 3:
            for i in 3..<n { x[i] = x[i] &+ 3 &* x[i - 1] &- 3 &* x[i - 2] &+ x[i - 3] }
        default:
            for i in 4..<n { x[i] = x[i] &+ 4 &* x[i - 1] &- 6 &* x[i - 2] &+ 4 &* x[i - 3] &- x[i - 4] }
        }
    }

    private static func restoreLPC32(_ x: UnsafeMutablePointer<Int32>, count n: Int, coefs c: UnsafePointer<Int32>,
                                     order: Int, shift: Int) {
        let s = Int32(shift)
        // Orders up to 8 (flac -5 and below, libsndfile's writer) and up to 12 (flac -8): the
        // history lives in registers (coefficients zero-padded), so no sample is re-loaded right
        // after it was stored (a wide reload of fresh stores stalls store-to-load forwarding).
        // 32-bit wrapping sums in the same order as the scalar loop: identical results.
        if order <= 8 && n >= 8 {
            var k = [Int32](repeating: 0, count: 8)
            for j in 0..<order { k[j] = c[j] }
            scalarLPC(x, from: order, to: 8, coefs: c, order: order, shift: s)
            let (c0, c1, c2, c3, c4, c5, c6, c7) = (k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7])
            var (h1, h2, h3, h4, h5, h6, h7, h8) = (x[7], x[6], x[5], x[4], x[3], x[2], x[1], x[0])
            for i in 8..<n {
                var sum = c7 &* h8
                sum = sum &+ c6 &* h7
                sum = sum &+ c5 &* h6
                sum = sum &+ c4 &* h5
                sum = sum &+ c3 &* h4
                sum = sum &+ c2 &* h3
                sum = sum &+ c1 &* h2
                sum = sum &+ c0 &* h1
                let v = x[i] &+ (sum >> s)
                x[i] = v
                (h8, h7, h6, h5, h4, h3, h2, h1) = (h7, h6, h5, h4, h3, h2, h1, v)
            }
            return
        }
        if order <= 12 && n >= 12 {
            var k = [Int32](repeating: 0, count: 12)
            for j in 0..<order { k[j] = c[j] }
            scalarLPC(x, from: order, to: 12, coefs: c, order: order, shift: s)
            let (c0, c1, c2, c3, c4, c5) = (k[0], k[1], k[2], k[3], k[4], k[5])
            let (c6, c7, c8, c9, c10, c11) = (k[6], k[7], k[8], k[9], k[10], k[11])
            var (h1, h2, h3, h4, h5, h6) = (x[11], x[10], x[9], x[8], x[7], x[6])
            var (h7, h8, h9, h10, h11, h12) = (x[5], x[4], x[3], x[2], x[1], x[0])
            for i in 12..<n {
                var sum = c11 &* h12
                sum = sum &+ c10 &* h11
                sum = sum &+ c9 &* h10
                sum = sum &+ c8 &* h9
                sum = sum &+ c7 &* h8
                sum = sum &+ c6 &* h7
                sum = sum &+ c5 &* h6
                sum = sum &+ c4 &* h5
                sum = sum &+ c3 &* h4
                sum = sum &+ c2 &* h3
                sum = sum &+ c1 &* h2
                sum = sum &+ c0 &* h1
                let v = x[i] &+ (sum >> s)
                x[i] = v
                (h12, h11, h10, h9, h8, h7) = (h11, h10, h9, h8, h7, h6)
                (h6, h5, h4, h3, h2, h1) = (h5, h4, h3, h2, h1, v)
            }
            return
        }
        if order <= 16 && n >= 16 {
            var w = SIMD16<Int32>(repeating: 0)
            for j in 0..<order { w[15 - j] = c[j] }
            scalarLPC(x, from: order, to: 16, coefs: c, order: order, shift: s)
            for i in 16..<n {
                let h = UnsafeRawPointer(x + i - 16).loadUnaligned(as: SIMD16<Int32>.self)
                x[i] = x[i] &+ ((h &* w).wrappedSum() >> s)
            }
            return
        }
        scalarLPC(x, from: order, to: n, coefs: c, order: order, shift: s)
    }

    @inline(__always)
    private static func scalarLPC(_ x: UnsafeMutablePointer<Int32>, from: Int, to: Int, coefs c: UnsafePointer<Int32>,
                                  order: Int, shift s: Int32) {
        guard from < to else { return }
        for i in from..<to {
            var sum: Int32 = 0
            for j in 0..<order { sum = sum &+ c[j] &* x[i - 1 - j] }
            x[i] = x[i] &+ (sum >> s)
        }
    }

    private static func restoreLPC64(_ x: UnsafeMutablePointer<Int32>, count n: Int, coefs c: UnsafePointer<Int32>,
                                     order: Int, shift: Int) {
        for i in order..<n {
            var sum: Int64 = 0
            for j in 0..<order { sum = sum &+ Int64(c[j]) &* Int64(x[i - 1 - j]) }
            x[i] = x[i] &+ Int32(truncatingIfNeeded: sum >> Int64(shift))
        }
    }

    // MARK: CRCs

    private static let crc8Table: [UInt8] = (0..<256).map { i -> UInt8 in
        var c = UInt8(i)
        for _ in 0..<8 { c = c & 0x80 != 0 ? (c << 1) ^ 0x07 : c << 1 }
        return c
    }

    private static let crc16Table: [UInt16] = (0..<256).map { i -> UInt16 in
        var c = UInt16(i) << 8
        for _ in 0..<8 { c = c & 0x8000 != 0 ? (c << 1) ^ 0x8005 : c << 1 }
        return c
    }

    static func crc8(_ p: UnsafePointer<UInt8>, count: Int) -> UInt8 {
        crc8Table.withUnsafeBufferPointer { t in
            var c: UInt8 = 0
            for i in 0..<count { c = t[Int(c ^ p[i])] }
            return c
        }
    }

    static func crc16(_ p: UnsafePointer<UInt8>, count: Int) -> UInt16 {
        crc16Table.withUnsafeBufferPointer { t in
            var c: UInt16 = 0
            for i in 0..<count { c = (c << 8) ^ t[Int(UInt8(truncatingIfNeeded: c >> 8) ^ p[i])] }
            return c
        }
    }
}

/// Big-endian bit reader over a buffer with ``FLACDecoder/padding`` readable bytes past `endBits`.
/// Callers check `pos <= endBits` before each read, so loads stay within the padding.
struct BitReader {
    let base: UnsafePointer<UInt8>
    let endBits: Int
    var pos: Int

    /// The next 64 bits from `pos` (the first 57 are always valid).
    @inline(__always) func peek() -> UInt64 {
        let w = UnsafeRawPointer(base + (pos >> 3)).loadUnaligned(as: UInt64.self).bigEndian
        return w &<< UInt64(pos & 7)
    }

    /// `n` (0...32) bits as an unsigned value.
    @inline(__always) mutating func read(_ n: Int) -> UInt32 {
        let w = peek()
        pos += n
        return UInt32(truncatingIfNeeded: (w &>> 1) &>> UInt64(63 - n))
    }

    /// `n` (0...32) bits as a two's-complement value.
    @inline(__always) mutating func readSigned(_ n: Int) -> Int32 {
        guard n > 0 else { return 0 }
        let w = Int64(bitPattern: peek())
        pos += n
        return Int32(truncatingIfNeeded: w &>> Int64(64 - n))
    }

    /// Zeros before the next one bit (consumed with it); nil past the end.
    mutating func unary() -> Int? {
        var q = 0
        while pos <= endBits {
            let lz = peek().leadingZeroBitCount
            if lz < 57 { pos += lz + 1; return q + lz }
            pos += 57
            q += 57
        }
        return nil
    }

    /// `count` Rice-coded values with parameter `k`, zig-zag decoded, into `out`.
    @inline(__always) mutating func rice(k: Int, count: Int, into out: UnsafeMutablePointer<Int32>) -> Bool {
        let kk = UInt64(k)
        for j in 0..<count {
            guard pos <= endBits else { return false }
            let w = peek()
            let q = w.leadingZeroBitCount
            let u: UInt32
            if q + 1 + k <= 57 {
                let low = ((w &<< UInt64(q + 1)) &>> 1) &>> (63 &- kk)
                u = (UInt32(truncatingIfNeeded: q) &<< UInt32(k)) | UInt32(truncatingIfNeeded: low)
                pos += q + 1 + k
            } else {
                guard let qq = unary(), pos <= endBits else { return false }
                u = (UInt32(truncatingIfNeeded: qq) &<< UInt32(k)) | read(k)
            }
            out[j] = Int32(bitPattern: u &>> 1) ^ (0 &- Int32(bitPattern: u & 1))
        }
        return true
    }
}
