#!/usr/bin/env bash
# Fused-feature throughput: `ser features` vs librosa 0.11, same clips, same parameters, one thread each,
# decode and resampling included for both. Prints clips/s for both and the ratio.
#
#   benchmarks/features_vs_librosa.sh [CORPUS_DIR] [N]
# CORPUS_DIR defaults to ../shared/corpora/ravdess, N (number of clips, sorted) to all of them.
# SER_PYTHON=/path/to/python skips creating benchmarks/.venv; SER_BIN=/path/to/ser times another build of ser.
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
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
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
OPENBLAS_NUM_THREADS=1 /usr/bin/time -o "$tmp/ser.cpu" -f "%U %S" "$ser" features "$tmp/clips" --out "$tmp/ser-out" --threads 1 --quiet | tee "$tmp/ser.txt"
"$py" benchmarks/librosa_fused.py "$tmp/py-out" $(find "$tmp/clips" -type l | sort) | tee "$tmp/py.txt"
ser_rate=$(sed -n 's/.*, \([0-9.]*\) files\/s.*/\1/p' "$tmp/ser.txt")
py_rate=$(sed -n 's/.*= \([0-9.]*\) clips\/s.*/\1/p' "$tmp/py.txt")
ser_cpu=$(awk '{print $1 + $2}' "$tmp/ser.cpu")
py_cpu=$(sed -n 's/^librosa cpu: \([0-9.]*\) s/\1/p' "$tmp/py.txt")
python3 -c "print(f'ser {float($ser_rate):.1f} clips/s, librosa {float($py_rate):.1f} clips/s, ratio {float($ser_rate)/float($py_rate):.2f}x (wall-clock)')"
# CPU time per clip: steadier than wall-clock on a shared machine. ser's includes its start-up
# (about 25 ms for the whole run); librosa's excludes imports and its warm-up clip.
python3 -c "print(f'cpu per clip: ser {1000*$ser_cpu/$count:.2f} ms, librosa {1000*$py_cpu/$count:.2f} ms, ratio {float($py_cpu)/float($ser_cpu):.2f}x (CPU time)')"
