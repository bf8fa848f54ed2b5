import Foundation
import SERCore

/// Whisper's log-mel front end (OpenAI `whisper.audio.log_mel_spectrogram`), on a clip's own length.
///
/// 16 kHz mono in; `nFFT` 400 (25 ms), hop 160 (10 ms), periodic Hann, a centred STFT with
/// **reflect** padding of `nFFT / 2` on both sides whose last frame is dropped, so a clip of `n`
/// samples gives `n / 160` frames. Power `|X|²` through the Slaney mel filterbank
/// (`librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)`, Slaney area normalisation), then
///
///     L = log10(max(mel, 1e-10));  L = max(L, max(L) - 8);  L = (L + 4) / 4
///
/// with `max(L)` over the whole clip. Whisper itself pads the audio to 30 s before this step in
/// `transcribe`; here nothing is padded, so the clamp's maximum and the last frames see only the clip
/// (the encoder accepts any length up to 30 s).
///
/// The FFT runs in double precision (as the rest of the project's STFTs) and is rounded to float32;
/// the mel product is a float32 `BLAS.gemm`.
///
/// Not thread-safe (it owns its FFT buffers and scratch): one per thread. The FFTW plan is shared.
///
/// ```swift
/// let fe = WhisperLogMel()
/// let x = try fe.compute(samples)   // [samples.count / 160, 80], time-major
/// ```
public final class WhisperLogMel {
    /// Sample rate the front end expects.
    public static let sampleRate = 16_000
    /// FFT size (samples).
    public static let nFFT = 400
    /// Hop between frames (samples).
    public static let hopLength = 160

    /// Number of mel bands (80, or 128 for large-v3).
    public let nMels: Int
    /// STFT bins, `nFFT / 2 + 1` = 201.
    public let bins = WhisperLogMel.nFFT / 2 + 1

    private let window: [Double]      // [nFFT] periodic Hann (float64, as scipy computes it)
    private let melBasis: [Float]     // [nMels, bins] Slaney mel filterbank
    private let fft: RealFFT
    private let padded = Scratch()    // [n + nFFT] reflect-padded signal
    private let power = Scratch()     // [frames, bins] |STFT|^2, time-major

    /// A front end with `nMels` Slaney mel bands.
    public init(nMels: Int = 80) {
        precondition(nMels > 0, "WhisperLogMel: nMels must be positive")
        self.nMels = nMels
        window = Filterbank.hannDouble(Self.nFFT)
        melBasis = Filterbank.mel(sampleRate: Self.sampleRate, nFFT: Self.nFFT, nMels: nMels)
        fft = RealFFT(size: Self.nFFT)
    }

    /// Frames of a clip of `samples` samples: `samples / 160` (the STFT's last frame dropped).
    public static func frames(samples: Int) -> Int { samples / hopLength }

    /// Shortest clip accepted: reflect padding needs more than `nFFT / 2` samples, and at least one frame.
    public static let minimumSamples = nFFT / 2 + 1

    /// The normalised log-mel spectrogram of `samples` (16 kHz mono), `[samples.count / 160, nMels]`
    /// time-major. Returns nil when the clip is shorter than ``minimumSamples``.
    public func compute(_ samples: [Float]) -> Tensor? {
        let t = Self.frames(samples: samples.count)
        guard samples.count >= Self.minimumSamples, t > 0 else { return nil }
        var out = Tensor(shape: [t, nMels])
        out.data.withUnsafeMutableBufferPointer { o in
            samples.withUnsafeBufferPointer { compute($0, into: o.baseAddress!) }
        }
        return out
    }

    /// `compute` into `out` (`frames(samples: x.count) * nMels` floats), `x.count >= minimumSamples`.
    public func compute(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let n = x.count, nFFT = Self.nFFT, hop = Self.hopLength, half = nFFT / 2
        precondition(n >= Self.minimumSamples, "WhisperLogMel: \(n) samples is shorter than \(Self.minimumSamples)")
        let t = Self.frames(samples: n)

        // Reflect padding (numpy/torch 'reflect': the edge sample is not repeated).
        padded.reserve(n + nFFT)
        let xp = padded.p                                   // [n + nFFT]
        (xp + half).update(from: x.baseAddress!, count: n)
        for i in 0..<half {
            xp[half - 1 - i] = x[i + 1]                     // x[1], x[2], ... mirrored before x[0]
            xp[half + n + i] = x[n - 2 - i]                 // x[n-2], x[n-3], ... after x[n-1]
        }

        // Power spectrum of each frame, [t, bins].
        power.reserve(t * bins)
        let pw = power.p
        let frame = UnsafeBufferPointer(start: xp, count: n + nFFT)
        window.withUnsafeBufferPointer { w in
            for f in 0..<t {
                fft.transformFrame(frame, start: f * hop, window: w.baseAddress!)
                let dst = pw + f * bins
                for k in 0..<bins {
                    let re = Float(fft.output[2 * k]), im = Float(fft.output[2 * k + 1])
                    dst[k] = re * re + im * im
                }
            }
        }

        // mel [t, nMels] = power [t, bins] · melBasisᵀ [bins, nMels]
        melBasis.withUnsafeBufferPointer { m in
            BLAS.gemm(transB: true, m: t, n: nMels, k: bins, a: pw, lda: bins, b: m.baseAddress!, ldb: bins,
                      c: out, ldc: nMels)
        }

        // log10, clamp at max - 8, (x + 4) / 4.
        let count = t * nMels
        var top = -Float.infinity
        for i in 0..<count {
            let v = log10f(Swift.max(out[i], 1e-10))
            out[i] = v
            top = Swift.max(top, v)
        }
        let floor = top - 8
        for i in 0..<count { out[i] = (Swift.max(out[i], floor) + 4) / 4 }
    }
}
