#!/usr/bin/env bash
# Swift Whisper encoder vs CTranslate2 `Whisper.encode` (float32), encoder only (log-mel in), on the
# 3.5 s clip of parity.sh (175 encoder frames), at 1 and 2 threads, alternating Swift and CTranslate2
# in the same run. Prints the CPU, the BLAS kernels, the load average before each measurement, each
# measurement (median / minimum wall-clock time of REPEATS calls, median CPU time of the process per
# call: on a loaded machine the wall-clock time includes waiting for a core) and, per thread count,
# the ratio Swift / CTranslate2 of the medians.
#
#   benchmarks/encoder/speed.sh [rounds] [model]           # default 3 rounds, base
#   THREADS="1 2" REPEATS=30 SER_PYTHON=/work/venv/bin/python benchmarks/encoder/speed.sh
#   OPENBLAS_CORETYPE=Haswell benchmarks/encoder/speed.sh   # force OpenBLAS's kernels (default: SER's choice)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-3}"
NAME="${2:-base}"
THREAD_COUNTS="${THREADS:-1 2}"
REPEATS="${REPEATS:-30}"
CLIP="c_3.50s"
. benchmarks/encoder/setup.sh
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
"$PY" benchmarks/encoder/parity.py prepare "$OUT" >&2
echo "machine: $(nproc) cores; model whisper-$NAME; clip $CLIP; $REPEATS timed calls each (after 3 warm-up)"
for r in $(seq "$ROUNDS"); do
  for t in $THREAD_COUNTS; do
    export OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t"
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    s="$("$TOOL" speed --model "$WEIGHTS" --clips "$OUT/clips.safetensors" --clip "$CLIP" --threads "$t" --repeats "$REPEATS")"
    c="$("$PY" benchmarks/encoder/speed.py "$CT2" "$OUT/clips.safetensors" "$CLIP" "$t" "$REPEATS")"
    echo "{\"round\": $r, \"load\": \"$load\", \"swift\": $s, \"ct2\": $c}" >> "$OUT/results.jsonl"
  done
done
"$PY" - "$OUT/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
s0 = rows[0]["swift"]
print(f"cpu: {s0['cpu']}")
print(f"kernels: Swift side {s0['blas']}; CTranslate2 {rows[0]['ct2']['version']} (its own dispatch)")
print("round threads  load (1/5/15 min)   Swift median/min ms   CT2 median/min ms   ratio (medians)   CPU ms Swift / CT2")
for r in rows:
    s, c = r["swift"], r["ct2"]
    print(f"{r['round']:5d} {s['threads']:7d}  {r['load']:<18s}  {s['median_ms']:8.2f} / {s['min_ms']:7.2f}    "
          f"{c['median_ms']:8.2f} / {c['min_ms']:7.2f}    {s['median_ms'] / c['median_ms']:.2f}x             "
          f"{s['cpu_ms']:6.2f} / {c['cpu_ms']:6.2f}")
for t in sorted({r["swift"]["threads"] for r in rows}):
    rs = [r for r in rows if r["swift"]["threads"] == t]
    ratios = [r["swift"]["median_ms"] / r["ct2"]["median_ms"] for r in rs]
    print(f"{t} thread(s): Swift {statistics.median(r['swift']['median_ms'] for r in rs):.2f} ms, CTranslate2 "
          f"{statistics.median(r['ct2']['median_ms'] for r in rs):.2f} ms (medians over rounds); ratio per round "
          f"{', '.join(f'{x:.2f}' for x in ratios)} (median {statistics.median(ratios):.2f}x, target <= 1.0x)")
PY
