import Foundation

/// Element-wise and per-frame steps of the FF layer, each the float32 arithmetic librosa 0.11 uses.
public enum Spectral {
    /// `librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=topDB)` in place over `count` values:
    /// `10 * log10(max(amin, S))`, then everything below `max - topDB` raised to it (the maximum
    /// is taken over all `count` values, i.e. the whole clip). `topDB == nil` skips the clamp.
    public static func powerToDB(_ x: UnsafeMutablePointer<Float>, count: Int, amin: Float = 1e-10, topDB: Float? = 80) {
        guard count > 0 else { return }
        // Three branch-free passes that vectorise (one loop carrying the running maximum beside
        // the logarithm did not): dB values, their maximum, the clamp. Same values as
        // `max(amin, x)` then the clamp (inputs are finite).
        for i in 0..<count {
            let v = x[i]
            x[i] = 10 * log10Float(v > amin ? v : amin)
        }
        if let top = topDB {
            let floor = maxElement(x, count: count) - top
            for i in 0..<count {
                let v = x[i]
                x[i] = v < floor ? floor : v
            }
        }
    }

    /// `powerToDB` on an array.
    public static func powerToDB(_ x: [Float], amin: Float = 1e-10, topDB: Float? = 80) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { powerToDB($0.baseAddress!, count: $0.count, amin: amin, topDB: topDB) }
        return y
    }

    /// Zero-crossing rate per frame, `librosa.feature.zero_crossing_rate(y, frame_length:,
    /// hop_length:, center=True)`: edge padding of `frameLength / 2` each side, `1 + n / hop`
    /// frames, a crossing wherever the sign bit changes after values in `[-1e-10, 1e-10]` are set
    /// to +0 (`zero_crossings(threshold=1e-10, zero_pos=True, pad=False)`), averaged over
    /// `frameLength`. An empty signal gives one frame of 0.
    ///
    /// - Parameter counts: scratch space (resized as needed), so callers can avoid allocation.
    public static func zeroCrossingRate(_ x: UnsafeBufferPointer<Float>, frameLength: Int, hopLength: Int,
                                        into out: UnsafeMutablePointer<Float>, counts: inout [Int32]) {
        let n = x.count
        let frames = 1 + n / hopLength
        guard n > 0 else { out.update(repeating: 0, count: frames); return }
        let half = frameLength / 2
        let length = n + 2 * half
        if counts.count < length { counts = [Int32](repeating: 0, count: length) }
        let threshold: Float = 1e-10
        @inline(__always) func negative(_ v: Float) -> Bool { v < -threshold }
        counts.withUnsafeMutableBufferPointer { cum in
            // cum[p] = crossings between padded samples (q-1, q) for q in 1...p. The edge padding
            // repeats x[0] and x[n-1], so crossings only occur between real samples.
            cum.baseAddress!.update(repeating: 0, count: half + 1)
            var total: Int32 = 0
            var prev = negative(x[0])
            for i in 1..<n {
                let s = negative(x[i])
                total &+= s != prev ? 1 : 0
                prev = s
                cum[half + i] = total
            }
            (cum.baseAddress! + half + n).update(repeating: total, count: length - half - n)
            let scale = 1 / Double(frameLength)
            for t in 0..<frames {
                let s = t * hopLength
                let c = cum[Swift.min(s + frameLength - 1, length - 1)] - cum[s]
                out[t] = Float(Double(c) * scale)
            }
        }
    }

    /// Zero-crossing rate of an array (see the pointer version).
    public static func zeroCrossingRate(_ x: [Float], frameLength: Int = 2048, hopLength: Int = 512) -> [Float] {
        var out = [Float](repeating: 0, count: 1 + x.count / hopLength)
        var counts: [Int32] = []
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { zeroCrossingRate(xp, frameLength: frameLength, hopLength: hopLength, into: $0.baseAddress!, counts: &counts) }
        }
        return out
    }

    /// `librosa.pitch_tuning(frequencies, resolution=0.01, bins_per_octave=…)`: the most common
    /// deviation (in fractions of a bin) of the frequencies from the equal-tempered A440 grid, as
    /// the left edge of the winning histogram bin; 0 when no frequency is positive.
    public static func pitchTuning(_ frequencies: [Float], resolution: Double = 0.01, binsPerOctave: Int = 12) -> Double {
        let nEdges = Int((1.0 / resolution).rounded(.up)) + 1
        let edges = Filterbank.linspace(-0.5, 0.5, nEdges)
        var counts = [Int](repeating: 0, count: nEdges - 1)
        var any = false
        let bpo = Float(binsPerOctave)
        for f in frequencies where f > 0 {
            any = true
            var r = bpo * log2f(f / Float(27.5))
            // numpy.mod(r, 1.0) in float32 (sign of the divisor), then fold to [-0.5, 0.5).
            var m = fmodf(r, 1)
            if m != 0, m < 0 { m += 1 }
            r = m
            if r >= 0.5 { r -= 1 }
            let v = Double(r)
            // numpy.histogram with explicit edges: edges[i] <= v < edges[i+1], last bin closed.
            guard v >= edges[0], v <= edges[nEdges - 1] else { continue }
            var i = Swift.min(Swift.max(Int(((v - edges[0]) / resolution).rounded(.down)), 0), nEdges - 2)
            while i > 0 && v < edges[i] { i -= 1 }
            while i < nEdges - 2 && v >= edges[i + 1] { i += 1 }
            counts[i] += 1
        }
        guard any else { return 0 }
        var best = 0
        for i in 1..<counts.count where counts[i] > counts[best] { best = i }
        return edges[best]
    }
}

/// `log10f` for positive finite floats, evaluated in double precision and rounded once, so it is
/// the correctly rounded value except in vanishingly rare ties (relative error of the double
/// result < 1e-13, against half a float ulp of 3e-8). Branch-free, so loops over it vectorise
/// (libm's `log10f` is a call per value and dominated the dB conversion).
@inline(__always)
func log10Float(_ x: Float) -> Float {
    let bits = Double(x).bitPattern
    // The biased exponent as a Double without an integer-to-double conversion (AVX2 has none for
    // 64-bit lanes, which kept this loop scalar): 2^52 + field, minus 2^52, exact.
    let field = Double(bitPattern: 0x4330_0000_0000_0000 | ((bits &>> 52) & 0x7FF)) - 4_503_599_627_370_496.0
    let m0 = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)   // [1, 2)
    let big = m0 > 1.4142135623730951
    let m = big ? m0 * 0.5 : m0                                                            // [0.707, 1.414)
    let k = (big ? field + 1 : field) - 1023                                               // exact integer
    // ln(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: odd series to s^15 (error < 3e-14).
    let s = (m - 1) / (m + 1)
    let z = s * s
    var p = 1.0 / 15
    p = p * z + 1.0 / 13
    p = p * z + 1.0 / 11
    p = p * z + 1.0 / 9
    p = p * z + 1.0 / 7
    p = p * z + 1.0 / 5
    p = p * z + 1.0 / 3
    p = p * z + 1
    let ln = k * 0.6931471805599453094 + 2 * s * p
    return Float(ln * 0.4342944819032518277)
}
