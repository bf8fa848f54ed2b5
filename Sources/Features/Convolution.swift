// Linear convolution by FFT (FFTW, double precision), for long filters such as room impulse
// responses, where a direct loop would cost n·m multiply-adds; pink noise shaped by FFT.
import SERCore

/// Full linear convolution of two signals through one forward FFT of each and one inverse FFT.
public enum FFTConvolution {
    /// `x * h`, all `x.count + h.count - 1` samples (`y[n] = Σ_k x[k] h[n - k]`), computed in double
    /// precision on a power-of-two FFT size at least that long. Either input empty: empty.
    public static func convolve(_ x: [Float], _ h: [Float]) -> [Float] {
        guard !x.isEmpty, !h.isEmpty else { return [] }
        let count = x.count + h.count - 1
        var size = 2
        while size < count { size *= 2 }
        let fx = RealFFT(size: size), fh = RealFFT(size: size)
        let inverse = InverseRealFFT(size: size)
        // fx.input, fh.input: [size] zero-padded signals; outputs: [size/2+1] (re, im) pairs.
        for i in 0..<size { fx.input[i] = i < x.count ? Double(x[i]) : 0 }
        for i in 0..<size { fh.input[i] = i < h.count ? Double(h[i]) : 0 }
        fx.execute(); fh.execute()
        for k in 0..<fx.bins {
            let ar = fx.output[2 * k], ai = fx.output[2 * k + 1]
            let br = fh.output[2 * k], bi = fh.output[2 * k + 1]
            inverse.input[2 * k] = ar * br - ai * bi
            inverse.input[2 * k + 1] = ar * bi + ai * br
        }
        inverse.execute()                                            // scaled by 1/size: the true convolution
        return (0..<count).map { Float(inverse.output[$0]) }
    }
}

/// Coloured noise for augmentation.
public enum ColouredNoise {
    /// `count` samples of pink noise (power spectral density ∝ 1/f, so equal power in every
    /// octave, as the long-term spectrum of speech babble and of many rooms' background falls):
    /// white Gaussian noise from `rng`, transformed on a power-of-two FFT at least `count` long,
    /// each bin k ≥ 1 scaled by `1/√k` and the DC bin removed, transformed back, cut to `count`
    /// and scaled to unit RMS. Deterministic given the generator's state.
    public static func pink(count: Int, rng: inout SeededRandom) -> [Float] {
        guard count > 0 else { return [] }
        var size = 2
        while size < count { size *= 2 }
        let forward = RealFFT(size: size), inverse = InverseRealFFT(size: size)
        for i in 0..<size { forward.input[i] = Double(rng.nextNormal()) }   // [size] white noise
        forward.execute()
        inverse.input[0] = 0; inverse.input[1] = 0                   // no DC
        for k in 1..<forward.bins {
            let s = 1 / Double(k).squareRoot()
            inverse.input[2 * k] = forward.output[2 * k] * s
            inverse.input[2 * k + 1] = forward.output[2 * k + 1] * s
        }
        inverse.execute()
        var energy = 0.0
        for i in 0..<count { energy += inverse.output[i] * inverse.output[i] }
        let scale = energy > 0 ? (Double(count) / energy).squareRoot() : 0
        return (0..<count).map { Float(inverse.output[$0] * scale) }
    }
}
