#!/usr/bin/env bash
# Fused-feature throughput: `ser features` vs librosa 0.11, same clips, same parameters, one thread each,
# decode and resampling included for both. Prints clips/s for both and the ratio, per round and the
# median over ROUNDS rounds (default 3; each round times ser, then librosa, on the same clips): the
# machine is shared, and one pair of runs can be 15 % off the next.
#
#   benchmarks/features_vs_librosa.sh [CORPUS_DIR] [N]
# CORPUS_DIR defaults to ../shared/corpora/ravdess, N (number of clips, sorted) to all of them.
# SER_PYTHON=/path/to/python skips creating benchmarks/.venv; SER_BIN=/path/to/ser times another build of ser.
# Both sides write their features (one safetensors file per clip) under SER_BENCH_OUT, by default a
# folder in /dev/shm (tmpfs) where there is one: creating files on ext4 costs each side a varying
# amount of kernel time (seen here: ext4's search for an inode not recently deleted doubled ser's
# kernel time after a few runs had deleted their outputs), which belongs to neither program.
# SER_BENCH_OUT=/tmp times the writes to disk instead.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpora/ravdess}"
n="${2:-0}"
[ -d "$corpus" ] || { echo "no corpus at $corpus (needs ../shared)"; exit 2; }
py="${SER_PYTHON:-}"
if [ -z "$py" ]; then
  if [ ! -x benchmarks/.venv/bin/python ]; then
    python3 -m venv benchmarks/.venv
    benchmarks/.venv/bin/pip install -q 'librosa==0.11.0' safetensors soundfile
  fi
  py=benchmarks/.venv/bin/python
fi
ser="${SER_BIN:-.build/release/ser}"
[ -x "$ser" ] || make build
tmp=$(mktemp -d)
outroot="${SER_BENCH_OUT:-}"
if [ -z "$outroot" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then outroot=/dev/shm; else outroot="$tmp"; fi
fi
outs=$(mktemp -d -p "$outroot"); trap 'rm -rf "$tmp" "$outs"' EXIT
find "$corpus" -type f \( -name '*.flac' -o -name '*.wav' \) | sort > "$tmp/list"
[ "$n" -gt 0 ] && head -n "$n" "$tmp/list" > "$tmp/l2" && mv "$tmp/l2" "$tmp/list"
count=$(wc -l < "$tmp/list")
mkdir -p "$tmp/clips"; i=0
while read -r f; do i=$((i+1)); ln -s "$(realpath "$f")" "$tmp/clips/$(printf %05d $i).${f##*.}"; done < "$tmp/list"
echo "clips: $count from $corpus"
# Both sides read the files from the page cache: read them once before either is timed (otherwise
# the first side timed pays the disk reads and the second does not).
xargs -d '\n' cat < "$tmp/list" > /dev/null
"$ser" --version | sed -n '2,3p'; echo "cores: $(nproc)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "outputs: $outs ($(stat -f -c %T "$outs"))"
rounds="${ROUNDS:-3}"
: > "$tmp/ratios"
for round in $(seq "$rounds"); do
  rm -rf "$outs/ser-out" "$outs/py-out"
  OPENBLAS_NUM_THREADS=1 /usr/bin/time -o "$tmp/ser.cpu" -f "%U %S" "$ser" features "$tmp/clips" --out "$outs/ser-out" --threads 1 --quiet > "$tmp/ser.txt"
  "$py" benchmarks/librosa_fused.py "$outs/py-out" $(find "$tmp/clips" -type l | sort) > "$tmp/py.txt"
  [ "$round" = 1 ] && cat "$tmp/ser.txt" "$tmp/py.txt"
  ser_rate=$(sed -n 's/.*, \([0-9.]*\) files\/s.*/\1/p' "$tmp/ser.txt")
  py_rate=$(sed -n 's/.*= \([0-9.]*\) clips\/s.*/\1/p' "$tmp/py.txt")
  ser_cpu=$(sed -n 's/.*threads, \([0-9.]*\) s CPU).*/\1/p' "$tmp/ser.txt")
  ser_process_cpu=$(awk '{print $1 + $2}' "$tmp/ser.cpu")
  py_cpu=$(sed -n 's/^librosa cpu: \([0-9.]*\) s/\1/p' "$tmp/py.txt")
  # CPU time per clip: steadier than wall-clock on a shared machine. Both sides count the loop over
  # the clips only: librosa's excludes imports and its warm-up clip, ser's its start-up (the whole
  # process's CPU time, start-up included, is printed too).
  python3 - "$ser_rate" "$py_rate" "$ser_cpu" "$py_cpu" "$ser_process_cpu" "$count" "$round" <<'PY' | tee -a "$tmp/ratios"
import sys
sr, pr, sc, pc, spc, n, r = map(float, sys.argv[1:])
print(f"round {int(r)}: ser {sr:.1f} clips/s, librosa {pr:.1f}: {sr / pr:.2f}x wall-clock; "
      f"CPU per clip ser {1000 * sc / n:.2f} ms, librosa {1000 * pc / n:.2f} ms: {pc / sc:.2f}x CPU time "
      f"({pc / spc:.2f}x with ser's start-up, {1000 * (spc - sc):.0f} ms)")
PY
done
python3 - "$tmp/ratios" <<'PY'
import re, statistics, sys
rows = [re.findall(r"([0-9.]+)x", l) for l in open(sys.argv[1])]
wall = [float(r[0]) for r in rows]; cpu = [float(r[1]) for r in rows]
print(f"median of {len(rows)} rounds: {statistics.median(cpu):.2f}x CPU time (range {min(cpu):.2f}-{max(cpu):.2f}), "
      f"{statistics.median(wall):.2f}x wall-clock (range {min(wall):.2f}-{max(wall):.2f})")
PY
