import Foundation
import SERCore

/// The paper's FF layer: fuses spectrogram, chroma, MFCC and ZCR of a clip into one
/// `[config.channels, frames]` matrix (eq. 1), each feature computed as librosa 0.11 computes it.
///
/// STFT: periodic Hann window, `center=True` with zero padding, `1 + n / hop` frames, FFTW3 in
/// double precision rounded to float32 as librosa rounds (so tuning estimation sees the same
/// bits). Spectrogram block: `power_to_db` (ref 1, amin 1e-10, `topDB` over the clip)
/// of the Slaney mel power (or of the linear STFT power). Chroma: `chroma_stft` with per-clip
/// tuning estimation and per-frame max normalisation. MFCC: orthonormal DCT-II of the mel dB.
/// ZCR: `zero_crossing_rate` with edge padding.
///
/// Window, mel filterbank and DCT matrix are computed in `init`; chroma filterbanks are cached per
/// estimated tuning value; work buffers are reused between calls, so steady-state extraction
/// allocates only its result.
///
/// Thread safety: an extractor owns mutable buffers and is **not** `Sendable`; use one extractor
/// per thread (they share the process-wide FFTW plans, whose execution is thread-safe).
///
/// ```swift
/// let fx = FeatureExtractor(config: FeatureConfig())
/// let x = fx.extract(samples)   // [128 + 12 + 40 + 1, 1 + samples.count / 512]
/// ```
public final class FeatureExtractor {
    /// The settings this extractor computes.
    public let config: FeatureConfig
    /// STFT bins, `nFFT / 2 + 1`.
    public let bins: Int

    private let window: [Double]      // float64 periodic Hann, as scipy returns it
    private let melBasis: [Float]      // [nMels, bins]
    private let melBands: [MelBandGroup]
    private let dctMatrix: [Float]     // [nMFCC, nMels]
    private let fft: RealFFT
    private let pitchBinRange: Range<Int>
    private var chromaBanks: [Double: [Float]] = [:]

    // Work buffers, grown as needed and reused.
    private var frames = 0
    private let power = Scratch()      // [frames, bins], time-major |STFT|^2
    private let parts = Scratch()      // [2, bins], one frame's float32 real and imaginary parts
    private let mel = Scratch()        // [nMels, frames]
    private let melDB = Scratch()      // [nMels, frames]
    private let transposed = Scratch() // [frames, channels] products before transposition
    private var frameMax: [Float] = []    // [frames], largest power of each frame
    private var zcrCounts: [Int32] = []
    private var peakPitch: [Float] = []
    private var peakMag: [Float] = []
    private var selectScratch: [Float] = []

    /// An extractor for `config` (`nFFT` must be even; `hopLength`, `nMels`, `nChroma` positive;
    /// `nMFCC <= nMels`).
    public init(config: FeatureConfig = FeatureConfig()) {
        precondition(config.nFFT >= 2 && config.nFFT % 2 == 0, "FeatureExtractor: nFFT \(config.nFFT) must be even")
        precondition(config.sampleRate > 0 && config.hopLength > 0 && config.nMels > 0 && config.nChroma > 0,
                     "FeatureExtractor: sampleRate, hopLength, nMels and nChroma must be positive")
        precondition(config.nMFCC >= 0 && config.nMFCC <= config.nMels, "FeatureExtractor: nMFCC \(config.nMFCC) must be in 0...nMels")
        self.config = config
        bins = config.nFFT / 2 + 1
        window = Filterbank.hannDouble(config.nFFT)
        melBasis = Filterbank.mel(sampleRate: config.sampleRate, nFFT: config.nFFT, nMels: config.nMels,
                                  fmin: Double(config.fmin), fmax: config.fmax.map(Double.init))
        melBands = MelBandGroup.groups(of: melBasis, rows: config.nMels, columns: config.nFFT / 2 + 1)
        dctMatrix = Filterbank.dct(count: config.nMFCC, n: config.nMels)
        fft = RealFFT(size: config.nFFT)
        // piptrack's feasible band: fmin=150 <= f < min(4000, sr/2).
        let freqs = Filterbank.fftFrequencies(sampleRate: config.sampleRate, nFFT: config.nFFT)
        let fmin = 150.0, fmax = Swift.min(4000.0, Double(config.sampleRate) / 2)
        let lo = freqs.firstIndex { $0 >= fmin } ?? freqs.count
        let hi = Swift.max(lo, freqs.firstIndex { $0 >= fmax } ?? freqs.count)
        pitchBinRange = lo..<hi
    }

