// Audio input: decoding (libsndfile), mono mix-down and resampling (soxr HQ).
// Placeholder until the audio module lands.
import SERCore

/// Namespace for audio input.
public enum Audio {}
