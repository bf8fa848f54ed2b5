#!/usr/bin/env bash
# Throughput on all cores: `ser features` and `ser predict` over the same clips with --threads 1
# and --threads 2 (or $THREADS), alternating, and the speed-up of each. Prints the CPU and the
# BLAS kernels first. Target: >= 1.8x on 2 threads.
#
#   benchmarks/threads/scaling.sh [CORPUS_DIR] [N] [ROUNDS]   # defaults: ../shared/corpora/ravdess 300 2
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus="${1:-../shared/corpora/ravdess}"; n="${2:-300}"; rounds="${3:-2}"; many="${THREADS:-2}"
[ -d "$corpus" ] || { echo "no corpus at $corpus (needs ../shared)"; exit 2; }
SER="${SER:-.build/release/ser}"
[ -x "$SER" ] || make build >&2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/clips"; i=0
find "$corpus" -type f \( -name '*.flac' -o -name '*.wav' \) | sort > "$tmp/all"
head -n "$n" "$tmp/all" > "$tmp/list"                   # (not a pipe: head would end it early under pipefail)
while read -r f; do i=$((i+1)); ln -s "$(realpath "$f")" "$tmp/clips/$(printf %05d $i).${f##*.}"; done < "$tmp/list"
"$SER" --version; echo "clips: $(ls "$tmp/clips" | wc -l) from $corpus, $(nproc) cores"
now() { date +%s.%N; }
for r in $(seq "$rounds"); do
  for t in 1 "$many"; do
    rm -rf "$tmp/out"; s=$(now)
    "$SER" features "$tmp/clips" --out "$tmp/out" --threads "$t" --quiet > /dev/null
    e=$(now); echo "features threads=$t round=$r seconds=$(echo "$e - $s" | bc)" | tee -a "$tmp/times"
    s=$(now)
    "$SER" predict "$tmp/clips" --format csv --threads "$t" --quiet > /dev/null
    e=$(now); echo "predict threads=$t round=$r seconds=$(echo "$e - $s" | bc)" | tee -a "$tmp/times"
  done
done
python3 - "$tmp/times" "$many" <<'PY'
import sys, statistics, re
rows = [dict(kv.split("=") for kv in l.split()[1:]) | {"cmd": l.split()[0]} for l in open(sys.argv[1])]
for cmd in ("features", "predict"):
    one = statistics.median(float(r["seconds"]) for r in rows if r["cmd"] == cmd and r["threads"] == "1")
    many = statistics.median(float(r["seconds"]) for r in rows if r["cmd"] == cmd and r["threads"] == sys.argv[2])
    print(f"{cmd}: 1 thread {one:.2f} s, {sys.argv[2]} threads {many:.2f} s: speed-up {one / many:.2f}x (target >= 1.8x)")
PY
