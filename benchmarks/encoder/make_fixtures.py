"""Writes Tests/Fixtures/whisper/logmel.safetensors: Whisper's log-mel front end (numpy/librosa, the
reference in parity.py) of
  - `tone_a440_16000`: the signal of Tests/Fixtures/librosa/tone_a440_16000.safetensors (1.5 s);
  - `ravdess_16000`: the signal of ../shared/reference/librosa/ravdess_Actor_12_..._16000.safetensors
    (only its log-mel is stored; the test skips without ../shared);
  - `chirp_short`: a 3,201-sample chirp plus noise (stored with its signal), short enough that the
    reflect padding reaches far into the clip.
Tensors: NAME.logmel [T, 80] (time-major, as WhisperLogMel returns it), chirp_short.signal [3201].

    benchmarks/.venv/bin/python benchmarks/encoder/make_fixtures.py
"""
import os
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity import log_mel  # noqa: E402

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
out = {}
tone = load_file(os.path.join(root, "Tests/Fixtures/librosa/tone_a440_16000.safetensors"))["signal"]
out["tone_a440_16000.logmel"] = np.ascontiguousarray(log_mel(tone).T)
rav = load_file(os.path.join(root, "..", "shared", "reference", "librosa",
                             "ravdess_Actor_12_03-01-03-02-02-01-12_16000.safetensors"))["signal"]
out["ravdess_16000.logmel"] = np.ascontiguousarray(log_mel(rav).T)
rng = np.random.default_rng(11)
n = 3201
t = np.arange(n) / 16000.0
chirp = (0.5 * np.sin(2 * np.pi * (200 * t + 3000 * t * t)) + 0.05 * rng.standard_normal(n)).astype(np.float32)
out["chirp_short.signal"] = chirp
out["chirp_short.logmel"] = np.ascontiguousarray(log_mel(chirp).T)
path = os.path.join(root, "Tests/Fixtures/whisper/logmel.safetensors")
os.makedirs(os.path.dirname(path), exist_ok=True)
save_file(out, path, metadata={"reference": "numpy/librosa 0.11 Whisper log-mel (benchmarks/encoder/parity.py log_mel)"})
print(path, {k: v.shape for k, v in out.items()})
