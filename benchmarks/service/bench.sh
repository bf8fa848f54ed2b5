#!/usr/bin/env bash
# Service benchmark: starts `ser serve` on 127.0.0.1, drives it with concurrent clients (bounded in
# requests and time), prints requests/s, p50/p99 latency, error count and the server's peak memory;
# then the real-time factor of `ser predict` on 3.5 s clips on one thread.
#
# Usage: benchmarks/service/bench.sh --model PATH [--bin .build/release/ser] [--clients 4]
#        [--requests 200] [--seconds 60] [--concurrency N] [--queue 64] [--clips 20]
# Needs: python3 (standard library only), curl. Builds `ser` in release mode unless --bin is given.
set -euo pipefail

cd "$(dirname "$0")/../.."
MODEL="" BIN="" CLIENTS=4 REQUESTS=200 SECONDS_LIMIT=60 CONCURRENCY="" QUEUE=64 CLIPS=20
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    --seconds) SECONDS_LIMIT="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --queue) QUEUE="$2"; shift 2 ;;
    --clips) CLIPS="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$MODEL" ] || { echo "bench.sh: --model PATH is required" >&2; exit 2; }
CONCURRENCY="${CONCURRENCY:-$(nproc)}"
if [ -z "$BIN" ]; then
  swift build -c release --product ser >&2
  BIN=.build/release/ser
fi
[ -x "$BIN" ] || { echo "bench.sh: $BIN is not an executable" >&2; exit 2; }

WORK="$(mktemp -d /tmp/ser-service-bench.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Test clips: synthetic voice-like 3.5 s WAVs at 22.05 kHz.
mkdir -p "$WORK/clips"
"$BIN" demo-signal --out "$WORK/clips/clip00.wav" --seconds 3.5 >/dev/null
for i in $(seq 1 $((CLIPS - 1))); do cp "$WORK/clips/clip00.wav" "$WORK/clips/clip$(printf %02d "$i").wav"; done

# A free loopback port.
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"

echo "== ser serve: $CLIENTS clients, <= $REQUESTS requests, <= ${SECONDS_LIMIT}s, --concurrency $CONCURRENCY --queue $QUEUE"
OPENBLAS_NUM_THREADS=1 "$BIN" serve --host 127.0.0.1 --port "$PORT" --model "$MODEL" --concurrency "$CONCURRENCY" \
  --queue "$QUEUE" --log-level warning 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited:" >&2; cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "server did not come up" >&2; cat "$WORK/server.log" >&2; exit 1; }
curl -sf "http://127.0.0.1:$PORT/healthz" | python3 -c 'import json,sys; h=json.load(sys.stdin); print("cpu          ", h.get("cpu")); print("blas         ", h.get("blas"))'

# Warm-up (not measured), then the run.
python3 benchmarks/service/client.py --port "$PORT" --concurrency 1 --requests 3 --seconds 30 "$WORK/clips/clip00.wav" >/dev/null
RESULT="$(timeout $((SECONDS_LIMIT + 120)) python3 benchmarks/service/client.py --port "$PORT" --concurrency "$CLIENTS" \
  --requests "$REQUESTS" --seconds "$SECONDS_LIMIT" "$WORK"/clips/*.wav)"
PEAK_KB="$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""

python3 - "$RESULT" "$PEAK_KB" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); peak = int(sys.argv[2])
print(f"requests      {r['requests']} in {r['wall_s']} s ({r['concurrency']} clients)")
print(f"throughput    {r['requests_per_s']} requests/s")
print(f"latency       p50 {r['p50_ms']} ms, p90 {r['p90_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms")
print(f"errors        {r['errors']}  (status counts {r['status']})")
for f in r["sample_failures"]: print(f"  e.g. {f}")
print(f"server peak   {peak / 1024:.1f} MiB resident (VmHWM)")
PY
ERRORS="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' "$RESULT")"

# Real-time factor of `ser predict` on one thread: (time for N clips - time for 1 clip) / (N-1) clips' audio,
# which removes process start and model loading; the plain ratio is printed too.
echo "== ser predict, one thread, $CLIPS clips of 3.5 s"
mkdir -p "$WORK/one" && cp "$WORK/clips/clip00.wav" "$WORK/one/"
t_one() {
  OPENBLAS_NUM_THREADS=1 python3 -c 'import subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(time.monotonic() - t)' "$BIN" predict "$1" --model "$MODEL" --threads 1 --quiet --format csv
}
T1="$(t_one "$WORK/one")"
TN="$(t_one "$WORK/clips")"
python3 - "$T1" "$TN" "$CLIPS" <<'PY'
import sys
t1, tn, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
audio = 3.5
print(f"1 clip        {t1:.3f} s wall (includes start-up and model loading)")
print(f"{n} clips      {tn:.3f} s wall, RTF {tn / (n * audio):.4f}")
if n > 1:
    per = (tn - t1) / (n - 1)
    print(f"per clip      {per * 1000:.1f} ms -> RTF {per / audio:.4f} (start-up excluded)")
PY
[ "$ERRORS" = "0" ] || { echo "bench.sh: $ERRORS requests failed" >&2; exit 1; }
