#!/usr/bin/env bash
# Prints the Python interpreter for the model benchmarks: $SER_PYTHON when set, otherwise
# benchmarks/.venv (created on first use with torch 2.13.0+cpu, safetensors and numpy).
set -euo pipefail
if [ -n "${SER_PYTHON:-}" ]; then echo "$SER_PYTHON"; exit 0; fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/benchmarks/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, safetensors" >/dev/null 2>&1; then
  echo "creating $venv (torch 2.13.0+cpu, safetensors, numpy)" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q 'torch==2.13.0+cpu' safetensors numpy >&2
fi
echo "$venv/bin/python"
