#!/usr/bin/env bash
# Builds and runs Examples/QuickStart, a package that depends on this checkout by path and uses the
# `SpeechEmotion` library product as the README shows, and checks that the README's library example
# is that program verbatim. Run by `make test` (and so by CI).
set -euo pipefail
cd "$(dirname "$0")/.."
ser=${SER_BIN:-.build/debug/ser}
main=Examples/QuickStart/Sources/QuickStart/main.swift

# 1. The README shows main.swift verbatim (one fenced swift block equal to the file).
python3 - "$main" <<'PY'
import re, sys
code = open(sys.argv[1]).read().strip()
blocks = [b.strip() for b in re.findall(r"```swift\n(.*?)```", open("README.md").read(), re.S)]
if code not in blocks:
    sys.exit("README.md: the library example is not Examples/QuickStart/Sources/QuickStart/main.swift verbatim")
print("README library example == Examples/QuickStart main.swift")
PY

# 2. It builds against this checkout without the HTTP packages: with `traits: []` SwiftPM neither clones
#    nor compiles Hummingbird, SwiftNIO or swift-log (only swift-argument-parser, which `ser` needs).
# SwiftPM can keep a stale list of a path dependency's files; on failure build once more from scratch.
(cd Examples/QuickStart && { swift build -q --product QuickStart 2>/dev/null || { rm -rf .build && swift build -q --product QuickStart; }; })
cloned=$(ls Examples/QuickStart/.build/checkouts 2>/dev/null | tr '\n' ' ')
case " $cloned " in
    *hummingbird*|*swift-nio*|*swift-log*) echo "Examples/QuickStart cloned HTTP packages ($cloned): the library must not need them"; exit 1;;
esac
compiled=$(find Examples/QuickStart/.build/debug/ -name '*.o' \( -path '*/Hummingbird*' -o -path '*/NIO*' \) | wc -l)
if [ "$compiled" != 0 ]; then
    echo "Examples/QuickStart compiled Hummingbird or SwiftNIO: the SpeechEmotion product must not depend on them"; exit 1
fi
echo "Examples/QuickStart's dependencies: ${cloned:-none}"

# 3. It runs: a synthetic voice, the hand-made model (no encoder needed).
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$ser" demo-signal --out "$tmp/demo.wav" --seconds 2 >/dev/null
out=$(cd Examples/QuickStart && swift run -q QuickStart "$tmp/demo.wav" handmade)
echo "$out"
echo "$out" | grep -q "(normalisation: " || { echo "QuickStart did not print a prediction"; exit 1; }
status=0; (cd Examples/QuickStart && swift run -q QuickStart "$tmp/missing.wav" handmade) >"$tmp/err" 2>&1 || status=$?
[ "$status" = 1 ] && grep -q "missing.wav" "$tmp/err" || { echo "QuickStart: a missing file should be exit 1 naming it"; cat "$tmp/err"; exit 1; }
echo "Examples/QuickStart: built and ran against this checkout"
