"""CTranslate2 side of benchmarks/encoder/speed.sh: `Whisper.encode` (float32, log-mel in, last layer out)
on one clip, with the front end of parity.py (librosa, as OpenAI's whisper computes it, no 30 s padding).

    python speed.py CT2_DIR CLIPS.safetensors CLIP THREADS REPEATS

Prints one JSON line: median and minimum wall-clock time of REPEATS calls after 3 warm-up calls, and the
median CPU time of the process per call (all threads).
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity import cpu_model, log_mel  # noqa: E402


def main(ct2_dir, clips_path, clip, threads, repeats):
    import ctranslate2
    from safetensors.numpy import load_file

    y = load_file(clips_path)[clip]
    mel = np.ascontiguousarray(log_mel(y, 80)[None].astype(np.float32))       # [1, 80, T]
    model = ctranslate2.models.Whisper(ct2_dir, device="cpu", compute_type="float32",
                                       intra_threads=threads, inter_threads=1)

    def encode():
        return np.array(model.encode(ctranslate2.StorageView.from_array(mel), to_cpu=True))

    for _ in range(3):
        encode()
    ts, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        encode()
        ts.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    print(json.dumps({"impl": "ctranslate2", "version": ctranslate2.__version__, "threads": threads,
                      "frames": int(mel.shape[2]), "repeats": repeats,
                      "median_ms": round(float(np.median(ts)), 3), "min_ms": round(float(np.min(ts)), 3),
                      "cpu_ms": round(float(np.median(cpu)), 3),
                      "cpu": cpu_model()}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
