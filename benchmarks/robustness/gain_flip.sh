#!/usr/bin/env bash
# Loudness robustness: the fraction of clips whose top emotion changes when the gain changes by
# -10 dB or +10 dB (issue 12's target: at most 5 %).
#
#   benchmarks/robustness/gain_flip.sh [--model FILE] [--clips N] [--ser PATH] DIR_OR_FILE...
#
# Takes N clips (default 100) spread evenly over the sorted audio files under the arguments,
# writes their -10 dB and +10 dB copies with `ser perturb --gain -10,10` (32-bit float WAV at each
# file's own rate; +10 dB clips samples to [-1, 1], as a recording would), runs
# `ser predict --format jsonl` on the originals and on each copy, and prints how many top emotions
# changed. Needs a release build (`make build`); --ser picks another binary.
set -euo pipefail

MODEL=models/default.safetensors
CLIPS=100
SER=.build/release/ser
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --clips) CLIPS="$2"; shift 2 ;;
    --ser) SER="$2"; shift 2 ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[ ${#ARGS[@]} -gt 0 ] || { echo "usage: $0 [--model FILE] [--clips N] [--ser PATH] DIR_OR_FILE..." >&2; exit 2; }
[ -x "$SER" ] || { echo "$SER not found: run 'make build' first (or pass --ser)" >&2; exit 2; }
[ -f "$MODEL" ] || { echo "model $MODEL not found" >&2; exit 2; }

TMP=$(mktemp -d)
[ -n "${KEEP_TMP:-}" ] && echo "keeping $TMP" >&2 || trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/orig"

# Every audio file, sorted; N of them evenly spread; linked as 0001-<name> so names stay unique.
find "${ARGS[@]}" -type f \( -iname '*.wav' -o -iname '*.flac' -o -iname '*.mp3' -o -iname '*.ogg' -o -iname '*.opus' \) \
  | LC_ALL=C sort > "$TMP/all.txt"
TOTAL=$(wc -l < "$TMP/all.txt")
[ "$TOTAL" -gt 0 ] || { echo "no audio files under ${ARGS[*]}" >&2; exit 2; }
awk -v n="$CLIPS" -v total="$TOTAL" 'BEGIN { if (n > total) n = total; for (i = 0; i < n; i++) pick[int(i * total / n) + 1] = 1 }
  NR in pick' "$TMP/all.txt" > "$TMP/picked.txt"
i=0
while IFS= read -r f; do
  i=$((i + 1))
  ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$TMP/orig/$(printf %04d $i)-$(basename "$f")"
done < "$TMP/picked.txt"
N=$i

"$SER" perturb "$TMP/orig" --out "$TMP/pert" --gain -10,10 --quiet

# name (without folder and extension) <TAB> top emotion, sorted by name.
predict() {
  "$SER" predict "$1" --model "$MODEL" --format jsonl --quiet \
    | sed -E 's/"probabilities":\[[^]]*\]//; s/.*"emotion":"([^"]*)".*"source":"([^"]*)".*/\2\t\1/' \
    | awk -F'\t' '{ n = $1; sub(/.*\//, "", n); sub(/\.[^.]*$/, "", n); print n "\t" $2 }' | LC_ALL=C sort
}
predict "$TMP/orig" > "$TMP/p0.tsv"
predict "$TMP/pert/gain-10" > "$TMP/pm.tsv"
predict "$TMP/pert/gain10" > "$TMP/pp.tsv"
for f in p0 pm pp; do
  [ "$(wc -l < "$TMP/$f.tsv")" -eq "$N" ] || { echo "expected $N predictions in $f, got $(wc -l < "$TMP/$f.tsv")" >&2; exit 1; }
done

join -t $'\t' "$TMP/p0.tsv" "$TMP/pm.tsv" | join -t $'\t' - "$TMP/pp.tsv" | awk -F'\t' -v model="$MODEL" '
  { n++; m += ($2 != $3); p += ($2 != $4); e += ($2 != $3 || $2 != $4) }
  END {
    printf "model %s, %d clips\n", model, n
    printf "top emotion changed at -10 dB: %d (%.1f %%)\n", m, 100 * m / n
    printf "top emotion changed at +10 dB: %d (%.1f %%)\n", p, 100 * p / n
    printf "changed at -10 or +10 dB:      %d (%.1f %%)   target <= 5 %%\n", e, 100 * e / n
  }'
