#!/usr/bin/env bash
# Abuse test of `ser serve` on 127.0.0.1 (issue 14): slow senders, many idle connections, huge
# multipart bodies, tiny windows, a flood of idle connections beyond the connection limit (four
# times the limit, reopened as soon as they are closed; FLOOD=N to change), and SIGTERM while a
# client holds a half-sent body. Bounded in count and time (about 1 to 2 minutes with the defaults). Prints, for each attack, the `/healthz`
# latency (p50/p99/max over probes every 20 ms on new connections) and what the attack got back,
# then the time SIGTERM took to end the server. Targets: /healthz p99 < 100 ms during every
# attack; SIGTERM to exit <= 15 s with the default shutdown deadline (10 s).
#
# Usage: benchmarks/service/abuse.sh [--bin .build/release/ser] [--model handmade] [--seconds 10]
#        [--idle 3000] [--slow 200] [--parts 40000] [--timeouts-s 5] [--max-connections 1000]
#   --timeouts-s: read and idle timeouts of the server under attack (short, so that cutting off
#   slow senders shows within the run); --max-connections: its connection limit (below --idle, so
#   that the idle attack and the flood run into it); the SIGTERM test runs a second server with
#   the defaults.
# Needs: python3 (standard library only; SER_PYTHON chooses the interpreter). Builds `ser` in
# release mode unless --bin is given.
set -euo pipefail

cd "$(dirname "$0")/../.."
BIN="" MODEL="handmade" SECS=10 IDLE=3000 SLOW=200 PARTS=40000 TIMEOUTS=5 MAXCONN=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --seconds) SECS="$2"; shift 2 ;;
    --idle) IDLE="$2"; shift 2 ;;
    --slow) SLOW="$2"; shift 2 ;;
    --parts) PARTS="$2"; shift 2 ;;
    --timeouts-s) TIMEOUTS="$2"; shift 2 ;;
    --max-connections) MAXCONN="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
PY="${SER_PYTHON:-python3}"
if [ -z "$BIN" ]; then
  swift build -c release --product ser >&2
  BIN=.build/release/ser
fi
[ -x "$BIN" ] || { echo "abuse.sh: $BIN is not an executable" >&2; exit 2; }

WORK="$(mktemp -d /tmp/ser-abuse.XXXXXX)"
SERVER_PID="" HOLDER_PID=""
cleanup() {
  for p in "$HOLDER_PID" "$SERVER_PID"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The attacker needs file descriptors for its idle connections, the server for its limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "== ser serve abuse test: model $MODEL, ${SECS}s per attack, open-file limit $(ulimit -n)"

# A 200 s voice-like WAV for the tiny-window attack (at the smallest allowed window 0.5 s and hop
# 0.25 s it needs 799 windows, under the 1000-window cap).
"$BIN" demo-signal --out "$WORK/long.wav" --seconds 200 >/dev/null

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

start_server() {  # start_server LOG ARGS...; sets PORT and SERVER_PID
  local log="$1"; shift
  PORT="$(free_port)"
  OPENBLAS_NUM_THREADS=1 "$BIN" serve --host 127.0.0.1 --port "$PORT" --model "$MODEL" --log-level notice "$@" 2>"$log" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1)' "$PORT" 2>/dev/null; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "server did not come up" >&2; cat "$log" >&2; exit 1
}

report() {  # report JSON
  "$PY" - "$1" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); h = r["healthz"]
verdict = "ok" if h["p99_ms"] < 100 and h["errors"] == 0 else "MISSED"
print(f"{r['attack']:<10} /healthz n={h['n']:<4} errors={h['errors']:<3} p50={h['p50_ms']:.1f} ms  p99={h['p99_ms']:.1f} ms  max={h['max_ms']:.1f} ms  [{verdict}: p99 < 100 ms]")
print(f"{'':<10} attack: {json.dumps(r['attack_stats'])}")
PY
}

start_server "$WORK/server1.log" --read-timeout-s "$TIMEOUTS" --idle-timeout-s "$TIMEOUTS" --max-connections "$MAXCONN" --concurrency 2 --queue 16
"$PY" -c 'import json, sys, urllib.request; h = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz")); print("limits    ", json.dumps(h["limits"]))' "$PORT"

FAILED=0
LIMIT="$("$PY" -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz"))["limits"]["maxConnections"])' "$PORT")"
FLOOD="${FLOOD:-$((LIMIT * 4))}"
for attack in baseline slow idle multipart tiny flood; do
  if [ "$attack" = baseline ]; then
    R="$(timeout $((SECS + 60)) "$PY" benchmarks/service/abuse.py --port "$PORT" --attack slow --slow 0 --seconds "$SECS")"
    R="$(echo "$R" | sed 's/"attack": "slow"/"attack": "baseline"/')"
  elif [ "$attack" = flood ]; then
    # Four times as many idle connections as the limit, each reopened as soon as the server closes it:
    # a connection flood that keeps the server evicting (reported; see the README).
    R="$(timeout $((SECS + 120)) "$PY" benchmarks/service/abuse.py --port "$PORT" --attack idle --seconds "$SECS" --idle "$FLOOD")"
    R="$(echo "$R" | sed 's/"attack": "idle"/"attack": "flood"/')"
  else
    R="$(timeout $((SECS + 120)) "$PY" benchmarks/service/abuse.py --port "$PORT" --attack "$attack" --seconds "$SECS" \
          --idle "$IDLE" --slow "$SLOW" --parts "$PARTS" --wav "$WORK/long.wav")"
  fi
  report "$R"
  "$PY" -c 'import json, sys, urllib.request; h = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz")); print(" " * 11 + "server connections so far: " + json.dumps(h["connections"]))' "$PORT"
  # The flood goes beyond the attacks the targets are set for: reported, not counted.
  [ "$attack" = flood ] || echo "$R" | "$PY" -c 'import json,sys; h=json.load(sys.stdin)["healthz"]; sys.exit(0 if h["p99_ms"] < 100 and h["errors"] == 0 else 1)' || FAILED=1
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server died during $attack" >&2; cat "$WORK/server1.log" >&2; exit 1; }
done
echo "server    peak $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' "/proc/$SERVER_PID/status") resident; $(ls "/proc/$SERVER_PID/fd" | wc -l) open files after the attacks"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""

# SIGTERM while a client holds a half-sent body, with the default timeouts and shutdown deadline.
start_server "$WORK/server2.log" --concurrency 2
"$PY" -u benchmarks/service/abuse.py --port "$PORT" --attack halfbody --seconds 60 >"$WORK/holder.out" &
HOLDER_PID=$!
for _ in $(seq 1 100); do grep -q halfbody "$WORK/holder.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.5
T0="$(date +%s.%N)"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null && RC=0 || RC=$?
T1="$(date +%s.%N)"
SERVER_PID=""
TOOK="$("$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$T0" "$T1")"
VERDICT="$("$PY" -c "import sys; print('ok' if float(sys.argv[1]) <= 15 else 'MISSED')" "$TOOK")"
echo "sigterm    exit after ${TOOK} s (rc $RC) with a half-sent body held open  [$VERDICT: <= 15 s]"
grep -E "shutting down|shutdown deadline" "$WORK/server2.log" | sed 's/^/           log: /' | head -3
[ "$VERDICT" = ok ] || FAILED=1
[ "$FAILED" = 0 ] || { echo "abuse.sh: a target was missed" >&2; exit 1; }
