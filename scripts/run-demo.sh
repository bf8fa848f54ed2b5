#!/usr/bin/env bash
# `make run`: the main job on the bundled default model.
# Usage: run-demo.sh SER_BINARY MODEL [FILE]
set -euo pipefail
ser="$1"; model="$2"; file="${3:-}"
if [ -z "$file" ]; then
  mkdir -p .cache/demo
  "$ser" demo-signal --out .cache/demo/demo.wav
  file=.cache/demo/demo.wav
fi
"$ser" features "$file" --out .cache/demo/features