    // MARK: Fused features

    /// The fused `[config.channels, 1 + signal.count / hopLength]` matrix, blocks stacked in
    /// `config.blocks` order. `signal` is mono at `config.sampleRate`.
    public func extract(_ signal: [Float]) -> Tensor {
        var out = Tensor(shape: [0, 0])
        extract(signal, into: &out)
        return out
    }

    /// `extract` into an existing tensor (reshaped, its storage reused when large enough).
    public func extract(_ signal: [Float], into out: inout Tensor) {
        signal.withUnsafeBufferPointer { computePower($0) }
        let t = frames
        let channels = config.channels
        if out.data.count != channels * t { out.data = [Float](repeating: 0, count: channels * t) }
        out.shape = [channels, t]
        let blocks = config.blocks
        let needMelDB = blocks.contains(.mfcc) || (blocks.contains(.spectrogram) && config.spectrogram == .mel)
        if needMelDB { computeMelDB() }
        out.data.withUnsafeMutableBufferPointer { o in
            var row = 0
            for block in blocks {
                let dst = o.baseAddress! + row * t
                switch block {
                case .spectrogram:
                    if config.spectrogram == .mel {
                        dst.update(from: melDB.p, count: config.nMels * t)
                    } else {
                        linearDB(into: dst)
                    }
                case .chroma:
                    computeChroma(tuning: estimateTuningFromPower(), into: dst)
                case .mfcc:
                    computeMFCC(dct: dctMatrix, count: config.nMFCC, into: dst)
                case .zcr:
                    signal.withUnsafeBufferPointer {
                        Spectral.zeroCrossingRate($0, frameLength: config.nFFT, hopLength: config.hopLength,
                                                  into: dst, counts: &zcrCounts)
                    }
                case .encoder:
                    // Not a hand-made block: `ClipFeaturizer` (SEREncoder) builds its extractor from
                    // `config.handmadeOnly`, so an extractor never sees it; rows stay zero.
                    dst.update(repeating: 0, count: config.channels(of: .encoder) * t)
                }
                row += config.channels(of: block)
            }
        }
    }

    // MARK: Individual features (for tests and inspection)

    /// `abs(librosa.stft(y, n_fft, hop_length))`, `[nFFT/2 + 1, frames]`.
    public func stftMagnitude(_ signal: [Float]) -> Tensor {
        signal.withUnsafeBufferPointer { computePower($0) }
        var out = Tensor(shape: [bins, frames])
        let t = frames
        out.data.withUnsafeMutableBufferPointer { o in
            for j in 0..<t {
                let src = power.p + j * bins
                for f in 0..<bins { o[f * t + j] = src[f].squareRoot() }
            }
        }
        return out
    }

    /// `librosa.feature.melspectrogram(S=|STFT|^2, sr, n_mels)`, `[nMels, frames]`.
    public func melPower(_ signal: [Float]) -> Tensor {
        signal.withUnsafeBufferPointer { computePower($0) }
        computeMel()
        return Tensor(shape: [config.nMels, frames], data: Array(UnsafeBufferPointer(start: mel.p, count: config.nMels * frames)))
    }

    /// `librosa.feature.mfcc(y, sr, n_mfcc=count, n_mels)`, `[count, frames]` (`count` defaults to
    /// `config.nMFCC`; at most `nMels`).
    public func mfcc(_ signal: [Float], count: Int? = nil) -> Tensor {
        let k = count ?? config.nMFCC
        precondition(k >= 0 && k <= config.nMels, "mfcc: count \(k) must be in 0...nMels")
        signal.withUnsafeBufferPointer { computePower($0) }
        computeMelDB()
        let dct = k == config.nMFCC ? dctMatrix : Filterbank.dct(count: k, n: config.nMels)
        var out = Tensor(shape: [k, frames])
        out.data.withUnsafeMutableBufferPointer { computeMFCC(dct: dct, count: k, into: $0.baseAddress!) }
        return out
    }

