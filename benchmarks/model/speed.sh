#!/usr/bin/env bash
# Swift STA-CNN vs the PyTorch reference: training step (forward + backward + Adam, batch 32,
# ~151 frames = 3.5 s, 181 channels) and single-clip inference latency, both on 2 threads,
# alternating in the same run. Prints each run's figures and the ratios (Swift / PyTorch).
# The training step is also timed in process CPU time (train_step_cpu_ms): at THREADS=1 that ratio
# holds on a machine busy with other work, where wall-time ratios swing from round to round.
#
#   benchmarks/model/speed.sh [rounds]          # default 3 rounds
#   SER_PYTHON=/work/venv/bin/python benchmarks/model/speed.sh
#   THREADS=1 STEPS=10 INFER=100 benchmarks/model/speed.sh 2   # other thread count / fewer repeats
#   BASELINE=/tmp/ModelParityTool.main benchmarks/model/speed.sh # also time another build of the tool
#                                        # (e.g. from main) in every round: before/after in one run
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-3}"
PY="$(benchmarks/model/python.sh)"
FLAGS=(-c release -Xcc -march=x86-64-v3 -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -Ounchecked)   # as the Makefile's release build
swift build "${FLAGS[@]}" --product ModelParityTool >&2
TOOL="$(swift build "${FLAGS[@]}" --product ModelParityTool --show-bin-path)/ModelParityTool"
ARGS=(--batch 32 --frames 151 --channels 181 --classes 7 --steps "${STEPS:-20}" --infer "${INFER:-200}" --threads "${THREADS:-2}")
nproc_now="$(nproc)"   # before OMP_NUM_THREADS is set: nproc obeys it
export OPENBLAS_NUM_THREADS="${THREADS:-2}" OMP_NUM_THREADS="${THREADS:-2}" MKL_NUM_THREADS="${THREADS:-2}"
echo "machine: $nproc_now cores, $(uptime | sed 's/.*load/load/')"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for r in $(seq "$ROUNDS"); do
  s="$("$TOOL" speed "${ARGS[@]}")"; echo "round $r: $s"; echo "$s" >> "$results"
  if [ -n "${BASELINE:-}" ]; then
    s="$("$BASELINE" speed "${ARGS[@]}" | sed 's/"impl": "swift"/"impl": "swift-baseline"/')"; echo "round $r: $s"; echo "$s" >> "$results"
  fi
  p="$(cd benchmarks/model && "$PY" speed.py "${ARGS[@]}")"; echo "round $r: $p"; echo "$p" >> "$results"
done
"$PY" - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
s = [r for r in rows if r["impl"] == "swift"]; p = [r for r in rows if r["impl"] == "pytorch"]
base = [r for r in rows if r["impl"] == "swift-baseline"]
for key, target in (("train_step_ms", "<= 1.25"), ("train_step_cpu_ms", "<= 1.25"), ("infer_ms", "< 1")):
    for name, sw in (("swift", s), ("baseline", base)):
        if not sw or not all(key in r for r in sw + p):
            continue
        ratios = [a[key] / b[key] for a, b in zip(sw, p)]
        print(f"{key}: {name} median {statistics.median(r[key] for r in sw):.3f}, pytorch median "
              f"{statistics.median(r[key] for r in p):.3f}; ratio {name}/pytorch per round "
              f"{', '.join(f'{x:.2f}' for x in ratios)} (median {statistics.median(ratios):.2f}, target {target})")
print(f"cpu: {s[0]['cpu']}")
print(f"kernels: swift {s[0]['blas']}; pytorch {p[0]['torch']} {p[0].get('kernel', '?')} (its own dispatch)")
print(f"load after the run: {open('/proc/loadavg').read().split()[:3]}")
print(f"peak RSS MiB: swift {max(r['peak_rss_mib'] for r in s):.0f}, pytorch {max(r['peak_rss_mib'] for r in p):.0f}")
PY
