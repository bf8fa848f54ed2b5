#!/usr/bin/env bash
# Loudness robustness: the fraction of clips whose top emotion changes when the gain changes by
# -10 dB or +10 dB (issue 12's target: at most 5 %).
#
#   benchmarks/robustness/gain_flip.sh [--model FILE] [--clips N] [--gains LIST] [--ser PATH] DIR_OR_FILE...
#
# Takes N clips (default 100) spread evenly over the sorted audio files under the arguments,
# writes their copies at each gain (default -10,10 dB) with `ser perturb --gain` (32-bit float WAV
# at each file's own rate; a positive gain clips samples to [-1, 1], as a recording would), runs
# `ser predict --format jsonl` on the originals and on each copy, and prints how many top emotions
# changed, per gain and at any of them. Needs a release build (`make build`); --ser picks another
# binary; KEEP_TMP=1 keeps the temporary folder.
set -euo pipefail

MODEL=models/default.safetensors
CLIPS=100
GAINS=-10,10
SER=.build/release/ser
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --clips) CLIPS="$2"; shift 2 ;;
    --gains) GAINS="$2"; shift 2 ;;
    --ser) SER="$2"; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[ ${#ARGS[@]} -gt 0 ] || { echo "usage: $0 [--model FILE] [--clips N] [--gains LIST] [--ser PATH] DIR_OR_FILE..." >&2; exit 2; }
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

"$SER" perturb "$TMP/orig" --out "$TMP/pert" --gain "$GAINS" --quiet

# name (without folder and extension) <TAB> top emotion, sorted by name.
predict() {
  "$SER" predict "$1" --model "$MODEL" --format jsonl --quiet \
    | sed -E 's/"probabilities":\{[^}]*\}//; s/.*"emotion":"([^"]*)".*"file":"([^"]*)".*/\2\t\1/' \
    | awk -F'\t' '{ n = $1; sub(/.*\//, "", n); sub(/\.[^.]*$/, "", n); print n "\t" $2 }' | LC_ALL=C sort
}
check() { [ "$(wc -l < "$1")" -eq "$N" ] || { echo "expected $N predictions in $1, got $(wc -l < "$1")" >&2; exit 1; }; }
predict "$TMP/orig" > "$TMP/base.tsv"
check "$TMP/base.tsv"
cp "$TMP/base.tsv" "$TMP/joined.tsv"
echo "model $MODEL, $N clips, gains $GAINS dB"
for g in ${GAINS//,/ }; do
  tag=$(ls "$TMP/pert" | grep -x -- "gain${g#+}" || true)
  [ -n "$tag" ] || tag=$(ls "$TMP/pert" | awk -v g="$g" '$0 == "gain" (g + 0)')
  [ -d "$TMP/pert/$tag" ] || { echo "no copies for gain $g in $TMP/pert" >&2; exit 1; }
  predict "$TMP/pert/$tag" > "$TMP/$tag.tsv"
  check "$TMP/$tag.tsv"
  join -t $'\t' "$TMP/base.tsv" "$TMP/$tag.tsv" | awk -F'\t' -v g="$g" '
    { n++; c += ($2 != $3) } END { printf "top emotion changed at %+g dB: %d of %d (%.1f %%)\n", g, c, n, 100 * c / n }'
  join -t $'\t' "$TMP/joined.tsv" "$TMP/$tag.tsv" > "$TMP/j.tsv" && mv "$TMP/j.tsv" "$TMP/joined.tsv"
done
awk -F'\t' '{ n++; for (i = 3; i <= NF; i++) if ($i != $2) { c++; break } }
  END { printf "changed at any of these gains: %d of %d (%.1f %%)   target at +-10 dB: <= 5 %%\n", c, n, 100 * c / n }' "$TMP/joined.tsv"