    /// `librosa.feature.chroma_stft(S=|STFT|^2, sr)` (tuning estimated from the clip, each frame
    /// divided by its maximum unless that is below the smallest normal float), `[nChroma, frames]`.
    public func chroma(_ signal: [Float]) -> Tensor {
        signal.withUnsafeBufferPointer { computePower($0) }
        var out = Tensor(shape: [config.nChroma, frames])
        let tuning = estimateTuningFromPower()
        out.data.withUnsafeMutableBufferPointer { computeChroma(tuning: tuning, into: $0.baseAddress!) }
        return out
    }

    /// `librosa.feature.zero_crossing_rate(y, frame_length=nFFT, hop_length)`, `[1, frames]`.
    public func zcr(_ signal: [Float]) -> Tensor {
        var out = Tensor(shape: [1, config.frameCount(samples: signal.count)])
        signal.withUnsafeBufferPointer { x in
            out.data.withUnsafeMutableBufferPointer {
                Spectral.zeroCrossingRate(x, frameLength: config.nFFT, hopLength: config.hopLength,
                                          into: $0.baseAddress!, counts: &zcrCounts)
            }
        }
        return out
    }

    /// `librosa.estimate_tuning(S=|STFT|^2, sr, bins_per_octave=nChroma)`, in fractions of a
    /// chroma bin (a multiple of 0.01 in [-0.5, 0.5); 0 when no pitch peak is found).
    public func estimateTuning(_ signal: [Float]) -> Float {
        signal.withUnsafeBufferPointer { computePower($0) }
        return Float(estimateTuningFromPower())
    }

    /// The chroma filterbank used for a given tuning, `[nChroma, bins]` (cached).
    public func chromaFilterbank(tuning: Double) -> [Float] {
        if let fb = chromaBanks[tuning] { return fb }
        let fb = Filterbank.chroma(sampleRate: config.sampleRate, nFFT: config.nFFT, nChroma: config.nChroma, tuning: tuning)
        if chromaBanks.count > 256 { chromaBanks.removeAll() }
        chromaBanks[tuning] = fb
        return fb
    }

    // MARK: Steps

    /// |STFT|^2 into `power` (time-major) and each frame's largest value into `frameMax`; sets
    /// `frames`.
    private func computePower(_ x: UnsafeBufferPointer<Float>) {
        let n = x.count, nFFT = config.nFFT, hop = config.hopLength, half = nFFT / 2
        frames = 1 + n / hop
        power.reserve(frames * bins)
        parts.reserve(2 * bins)
        frameMax.removeAll(keepingCapacity: true)
        frameMax.reserveCapacity(frames)
        let output = UnsafePointer(fft.output)
        window.withUnsafeBufferPointer { w in
            for t in 0..<frames {
                fft.transformFrame(x, start: t * hop - half, window: w.baseAddress!)
                frameMax.append(Self.squaredMagnitudes(output, count: bins, parts: parts.p, into: power.p + t * bins))
            }
        }
    }

    /// librosa's `np.abs(S.astype(complex64)) ** 2` of `count` interleaved complex128 values into
    /// `dst` (float32), with ``numpyComplexAbs(_:_:)``; returns the largest result. Split into
    /// plain loops the compiler vectorises at full width: the float32 real and imaginary parts
    /// (`parts`, `2 * count` floats of scratch), then the magnitudes, then the maximum.
    @inline(__always)
    static func squaredMagnitudes(_ src: UnsafePointer<Double>, count: Int, parts: UnsafeMutablePointer<Float>,
                                  into dst: UnsafeMutablePointer<Float>) -> Float {
        let re = parts, im = parts + count
        for f in 0..<count {
            re[f] = Float(src[2 * f])
            im[f] = Float(src[2 * f + 1])
        }
        for f in 0..<count {
            let m = numpyComplexAbs(re[f], im[f])
            dst[f] = m * m
        }
        return maxElement(dst, count: count)
    }

