// The ranges the decoder accepts, checked against each file's header before anything is allocated.

/// What ``AudioDecoder`` accepts from a file. A header outside these ranges is refused with
/// ``AudioError/outOfRange(path:field:value:allowed:)`` before any buffer is sized from it, so a
/// damaged or hostile header (an 8 Hz or 1 Hz rate, 1 bit per sample, thousands of channels)
/// cannot make decoding allocate for a length the file does not hold.
public enum AudioLimits {
    /// Sample rates of files and of the requested output, in Hz: 1 kHz (below any speech band)
    /// to 384 kHz (the highest common studio rate).
    public static let sampleRates: ClosedRange<Int> = 1_000...384_000
    /// Channels per frame.
    public static let channels: ClosedRange<Int> = 1...64
    /// Bits per sample of integer PCM in WAV (stored in whole bytes: `block align` must equal
    /// channels × ⌈bits / 8⌉).
    public static let pcmBits: ClosedRange<Int> = 8...32
    /// Bits per sample of IEEE float WAV.
    public static let floatBits: Set<Int> = [32, 64]
    /// Largest accepted magnitude of a decoded sample: 2^24 (about 144 dB above full scale).
    /// Integer encodings decode to [-1, 1); float files normally stay near that range, and
    /// files that store integer values as floats (up to ±2^23) are still accepted. Anything
    /// larger is damage, and would overflow the power spectrum (|x|² in Float) into infinities
    /// and NaN features, so it is refused rather than clipped.
    public static let maxSampleMagnitude: Float = 16_777_216

    /// Most frames per channel one byte of a compressed file can declare (libsndfile's formats;
    /// WAV and FLAC read directly are exact). Silent FLAC frames reach a few thousand frames per
    /// byte, lossy codecs under a hundred; a header declaring more than this times the file's size
    /// is damaged, and is refused before its length is used for anything.
    public static let maxFramesPerByte: Int64 = 8192

    /// "1000…384000 Hz" style text for a range.
    static func text(_ r: ClosedRange<Int>, unit: String = "") -> String {
        "\(r.lowerBound)…\(r.upperBound)" + (unit.isEmpty ? "" : " \(unit)")
    }
}
