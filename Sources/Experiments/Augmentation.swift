import SERCore

/// SpecAugment-style masking of standardised feature matrices, for training data only.
///
/// Each call zeroes (= sets to the channel mean, since inputs are standardised) `timeMasks` random
/// spans of up to `maxTimeFraction` of the frames and `channelMasks` random bands of up to
/// `maxChannels` channels. Validation and test data are never augmented.
public struct FeatureMasking: Codable, Sendable, Equatable {
    /// Number of time masks per clip.
    public var timeMasks: Int = 2
    /// Longest time mask as a fraction of the clip's frames.
    public var maxTimeFraction: Float = 0.125
    /// Number of channel masks per clip.
    public var channelMasks: Int = 2
    /// Widest channel mask.
    public var maxChannels: Int = 20

    /// The defaults (2 + 2 masks, up to 1/8 of the frames and 20 channels), chosen on validation data.
    public init() {}

    /// No masking.
    public static let none: FeatureMasking = {
        var m = FeatureMasking(); m.timeMasks = 0; m.channelMasks = 0; return m
    }()

    /// Masks a `[C, T]` matrix in place.
    public func apply(_ x: inout Tensor, rng: inout SeededRandom) {
        let c = x.shape[0], t = x.shape[1]
        guard c > 0, t > 0 else { return }
        for _ in 0..<timeMasks {
            let w = Int(rng.next() % UInt64(max(1, Int(Float(t) * maxTimeFraction))))
            let t0 = Int(rng.next() % UInt64(max(1, t - w)))
            for ch in 0..<c { for j in t0..<min(t, t0 + w) { x.data[ch * t + j] = 0 } }
        }
        for _ in 0..<channelMasks {
            let w = Int(rng.next() % UInt64(max(1, maxChannels)))
            let c0 = Int(rng.next() % UInt64(max(1, c - w)))
            for ch in c0..<min(c, c0 + w) { for j in 0..<t { x.data[ch * t + j] = 0 } }
        }
    }
}