    /// Mel power `[nMels, frames]` from `power`.
    private func computeMel() {
        mel.reserve(config.nMels * frames)
        transposed.reserve(config.nMels * frames)
        // The filterbank is banded: one product per group of adjacent bands over just the bins
        // the group covers (the skipped entries are exact zeros, so the sums are the same).
        melBasis.withUnsafeBufferPointer { m in
            for g in melBands {
                guard !g.columns.isEmpty else {
                    for t in 0..<frames {
                        (transposed.p + t * config.nMels + g.rows.lowerBound).update(repeating: 0, count: g.rows.count)
                    }
                    continue
                }
                // [frames, rows] = P[:, cols] . M[rows, cols]^T (both operands row-contiguous).
                BLAS.gemm(transB: true, m: frames, n: g.rows.count, k: g.columns.count,
                          a: power.p + g.columns.lowerBound, lda: bins,
                          b: m.baseAddress! + g.rows.lowerBound * bins + g.columns.lowerBound, ldb: bins,
                          c: transposed.p + g.rows.lowerBound, ldc: config.nMels)
            }
        }
        transpose(transposed.p, rows: frames, columns: config.nMels, into: mel.p)
    }

    /// power_to_db of the mel power into `melDB`.
    private func computeMelDB() {
        computeMel()
        let count = config.nMels * frames
        melDB.reserve(count)
        melDB.p.update(from: mel.p, count: count)
        Spectral.powerToDB(melDB.p, count: count, topDB: config.topDB)
    }

    /// DCT of `melDB` (first `count` rows) into `dst` (`[count, frames]`).
    private func computeMFCC(dct: [Float], count: Int, into dst: UnsafeMutablePointer<Float>) {
        dct.withUnsafeBufferPointer { d in
            BLAS.gemm(m: count, n: frames, k: config.nMels, a: d.baseAddress!, lda: config.nMels,
                      b: melDB.p, ldb: frames, c: dst, ldc: frames)
        }
    }

    /// power_to_db of the linear power, written as `[bins, frames]` into `dst`.
    private func linearDB(into dst: UnsafeMutablePointer<Float>) {
        let t = frames
        for j in 0..<t {
            let src = power.p + j * bins
            for f in 0..<bins { dst[f * t + j] = src[f] }
        }
        Spectral.powerToDB(dst, count: bins * t, topDB: config.topDB)
    }

    /// Chroma `[nChroma, frames]` into `dst` from `power`.
    private func computeChroma(tuning: Double, into dst: UnsafeMutablePointer<Float>) {
        let fb = chromaFilterbank(tuning: tuning)
        let nc = config.nChroma, t = frames
        transposed.reserve(nc * t)
        fb.withUnsafeBufferPointer { c in
            BLAS.gemm(transB: true, m: t, n: nc, k: bins, a: power.p, lda: bins,
                      b: c.baseAddress!, ldb: bins, c: transposed.p, ldc: nc)
        }
        transpose(transposed.p, rows: t, columns: nc, into: dst)
        // util.normalize(norm=inf, axis=chroma): frames whose max is below the smallest normal
        // float32 (librosa's `tiny`) are left as they are.
        for j in 0..<t {
            var m: Float = 0
            for c in 0..<nc { m = Swift.max(m, abs(dst[c * t + j])) }
            guard m >= Float.leastNormalMagnitude else { continue }
            for c in 0..<nc { dst[c * t + j] /= m }
        }
    }

