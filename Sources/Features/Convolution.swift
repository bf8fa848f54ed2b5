// Linear convolution by FFT (FFTW, double precision), for long filters such as room impulse
// responses, where a direct loop would cost n·m multiply-adds.

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
