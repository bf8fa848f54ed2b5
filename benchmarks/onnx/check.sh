#!/usr/bin/env bash
# ONNX export check (benchmarks/onnx/check.py): exports the bundled models with `ser export --onnx`, runs them
# with onnxruntime on the model inputs `ser` builds and compares the probabilities (<= 1e-4), then runs the
# README's Python example (example.py) against `ser predict --keep-silence` (<= 1e-3). Exit status 0 = PASS.
#
#   benchmarks/onnx/check.sh [CLIP...]
# Without clips: 2 RAVDESS, 1 EMO-DB and 1 SAVEE file from ../shared/corpora, plus 0.15 s and 0.05 s cuts (7 and
# 3 frames for the hand-made model, fewer than the 8 the three poolings halve: checks the pooling of 1- and
# 3-frame sequences) and a 12 s concatenation.
# SER_PYTHON: the interpreter (default /work/venv/bin/python; needs onnx, onnxruntime, librosa 0.11,
# safetensors, soundfile). SER_BIN: the ser binary (default: this checkout's debug build, built if needed).
# MODELS: comma-separated bundled models (default handmade,default; default needs `ser encoder install base`).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${SER_PYTHON:-/work/venv/bin/python}"
if [ -n "${SER_BIN:-}" ]; then SER="$SER_BIN"; else
  swift build --product ser >&2
  SER="$(swift build --show-bin-path)/ser"
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
clips=("$@")
if [ ${#clips[@]} -eq 0 ]; then
  C=../shared/corpora
  [ -d "$C" ] || { echo "no clips given and no corpora at $C (needs ../shared)"; exit 2; }
  clips=("$C/ravdess/Actor_21/03-01-05-01-01-01-21.flac" "$C/ravdess/Actor_22/03-01-03-02-02-01-22.flac"
         "$(find "$C/emodb" -name '*.flac' | sort | head -1)" "$(find "$C/savee" -name '*.flac' | sort | head -1)")
  "$PY" - "$WORK" "${clips[@]}" <<'PYEOF'
import sys, numpy as np, soundfile as sf
work, files = sys.argv[1], sys.argv[2:]
y, sr = sf.read(files[0], dtype="float32")
sf.write(f"{work}/short-0.15s.wav", y[int(1.0 * sr): int(1.15 * sr)], sr)            # mid-speech, 0.15 s
sf.write(f"{work}/short-0.05s.wav", y[int(1.0 * sr): int(1.05 * sr)], sr)            # 0.05 s
parts = [sf.read(f, dtype="float32") for f in files[:2]]
sf.write(f"{work}/long-concat.wav", np.concatenate([p[0] for p in parts] * 2), parts[0][1])
PYEOF
  clips+=("$WORK/short-0.15s.wav" "$WORK/short-0.05s.wav" "$WORK/long-concat.wav")
fi
"$PY" benchmarks/onnx/check.py --ser "$SER" --work "$WORK" --models "${MODELS:-handmade,default}" "${clips[@]}"