    /// librosa.estimate_tuning on `power` (piptrack with threshold 0.1, fmin 150, fmax 4000, then
    /// pitch_tuning of the peaks at or above the median peak magnitude).
    private func estimateTuningFromPower() -> Double {
        let nb = bins
        let range = pitchBinRange
        peakPitch.removeAll(keepingCapacity: true)
        peakMag.removeAll(keepingCapacity: true)
        let hzPerBin = Double(config.sampleRate)
        let nFFT = Double(config.nFFT)
        let refScale = Float(0.1)
        for t in 0..<frames {
            let s = power.p + t * nb
            let ref = refScale * frameMax[t]
            @inline(__always) func masked(_ f: Int) -> Float { s[f] > ref ? s[f] : 0 }
            // Most bins are below `ref`: skip eight at a time where none is above it.
            var f = range.lowerBound
            while f < range.upperBound {
                if f + 8 <= range.upperBound, !anyAbove(s + f, ref) { f += 8; continue }
                defer { f += 1 }
                guard s[f] > ref else { continue }   // a masked zero is never a local maximum
                let v = s[f]
                let isMax: Bool
                if f == 0 { isMax = false }
                else if f == nb - 1 { isMax = v > masked(f - 1) }
                else { isMax = v > masked(f - 1) && v >= masked(f + 1) }
                guard isMax else { continue }
                // Parabolic shift (numba evaluates it in float64) and gradient (float32).
                var shift: Float = 0
                var grad: Float
                if f == 0 {
                    grad = s[1] - s[0]
                } else if f == nb - 1 {
                    grad = s[f] - s[f - 1]
                } else {
                    let a = Double(s[f + 1] + s[f - 1]) - 2 * Double(s[f])
                    let b = Double(s[f + 1] - s[f - 1]) / 2
                    shift = abs(b) >= abs(a) ? 0 : Float(-b / a)
                    grad = (s[f + 1] - s[f - 1]) / 2
                }
                let dskew = Float(0.5) * grad * shift
                let pitch = Float((Double(f) + Double(shift)) * hzPerBin / nFFT)
                guard pitch > 0 else { continue }
                peakPitch.append(pitch)
                peakMag.append(s[f] + dskew)
            }
        }
        guard !peakMag.isEmpty else { return 0 }
        let threshold = median(peakMag)
        // Keep the pitches of peaks at or above the median magnitude (compacted in place).
        var kept = 0
        for i in 0..<peakPitch.count where peakMag[i] >= threshold {
            peakPitch[kept] = peakPitch[i]
            kept += 1
        }
        peakPitch.removeLast(peakPitch.count - kept)
        return Spectral.pitchTuning(peakPitch, resolution: 0.01, binsPerOctave: config.nChroma)
    }

    /// numpy.median of float32 values (mean of the middle two computed in float32).
    private func median(_ v: [Float]) -> Float {
        selectScratch.removeAll(keepingCapacity: true)
        selectScratch.append(contentsOf: v)
        let n = selectScratch.count
        return selectScratch.withUnsafeMutableBufferPointer { b -> Float in
            let hiVal = quickSelect(b, n / 2)
            if n % 2 == 1 { return hiVal }
            // After selection, everything left of n/2 is <= it: the lower middle is their maximum.
            var loVal = -Float.infinity
            for i in 0..<(n / 2) { loVal = Swift.max(loVal, b[i]) }
            return (loVal + hiVal) / 2
        }
    }
}

@available(*, unavailable, message: "FeatureExtractor reuses buffers: use one per thread")
extension FeatureExtractor: Sendable {}

/// `numpy.abs` of a complex64 value as numpy 2's SIMD loop computes it (not libm's `hypotf`):
/// `larger * sqrt(fma(r, r, 1))` with `r = smaller / larger`. Matching it bit for bit keeps the
/// peak picking of `estimate_tuning` identical to librosa's on flat spectra.
@inline(__always)
func numpyComplexAbs(_ re: Float, _ im: Float) -> Float {
    // Branch-free so the loop vectorises; inputs are finite (numpy's inf/nan special cases are
    // not needed), and larger == 0 gives r = 0 as numpy's masked divide does.
    let a = abs(re), b = abs(im)
    let larger = Swift.max(a, b), smaller = Swift.min(a, b)
    let r = smaller / (larger > 0 ? larger : 1)
    return Float(1).addingProduct(r, r).squareRoot() * larger
}

