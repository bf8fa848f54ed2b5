#!/usr/bin/env bash
# Swift Whisper encoder vs CTranslate2 (last layer, float32) and a float64 numpy reference of the same
# weights (every layer), on 6 clips of 0.5 s to 15 s; then the encoder time per 3.5 s clip against
# CTranslate2 at the same thread count. Exit status 0 = every relative error <= 1e-3.
#
#   benchmarks/encoder/parity.sh [base|tiny.en]        # installs the model into the cache if needed
#   THREADS=1 REPEATS=50 benchmarks/encoder/parity.sh   # thread count for both sides, timing runs
#   SER_PYTHON=/path/to/python benchmarks/encoder/parity.sh
#   OPENBLAS_CORETYPE=Prescott benchmarks/encoder/parity.sh   # force OpenBLAS's kernels (default: SER's choice)
set -euo pipefail
cd "$(dirname "$0")/../.."
NAME="${1:-base}"
THREADS="${THREADS:-2}"
export THREADS REPEATS="${REPEATS:-20}"
. benchmarks/encoder/setup.sh
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
"$PY" benchmarks/encoder/parity.py prepare "$OUT"
OPENBLAS_NUM_THREADS="$THREADS" "$TOOL" run --model "$WEIGHTS" --clips "$OUT/clips.safetensors" --out "$OUT/swift.safetensors" \
  --threads "$THREADS" --repeats "$REPEATS" --time-clip c_3.50s
OMP_NUM_THREADS="$THREADS" "$PY" benchmarks/encoder/parity.py compare "$OUT" "$CT2" "$WEIGHTS"
