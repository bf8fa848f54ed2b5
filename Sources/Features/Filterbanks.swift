import Foundation

/// Fixed matrices of the FF layer, computed in `Double` exactly as librosa 0.11 computes them and
/// rounded to `Float` at the end (all row-major).
public enum Filterbank {
    /// Periodic Hann window of length `n` (`scipy.signal.get_window('hann', n, fftbins=True)`).
    public static func hann(_ n: Int) -> [Float] { hannDouble(n).map(Float.init) }

    /// The periodic Hann window in double precision, as scipy computes it.
    public static func hannDouble(_ n: Int) -> [Double] {
        guard n > 1 else { return [Double](repeating: 1, count: max(n, 0)) }
        // scipy (general_cosine) evaluates a symmetric window of n + 1 points on
        // linspace(-pi, pi, n + 1) and drops the last one.
        let fac = linspace(-Double.pi, Double.pi, n + 1)
        return (0..<n).map { i in 0.5 + 0.5 * cos(fac[i]) }
    }

    /// Centre frequencies (Hz) of the `nFFT / 2 + 1` STFT bins (`numpy.fft.rfftfreq(nFFT, 1/sr)`).
    public static func fftFrequencies(sampleRate: Int, nFFT: Int) -> [Double] {
        let val = 1.0 / (Double(nFFT) * (1.0 / Double(sampleRate)))
        return (0...(nFFT / 2)).map { Double($0) * val }
    }

    // MARK: Slaney mel scale (librosa.hz_to_mel / mel_to_hz with htk=False)

    private static let fSp = 200.0 / 3
    private static let minLogHz = 1000.0
    private static let minLogMel = (1000.0 - 0.0) / (200.0 / 3)
    private static let logStep = log(6.4) / 27.0

    /// Hz to Slaney mel (librosa `hz_to_mel(f, htk=False)`).
    public static func hzToMel(_ f: Double) -> Double {
        f >= minLogHz ? minLogMel + log(f / minLogHz) / logStep : (f - 0.0) / fSp
    }

    /// Slaney mel to Hz (librosa `mel_to_hz(m, htk=False)`).
    public static func melToHz(_ m: Double) -> Double {
        m >= minLogMel ? minLogHz * exp(logStep * (m - minLogMel)) : 0.0 + fSp * m
    }

    /// `n` frequencies evenly spaced on the mel scale from `fmin` to `fmax` (librosa `mel_frequencies`).
    public static func melFrequencies(_ n: Int, fmin: Double, fmax: Double) -> [Double] {
        let lo = hzToMel(fmin), hi = hzToMel(fmax)
        return linspace(lo, hi, n).map(melToHz)
    }

    /// Slaney mel filterbank with Slaney area normalisation, `[nMels, nFFT/2 + 1]`
    /// (librosa `filters.mel(sr=, n_fft=, n_mels=, fmin=, fmax=, htk=False, norm='slaney')`).
    public static func mel(sampleRate: Int, nFFT: Int, nMels: Int, fmin: Double = 0, fmax: Double? = nil) -> [Float] {
        let fmax = fmax ?? Double(sampleRate) / 2
        let nf = nFFT / 2 + 1
        let fftFreqs = fftFrequencies(sampleRate: sampleRate, nFFT: nFFT)
        let melF = melFrequencies(nMels + 2, fmin: fmin, fmax: fmax)
        var w = [Float](repeating: 0, count: nMels * nf)
        for i in 0..<nMels {
            let d0 = melF[i + 1] - melF[i], d1 = melF[i + 2] - melF[i + 1]
            let enorm = 2.0 / (melF[i + 2] - melF[i])
            for j in 0..<nf {
                let lower = -(melF[i] - fftFreqs[j]) / d0
                let upper = (melF[i + 2] - fftFreqs[j]) / d1
                // librosa stores the triangle in float32, then scales it in float64 and rounds again.
                let tri = Float(Swift.max(0, Swift.min(lower, upper)))
                w[i * nf + j] = Float(Double(tri) * enorm)
            }
        }
        return w
    }

