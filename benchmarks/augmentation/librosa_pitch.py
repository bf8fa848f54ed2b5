"""Writes Tests/Fixtures/librosa/pitch_shift_22050.safetensors: librosa 0.11's time_stretch and
pitch_shift of a synthetic voiced signal, the reference for PhaseVocoderTests.

    benchmarks/.venv/bin/python benchmarks/augmentation/librosa_pitch.py
"""
import os

import librosa
import numpy as np
from safetensors.numpy import save_file

SR = 22050
n = 16384
t = np.arange(n) / SR
f0 = 180 + 15 * np.sin(2 * np.pi * 3 * t)                      # vibrato
phase = 2 * np.pi * np.cumsum(f0) / SR
y = sum(np.sin(k * phase) / k for k in range(1, 12)) * np.hanning(n) ** 0.25
y += 0.01 * np.random.default_rng(0).standard_normal(n)
y = (0.3 * y / np.abs(y).max()).astype(np.float32)

out = {"signal": y}
for rate in (0.8, 1.25):
    out[f"stretch_{rate}"] = librosa.effects.time_stretch(y, rate=rate).astype(np.float32)
for steps in (2.0, -1.5):
    out[f"pitch_{steps}"] = librosa.effects.pitch_shift(y, sr=SR, n_steps=steps).astype(np.float32)

path = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "librosa", "pitch_shift_22050.safetensors")
save_file(out, path, metadata={"sr": str(SR), "n_fft": "2048", "librosa_version": librosa.__version__,
                               "source": "benchmarks/augmentation/librosa_pitch.py"})
print({k: v.shape for k, v in out.items()})
