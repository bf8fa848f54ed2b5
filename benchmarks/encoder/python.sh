#!/usr/bin/env bash
# Prints the Python interpreter for the encoder parity check: $SER_PYTHON when set, otherwise
# benchmarks/.venv, created or completed on first use with ctranslate2, numpy, librosa (scipy) and
# safetensors. Python is the yardstick only: nothing at run time uses it.
set -euo pipefail
if [ -n "${SER_PYTHON:-}" ]; then echo "$SER_PYTHON"; exit 0; fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/benchmarks/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv" >&2
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import ctranslate2, numpy, librosa, scipy, safetensors" >/dev/null 2>&1; then
  echo "installing ctranslate2, numpy, librosa, safetensors into $venv" >&2
  "$venv/bin/pip" install -q ctranslate2 numpy 'librosa==0.11.0' safetensors >&2
fi
echo "$venv/bin/python"
