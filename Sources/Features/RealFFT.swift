import CFFTW
import Foundation

/// Process-wide cache of FFTW real-to-complex plans, one per transform size.
///
/// The transforms run in double precision, like librosa's (it multiplies float32 frames by a
/// float64 window and calls scipy's double-precision FFT before storing complex64): the rounded
/// float32 spectrum then equals librosa's bit for bit in practice (with `numpyComplexAbs`). A float32 FFT differs in the
/// last bits, which is enough to change `estimate_tuning` on signals with flat spectra (a click
/// gave tuning -0.26 instead of librosa's 0.49).
///
/// FFTW's planner is not thread-safe, so plan creation is serialised by a lock. Plans are made
/// once per size (with `FFTW_ESTIMATE`, so the chosen algorithm and hence the output bits do not
/// depend on timing measurements) and live for the life of the process. Executing a plan with
/// `fftw_execute_dft_r2c` on other (equally aligned) arrays is thread-safe.
final class FFTWPlanCache: @unchecked Sendable {
    /// The cache shared by every `RealFFT`.
    static let shared = FFTWPlanCache()

    private let lock = NSLock()
    private struct Key: Hashable { var size: Int; var inverse: Bool }
    private var plans: [Key: OpaquePointer] = [:]

    /// The plan for a forward real transform of `n` points (created on first use).
    func plan(size n: Int) -> OpaquePointer { plan(Key(size: n, inverse: false)) }

    /// The plan for an inverse (complex-to-real, unnormalised) transform of `n` points.
    func inversePlan(size n: Int) -> OpaquePointer { plan(Key(size: n, inverse: true)) }

    private func plan(_ key: Key) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let p = plans[key] { return p }
        // Plan on scratch buffers from fftw_malloc: execution buffers come from it too, so the
        // alignment the plan assumes holds for them.
        let n = key.size
        let real = fftw_alloc_real(n)!
        let complex = fftw_alloc_complex(n / 2 + 1)!
        defer { fftw_free(real); fftw_free(complex) }
        let flags = UInt32(FFTW_ESTIMATE) | UInt32(FFTW_DESTROY_INPUT)
        let plan = key.inverse ? fftw_plan_dft_c2r_1d(Int32(n), complex, real, flags)
                               : fftw_plan_dft_r2c_1d(Int32(n), real, complex, flags)
        guard let plan else {
            preconditionFailure("FFTW could not plan a\(key.inverse ? "n inverse" : "") real transform of size \(n)")
        }
        plans[key] = plan
        return plan
    }
}

/// A forward real FFT of fixed size with its own aligned input/output buffers.
///
/// Not thread-safe (it owns mutable buffers): use one per thread. The underlying plan is shared.
package final class RealFFT {
    /// Transform size.
    package let size: Int
    /// Number of complex outputs, `size / 2 + 1`.
    package let bins: Int
    /// Input buffer (`size` doubles). Fill it, then call `execute()`; it may be overwritten.
    package let input: UnsafeMutablePointer<Double>
    /// Output buffer: `bins` interleaved (re, im) pairs.
    package let output: UnsafeMutablePointer<Double>
    private let complexOutput: UnsafeMutablePointer<fftw_complex>
    private let plan: OpaquePointer

    /// A transform of `size` points (even, > 0).
    package init(size: Int) {
        precondition(size > 0 && size % 2 == 0, "RealFFT: size \(size) must be even and positive")
        self.size = size
        self.bins = size / 2 + 1
        self.plan = FFTWPlanCache.shared.plan(size: size)
        self.input = fftw_alloc_real(size)!
        self.complexOutput = fftw_alloc_complex(size / 2 + 1)!
        self.output = UnsafeMutableRawPointer(complexOutput).assumingMemoryBound(to: Double.self)
        input.initialize(repeating: 0, count: size)
    }

    deinit {
        fftw_free(input)
        fftw_free(complexOutput)
    }

    /// Transforms `input` into `output`.
    package func execute() {
        fftw_execute_dft_r2c(plan, input, complexOutput)
    }

    /// Transforms the frame of `x` that starts at sample `start` (may be negative or run past the
    /// end: zeros there, as a centred STFT with zero padding), multiplied by `window` (`size`
    /// values), into `output`.
    package func transformFrame(_ x: UnsafeBufferPointer<Float>, start: Int, window: UnsafePointer<Double>) {
        let n = x.count
        let lo = Swift.max(0, -start), hi = Swift.min(size, n - start)
        if lo > 0 { input.update(repeating: 0, count: Swift.min(lo, size)) }
        if hi < size { (input + Swift.max(hi, 0)).update(repeating: 0, count: size - Swift.max(hi, 0)) }
        if lo < hi {
            let xs = x.baseAddress! + start
            for i in lo..<hi { input[i] = window[i] * Double(xs[i]) }
        }
        execute()
    }
}

/// An inverse real FFT of fixed size (`numpy.fft.irfft` with `n = size`, including its 1/n
/// scaling), with its own aligned buffers. Not thread-safe; the plan is shared.
package final class InverseRealFFT {
    /// Transform size.
    package let size: Int
    /// Number of complex inputs, `size / 2 + 1`.
    package let bins: Int
    /// Input buffer: `bins` interleaved (re, im) pairs. The imaginary parts of the first and
    /// last bin are ignored (set to 0), as numpy does. Overwritten by `execute()`.
    package let input: UnsafeMutablePointer<Double>
    /// Output buffer (`size` doubles), scaled by 1/size.
    package let output: UnsafeMutablePointer<Double>
    private let complexInput: UnsafeMutablePointer<fftw_complex>
    private let plan: OpaquePointer

    /// A transform of `size` points (even, > 0).
    package init(size: Int) {
        precondition(size > 0 && size % 2 == 0, "InverseRealFFT: size \(size) must be even and positive")
        self.size = size
        self.bins = size / 2 + 1
        self.plan = FFTWPlanCache.shared.inversePlan(size: size)
        self.complexInput = fftw_alloc_complex(size / 2 + 1)!
        self.input = UnsafeMutableRawPointer(complexInput).assumingMemoryBound(to: Double.self)
        self.output = fftw_alloc_real(size)!
        input.initialize(repeating: 0, count: 2 * bins)
    }

    deinit {
        fftw_free(complexInput)
        fftw_free(output)
    }

    /// Transforms `input` into `output`.
    package func execute() {
        input[1] = 0; input[2 * bins - 1] = 0
        fftw_execute_dft_c2r(plan, complexInput, output)
        let scale = 1 / Double(size)
        for i in 0..<size { output[i] *= scale }
    }
}
