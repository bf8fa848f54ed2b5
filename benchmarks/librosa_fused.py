"""The librosa side of the feature benchmark: the same fused features as `ser features`, one thread.

Usage: python librosa_fused.py OUT_DIR FILE...   (prints clips/s on the last line)
"""
import os
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[v] = "1"
import sys, time
import numpy as np
import librosa
from safetensors.numpy import save_file

def fused(path, sr=22050, n_fft=2048, hop=512, n_mels=128, n_mfcc=40):
    y, _ = librosa.load(path, sr=sr)                                      # decode, mono, soxr_hq
    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)) ** 2
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=S, sr=sr, n_mels=n_mels), ref=1.0, top_db=80)
    chroma = librosa.feature.chroma_stft(S=S, sr=sr)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=n_mfcc)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop)
    return np.concatenate([mel_db, chroma, mfcc, zcr]).astype(np.float32)

out, files = sys.argv[1], sys.argv[2:]
os.makedirs(out, exist_ok=True)
fused(files[0])  # warm-up (imports, caches) outside the timing, as the Swift side has no JIT
t0, c0 = time.perf_counter(), time.process_time()
for i, f in enumerate(files):
    save_file({"features": fused(f)}, os.path.join(out, f"{i}.safetensors"))
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
print(f"librosa cpu: {cpu:.3f} s")
print(f"librosa: {len(files)} clips in {dt:.2f} s = {len(files) / dt:.1f} clips/s")
