#!/usr/bin/env bash
# Throughput on all cores: `ser features` and `ser predict` over the same clips with --threads 1
# and --threads 2 (or $THREADS), alternating, and the speed-up of each. Prints the CPU, the BLAS
# kernels and the load average first. Target: >= 1.8x on 2 threads.
#
# Each run also records its CPU time (user + sys). On a machine shared with other jobs the
# wall-clock speed-up says little (with a load average above the core count, two threads get no
# more CPU than one); "CPU-bound" is what the speed-up would be on free cores if every thread kept
# its core busy: 2 x (the 1-thread run's CPU time) / (the 2-thread run's CPU time), i.e. how much
# extra work the second thread costs. It stands for the wall-clock speed-up only when the 1-thread
# run really runs on one thread (it cannot use more than one core's CPU time per second of wall
# time: check "cpu/wall" <= 1 on an idle machine).
#
#   benchmarks/threads/scaling.sh [CORPUS_DIR] [N] [ROUNDS]   # defaults: ../shared/corpora/ravdess 300 2
#
# SER: the binary (default .build/release/ser), or several separated by spaces (e.g. a build
# before and after a change), timed in turn within each round so they see the same machine load.
# MODEL: the model `ser predict` uses (default: the bundled default model); COMMANDS: which of
# "features predict" to time (default both).
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus="${1:-../shared/corpora/ravdess}"; n="${2:-300}"; rounds="${3:-2}"; many="${THREADS:-2}"
[ -d "$corpus" ] || { echo "no corpus at $corpus (needs ../shared)"; exit 2; }
read -r -a bins <<< "${SER:-.build/release/ser}"
commands="${COMMANDS:-features predict}"
model=(); [ -n "${MODEL:-}" ] && model=(--model "$MODEL")
for b in "${bins[@]}"; do [ -x "$b" ] || make build >&2; done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/clips"; i=0
find "$corpus" -type f \( -name '*.flac' -o -name '*.wav' \) | sort > "$tmp/all"
head -n "$n" "$tmp/all" > "$tmp/list"                   # (not a pipe: head would end it early under pipefail)
while read -r f; do i=$((i+1)); ln -s "$(realpath "$f")" "$tmp/clips/$(printf %05d $i).${f##*.}"; done < "$tmp/list"
"${bins[0]}" --version; echo "clips: $(ls "$tmp/clips" | wc -l) from $corpus, $(nproc) cores, predict model: ${MODEL:-default}"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
now() { date +%s.%N; }
for r in $(seq "$rounds"); do
  for t in 1 "$many"; do
    for b in "${bins[@]}"; do
      if [[ " $commands " == *" features "* ]]; then
        rm -rf "$tmp/out"; s=$(now)
        /usr/bin/time -o "$tmp/cpu" -f "%U %S" "$b" features "$tmp/clips" --out "$tmp/out" --threads "$t" --quiet > /dev/null
        e=$(now); echo "features bin=$b threads=$t round=$r seconds=$(echo "$e - $s" | bc) cpu=$(awk '{print $1 + $2}' "$tmp/cpu") load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$tmp/times"
      fi
      if [[ " $commands " == *" predict "* ]]; then
        s=$(now)
        /usr/bin/time -o "$tmp/cpu" -f "%U %S" "$b" predict "$tmp/clips" "${model[@]}" --format csv --threads "$t" --quiet > /dev/null
        e=$(now); echo "predict bin=$b threads=$t round=$r seconds=$(echo "$e - $s" | bc) cpu=$(awk '{print $1 + $2}' "$tmp/cpu") load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$tmp/times"
      fi
    done
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/times" "$many" <<'PY'
import sys, statistics
rows = [dict(kv.split("=", 1) for kv in l.split()[1:]) | {"cmd": l.split()[0]} for l in open(sys.argv[1])]
for b in dict.fromkeys(r["bin"] for r in rows):
    for cmd in dict.fromkeys(r["cmd"] for r in rows):
        def med(t, key="seconds"): return statistics.median(float(r[key]) for r in rows if r["cmd"] == cmd and r["bin"] == b and r["threads"] == t)
        k = int(sys.argv[2])
        one, many = med("1"), med(sys.argv[2])
        cpu1, cpuk = med("1", "cpu"), med(sys.argv[2], "cpu")
        print(f"{b}: {cmd}: 1 thread {one:.2f} s (cpu/wall {cpu1 / one:.2f}), {k} threads {many:.2f} s (cpu {cpuk:.2f} s): "
              f"speed-up {one / many:.2f}x wall-clock, {k * cpu1 / cpuk:.2f}x CPU-bound (target >= 1.8x)")
PY
