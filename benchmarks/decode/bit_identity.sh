#!/usr/bin/env bash
# Bit identity of the direct decoders (Swift WAV reader, libFLAC) against libsndfile: decodes every
# file with both (all channels, native rate, `AudioDecoder.loadInterleaved`) and compares samples
# bit for bit, the header description, and the error of files that fail. Must print 0 mismatches.
#
#   benchmarks/decode/bit_identity.sh [DIR_OR_FILE...]
# Default: the corpora under ../shared/corpora (RAVDESS, EMO-DB, SAVEE) and, when present,
# CREMA-D's WAV files in ~/data/crema-d/AudioWAV (or $CREMA_D). Exit status 1 on any mismatch.
set -euo pipefail
cd "$(dirname "$0")/../.."
inputs=("$@")
if [ ${#inputs[@]} -eq 0 ]; then
  for d in ../shared/corpora/ravdess ../shared/corpora/emodb ../shared/corpora/savee \
           "${CREMA_D:-$HOME/data/crema-d}/AudioWAV"; do
    if [ -d "$d" ]; then inputs+=("$d"); else echo "skipping $d (not present)"; fi
  done
fi
[ ${#inputs[@]} -gt 0 ] || { echo "nothing to check (needs ../shared or arguments)"; exit 2; }
log=$(mktemp); trap 'rm -f "$log"' EXIT
swift build -c release -Xcc -march=x86-64-v3 -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -Ounchecked \
  --product DecodeCheck >"$log" 2>&1 || { cat "$log"; exit 1; }
cpu() { sed -n "s/^$1[[:space:]]*: //p" /proc/cpuinfo | head -1; }
echo "CPU: $(cpu 'model name'), family $(cpu 'cpu family') model $(cpu model), $(nproc) cores"
status=0
for d in "${inputs[@]}"; do
  echo "== $d"
  .build/release/DecodeCheck "$d" || status=1
done
exit $status