    /// Chroma filterbank `[nChroma, nFFT/2 + 1]` (librosa `filters.chroma(sr=, n_fft=, n_chroma=,
    /// tuning=, ctroct=5, octwidth=2, norm=2, base_c=True)`).
    public static func chroma(sampleRate: Int, nFFT: Int, nChroma: Int = 12, tuning: Double = 0,
                              ctroct: Double = 5.0, octwidth: Double = 2) -> [Float] {
        let nc = Double(nChroma)
        let step = Double(sampleRate) / Double(nFFT)
        let a440 = 440.0 * pow(2.0, tuning / nc)
        let nOut = nFFT / 2 + 1
        // librosa computes frqbins over all nFFT bins and keeps the first nOut columns: only the
        // bins up to nOut (the last kept bin's width needs its neighbour) change the result.
        // Bin 0 is made up as 1.5 octaves below bin 1; the last of the nFFT bins has width 1.
        let used = Swift.min(nFFT, nOut + 1)
        var frqbins = [Double](repeating: 0, count: used)
        for j in 1..<used {
            frqbins[j] = nc * log2(Double(j) * step / (a440 / 16))
        }
        frqbins[0] = frqbins[1] - 1.5 * nc
        var binwidth = [Double](repeating: 1, count: nOut)
        for j in 0..<Swift.min(nOut, nFFT - 1) { binwidth[j] = Swift.max(frqbins[j + 1] - frqbins[j], 1.0) }
        let half = (nc / 2).rounded(.toNearestOrEven)
        var out = [Float](repeating: 0, count: nChroma * nOut)
        var column = [Double](repeating: 0, count: nChroma)
        for j in 0..<nOut {
            var sq = 0.0
            for c in 0..<nChroma {
                let d = remainderNonNegative(frqbins[j] - Double(c) + half + 10 * nc, nc) - half
                let x = 2 * d / binwidth[j]
                let v = exp(-0.5 * (x * x))
                column[c] = v
                sq += v * v
            }
            var norm = sq.squareRoot()
            if norm < Double.leastNormalMagnitude { norm = 1 }
            let z = (frqbins[j] / nc - ctroct) / octwidth
            let octWeight = exp(-0.5 * (z * z))
            for c in 0..<nChroma {
                // base_c: roll by -3 * (nChroma / 12) rows.
                let shift = 3 * (nChroma / 12)
                let row = ((c - shift) % nChroma + nChroma) % nChroma
                out[row * nOut + j] = Float(column[c] / norm * octWeight)
            }
        }
        return out
    }

    /// Orthonormal DCT-II matrix, first `count` rows of the `n`-point transform, `[count, n]`
    /// (what `scipy.fft.dct(x, type=2, norm='ortho')` applies).
    public static func dct(count: Int, n: Int) -> [Float] {
        var m = [Float](repeating: 0, count: count * n)
        let s0 = (1.0 / Double(n)).squareRoot(), s = (2.0 / Double(n)).squareRoot()
        for k in 0..<count {
            for i in 0..<n {
                let v = cos(Double.pi * Double(k) * Double(2 * i + 1) / Double(2 * n))
                m[k * n + i] = Float(v * (k == 0 ? s0 : s))
            }
        }
        return m
    }

    /// `numpy.linspace(a, b, n)` (endpoint included), with numpy's rounding.
    static func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Double] {
        guard n > 1 else { return n == 1 ? [a] : [] }
        let step = (b - a) / Double(n - 1)
        var y = (0..<n).map { Double($0) * step + a }
        y[n - 1] = b
        return y
    }

    /// `pyRemainder(a, b)` for an integer-valued `b > 0`, without libm's `fmod` (which dominated
    /// the chroma filterbank) when `0 <= a < 2^52`: `a - b * floor(a / b)`, corrected by one `b`
    /// where the quotient rounded to the next integer. Every step is exact there (the result is a
    /// multiple of ulp(a) no larger than `a`), so the value equals `fmod`'s bit for bit.
    @inline(__always)
    static func remainderNonNegative(_ a: Double, _ b: Double) -> Double {
        guard a >= 0, a < 4_503_599_627_370_496 else { return pyRemainder(a, b) }
        var t = a - b * (a / b).rounded(.down)
        if t < 0 { t += b } else if t >= b { t -= b }
        return t
    }

    /// Python's `%` / `numpy.remainder` for doubles (result has the sign of `b`).
    static func pyRemainder(_ a: Double, _ b: Double) -> Double {
        var m = fmod(a, b)
        if m != 0, (b < 0) != (m < 0) { m += b }
        return m
    }
}
