import Foundation
import SERAudio
import SERFeatures

/// Time stretching and pitch shifting by phase vocoder, as `librosa.effects.time_stretch` and
/// `librosa.effects.pitch_shift` (0.11) compute them:
///
/// ```
/// time_stretch(y, rate) = istft(phase_vocoder(stft(y), rate), length = round(len(y) / rate))
/// pitch_shift(y, sr, n) = fix_length(resample(time_stretch(y, r), sr / r -> sr), len(y)),  r = 2^(-n/12)
/// ```
///
/// with a centred, zero-padded Hann STFT (`nFFT` 2048, hop `nFFT / 4`), spectra and phases
/// rounded to single precision where librosa rounds them; results agree with librosa to a small
/// fraction of the signal's peak (see `PhaseVocoderTests`), not bit for bit.
public enum PhaseVocoder {
    /// `y` played `rate` times as fast without changing its pitch: `round(n / rate)` samples.
    ///
    /// - Precondition: `rate > 0` and finite, `nFFT` even and positive.
    public static func timeStretch(_ y: [Float], rate: Double, nFFT: Int = 2048) -> [Float] {
        precondition(rate > 0 && rate.isFinite && nFFT > 0 && nFFT % 2 == 0)
        let hop = nFFT / 4, bins = nFFT / 2 + 1
        let length = Int((Double(y.count) / rate).rounded(.toNearestOrEven))
        guard !y.isEmpty, length > 0 else { return [Float](repeating: 0, count: max(0, length)) }
        // Periodic Hann as 0.5 - 0.5 cos(2 pi n / N); Filterbank.hannDouble (scipy's formula) differs
        // in the last bits, and the published pitch-shift runs were made with this one.
        let window = (0..<nFFT).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(nFFT)) }

        // STFT, centred with zero padding, as librosa's complex64 values; kept as magnitude
        // (`hypotf`) and phase (`np.angle`) per (frame, bin), each computed once.
        let frames = 1 + y.count / hop
        var mag = [Float](repeating: 0, count: (frames + 2) * bins)   // + 2 zero columns, as librosa pads
        var ang = mag
        let fft = RealFFT(size: nFFT)
        y.withUnsafeBufferPointer { x in
            for f in 0..<frames {
                fft.transformFrame(x, start: f * hop - nFFT / 2, window: window)
                for k in 0..<bins {
                    let re = Float(fft.output[2 * k]), im = Float(fft.output[2 * k + 1])
                    mag[f * bins + k] = hypotf(re, im); ang[f * bins + k] = atan2f(im, re)
                }
            }
        }

        // Phase vocoder: magnitudes interpolated between neighbouring frames, phases advanced
        // by each bin's measured instantaneous frequency. The accumulated phase is float32, as
        // in librosa; it grows to ~1e5 rad in the top bins, so its rounding is librosa's too.
        let steps = Int((Double(frames) / rate).rounded(.up))            // len(np.arange(0, frames, rate))
        let phiAdvance = (0..<bins).map { Double(hop) * 2 * Double.pi * Double($0) / Double(nFFT) }
        var phase = Array(ang[0..<bins])
        // Only the frames the inverse STFT uses: ceil((length + 2 (nFFT/2)) / hop).
        let outFrames = min(steps, Int((Double(length + 2 * (nFFT / 2)) / Double(hop)).rounded(.up)))
        var outRe = [Double](repeating: 0, count: outFrames * bins), outIm = outRe
        for t in 0..<steps {
            let step = Double(t) * rate
            let c0 = Int(step), c1 = c0 + 1, alpha = step - step.rounded(.down)
            for k in 0..<bins {
                let a = c0 * bins + k, b = c1 * bins + k
                if t < outFrames {
                    let m = (1 - alpha) * Double(mag[a]) + alpha * Double(mag[b])
                    outRe[t * bins + k] = Double(Float(m * Double(cosf(phase[k]))))
                    outIm[t * bins + k] = Double(Float(m * Double(sinf(phase[k]))))
                }
                var dphase = Double(ang[b]) - Double(ang[a]) - phiAdvance[k]
                dphase -= 2 * Double.pi * (dphase / (2 * Double.pi)).rounded(.toNearestOrEven)
                phase[k] = Float(Double(phase[k]) + (phiAdvance[k] + dphase))
            }
        }

        // Inverse STFT: windowed overlap-add, divided by the summed squared window.
        let total = nFFT + hop * (outFrames - 1)
        var sum = [Double](repeating: 0, count: total), norm = sum
        let ifft = InverseRealFFT(size: nFFT)
        for f in 0..<outFrames {
            for k in 0..<bins { ifft.input[2 * k] = outRe[f * bins + k]; ifft.input[2 * k + 1] = outIm[f * bins + k] }
            ifft.execute()
            for i in 0..<nFFT {
                sum[f * hop + i] += ifft.output[i] * window[i]
                norm[f * hop + i] += window[i] * window[i]
            }
        }
        var out = [Float](repeating: 0, count: length)
        let tiny = Double(Float.leastNormalMagnitude)
        for i in 0..<length {
            let j = i + nFFT / 2
            guard j < total else { break }
            out[i] = Float(norm[j] > tiny ? sum[j] / norm[j] : sum[j])
        }
        return out
    }

    /// `y` (`sampleRate` Hz) shifted by `semitones` (positive: higher) without changing its
    /// duration: the same length as `y`.
    ///
    /// - Throws: `AudioError.resampling` if the converter cannot be made.
    public static func pitchShift(_ y: [Float], sampleRate: Int, semitones: Double, nFFT: Int = 2048) throws -> [Float] {
        let rate = pow(2, -semitones / 12)
        let stretched = timeStretch(y, rate: rate, nFFT: nFFT)
        var out = try Resampler.resample(stretched, rate: Double(sampleRate) / rate, to: Double(sampleRate))
        if out.count > y.count { out.removeLast(out.count - y.count) }
        if out.count < y.count { out.append(contentsOf: repeatElement(0, count: y.count - out.count)) }
        return out
    }
}