/// Adjacent rows of a banded filterbank and the columns where any of them is non-zero.
struct MelBandGroup {
    /// Filterbank rows of the group.
    let rows: Range<Int>
    /// Columns holding all of the group's non-zero weights (empty if there are none).
    let columns: Range<Int>

    /// Groups of `size` rows of a row-major `[rows, columns]` matrix.
    static func groups(of w: [Float], rows: Int, columns: Int, size: Int = 16) -> [MelBandGroup] {
        stride(from: 0, to: rows, by: size).map { r0 in
            let r = r0..<Swift.min(rows, r0 + size)
            var lo = columns, hi = 0
            for i in r {
                for j in 0..<columns where w[i * columns + j] != 0 {
                    lo = Swift.min(lo, j)
                    hi = Swift.max(hi, j + 1)
                }
            }
            return MelBandGroup(rows: r, columns: lo < hi ? lo..<hi : 0..<0)
        }
    }
}

/// Writes the transpose of a row-major `[rows, columns]` matrix into `dst` (`[columns, rows]`).
func transpose(_ src: UnsafePointer<Float>, rows: Int, columns: Int, into dst: UnsafeMutablePointer<Float>) {
    let block = 32
    for r0 in stride(from: 0, to: rows, by: block) {
        let r1 = Swift.min(rows, r0 + block)
        for c0 in stride(from: 0, to: columns, by: block) {
            let c1 = Swift.min(columns, c0 + block)
            for r in r0..<r1 {
                for c in c0..<c1 { dst[c * rows + r] = src[r * columns + c] }
            }
        }
    }
}

/// Largest of `count` floats (no NaNs expected), with four independent running maxima.
@inline(__always)
func maxElement(_ p: UnsafePointer<Float>, count: Int) -> Float {
    var m0 = -Float.infinity, m1 = m0, m2 = m0, m3 = m0
    var i = 0
    while i + 4 <= count {
        m0 = p[i] > m0 ? p[i] : m0
        m1 = p[i + 1] > m1 ? p[i + 1] : m1
        m2 = p[i + 2] > m2 ? p[i + 2] : m2
        m3 = p[i + 3] > m3 ? p[i + 3] : m3
        i += 4
    }
    while i < count { m0 = p[i] > m0 ? p[i] : m0; i += 1 }
    return Swift.max(Swift.max(m0, m1), Swift.max(m2, m3))
}

/// Whether any of the eight floats at `p` is above `ref`: a tree of maxima and one comparison,
/// with no branch per value (no NaNs expected).
@inline(__always)
func anyAbove(_ p: UnsafePointer<Float>, _ ref: Float) -> Bool {
    let a = Swift.max(Swift.max(p[0], p[1]), Swift.max(p[2], p[3]))
    let b = Swift.max(Swift.max(p[4], p[5]), Swift.max(p[6], p[7]))
    return Swift.max(a, b) > ref
}

/// Hoare-style quickselect: puts the k-th smallest at index k (smaller left, larger right) and returns it.
func quickSelect(_ a: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
    var lo = 0, hi = a.count - 1
    while lo < hi {
        let pivot = a[(lo + hi) / 2]
        var i = lo, j = hi
        while i <= j {
            while a[i] < pivot { i += 1 }
            while a[j] > pivot { j -= 1 }
            if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
        }
        if k <= j { hi = j } else if k >= i { lo = i } else { break }
    }
    return a[k]
}

/// A growable raw float buffer (no initialisation cost, no copy-on-write checks), for the scratch
/// memory of the feature extractors and the encoder. Not thread-safe: one owner at a time.
public final class Scratch {
    public private(set) var p: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    public private(set) var capacity = 1

    public init() {}

    deinit { p.deallocate() }

    /// Ensures room for `n` floats (contents are not preserved when growing).
    public func reserve(_ n: Int) {
        guard n > capacity else { return }
        p.deallocate()
        capacity = Swift.max(n, capacity * 3 / 2)
        p = .allocate(capacity: capacity)
    }
}
