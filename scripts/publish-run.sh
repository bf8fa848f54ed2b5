#!/usr/bin/env bash
# Copies a run's report (Markdown, JSON, SVG plots, spec and split files; no weights) into
# docs/results/NAME so the README can link it.   Usage: scripts/publish-run.sh RUN_DIR NAME
set -euo pipefail
run="$1"; name="$2"; dest="docs/results/$name"
mkdir -p "$dest"
cp "$run"/report.md "$run"/report.json "$run"/*.svg "$dest"/
for f in spec.json split.json; do [ -f "$run/$f" ] && cp "$run/$f" "$dest/"; done
echo "published $run -> $dest"
