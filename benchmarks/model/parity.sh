#!/usr/bin/env bash
# Swift STA-CNN vs the PyTorch reference (stacnn.py): logits, loss, every parameter gradient, and
# the weights after 10 Adam steps, for the default model and small ones (incl. both ablations) on
# padded batches of variable lengths; `weighted` puts the learned weighted sum of encoder layers
# (LayerWeightedSum, --encoder-layer weighted) in front, between hand-made columns. Exit status 0 = all within relative error 1e-4.
#
#   benchmarks/model/parity.sh            # uses benchmarks/.venv (created if needed)
#   SER_PYTHON=/work/venv/bin/python benchmarks/model/parity.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="$(benchmarks/model/python.sh)"
swift build --product ModelParityTool >&2
TOOL="$(swift build --product ModelParityTool --show-bin-path)/ModelParityTool"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
status=0
for cfg in small nocfe nogfe weighted default; do
  "$TOOL" parity --config "$cfg" --out "$OUT/$cfg"
  "$PY" benchmarks/model/parity.py "$OUT/$cfg" ${PARITY_VERBOSE:+-v} || status=1
done
if [ "$status" = 0 ]; then echo "parity: PASS"; else echo "parity: FAIL"; fi
exit "$status"
