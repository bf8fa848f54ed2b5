#!/usr/bin/env bash
# `make run`: recognise the emotions in a demo recording (or FILE=...) with the bundled default model.
# Usage: run-demo.sh SER_BINARY MODEL [FILE]
set -euo pipefail
ser="$1"; model="$2"; file="${3:-}"
if [ ! -f "$model" ]; then
  echo "model $model not found (the bundled default model lives in models/)" >&2; exit 1
fi
if [ -z "$file" ]; then
  mkdir -p .cache/demo
  file=.cache/demo/demo.wav
  if command -v espeak-ng >/dev/null 2>&1; then
    # A synthetic voice (never corpus audio): two sentences with a pause between them.
    espeak-ng -m -v en-us -s 150 -w "$file" \
      "<speak>I told you a hundred times, put it back where you found it! <break time='1500ms'/>
       Oh. I see. Well, I suppose it does not matter any more.</speak>"
  else
    "$ser" demo-signal --out "$file"
  fi
  echo "demo recording: $file (synthetic speech from espeak-ng)"
fi
echo
echo "== ser predict $file"
"$ser" predict "$file" --model "$model"
echo
echo "== ser predict --segment $file   (timeline; SVG in .cache/demo/timeline.svg)"
mkdir -p .cache/demo
"$ser" predict "$file" --model "$model" --segment --window 2 --hop 1 --svg .cache/demo/timeline.svg
