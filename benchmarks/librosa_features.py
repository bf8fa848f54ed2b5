#!/usr/bin/env python3
"""Single-thread timing of librosa 0.11 computing the FF layer's four features (reference for
the Swift FeatureExtractor). Run with one thread for every math library, e.g.

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \
    python benchmarks/librosa_features.py path/to/clip.flac [repeats]

Prints the median time of: load (decode + soxr-HQ resample to 22050 Hz, librosa.load),
features (STFT power, mel dB, chroma_stft with tuning, MFCC 40, ZCR) and both together.
"""
import statistics
import sys
import time

import librosa
import numpy as np


def features(y, sr):
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512)) ** 2
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=S, sr=sr, n_mels=128))
    chroma = librosa.feature.chroma_stft(S=S, sr=sr)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=40)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512)
    return np.concatenate([mel_db, chroma, mfcc, zcr], axis=0)


def timed(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    sr = 22050
    y, _ = librosa.load(path, sr=sr)
    features(y, sr)  # warm up numba caches and imports
    t_load, (y, _) = timed(lambda: librosa.load(path, sr=sr), repeats)
    t_feat, x = timed(lambda: features(y, sr), repeats)
    t_all, _ = timed(lambda: features(librosa.load(path, sr=sr)[0], sr), repeats)
    print(f"clip {path}: {len(y)} samples at {sr} Hz, features {x.shape}")
    print(f"librosa load (decode+resample): {t_load * 1e3:.2f} ms")
    print(f"librosa features:               {t_feat * 1e3:.2f} ms")
    print(f"librosa load + features:        {t_all * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
