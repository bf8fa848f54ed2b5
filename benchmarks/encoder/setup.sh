# Sourced by parity.sh and speed.sh (NAME set to the model, e.g. base): builds EncoderParityTool with
# the Makefile's release flags and sets PY (the Python yardstick), TOOL, CACHE, WEIGHTS (SER's
# safetensors) and CT2 (CTranslate2's model folder), installing the model into the cache if missing.
PY="$(benchmarks/encoder/python.sh)"
RELEASE=(-c release -Xcc -march=x86-64-v3 -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -Ounchecked)   # as the Makefile's
swift build "${RELEASE[@]}" --product EncoderParityTool >&2
TOOL="$(swift build "${RELEASE[@]}" --product EncoderParityTool --show-bin-path)/EncoderParityTool"
if [ -n "${SER_CACHE:-}" ]; then CACHE="$SER_CACHE/encoders"; else CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ser/encoders"; fi
WEIGHTS="$CACHE/whisper-$NAME.safetensors"
CT2="$CACHE/whisper-$NAME/ct2"
if [ ! -f "$WEIGHTS" ] || [ ! -f "$CT2/model.bin" ]; then
  SER_PYTHON="$PY" "$TOOL" install "$NAME" "$CACHE"
fi
