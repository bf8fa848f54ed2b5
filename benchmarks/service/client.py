#!/usr/bin/env python3
"""Load generator for `ser serve` (standard library only).

Sends POST /v1/recognize with the given WAV files from C concurrent clients, at most R requests in
all and at most T seconds, to 127.0.0.1 only. Prints one JSON object: requests, ok, errors (non-200
or failed), status counts, requests/s, latency p50/p90/p99/max in ms.
"""
import argparse, http.client, json, os, sys, threading, time
from concurrent.futures import ThreadPoolExecutor


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--path", default="/v1/recognize")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    bodies = [open(f, "rb").read() for f in a.files]
    lock = threading.Lock()
    issued = [0]
    latencies, statuses, failures = [], {}, []
    deadline = time.monotonic() + a.seconds

    def worker(wid):
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
        while True:
            with lock:
                if issued[0] >= a.requests or time.monotonic() >= deadline:
                    break
                i = issued[0]
                issued[0] += 1
            body = bodies[i % len(bodies)]
            t0 = time.monotonic()
            try:
                conn.request("POST", a.path, body=body, headers={"Content-Type": "audio/wav"})
                r = conn.getresponse()
                data = r.read()
                dt = (time.monotonic() - t0) * 1000
                with lock:
                    latencies.append(dt)
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    if r.status != 200 and len(failures) < 5:
                        failures.append(data[:200].decode("utf-8", "replace"))
            except Exception as e:  # connection errors count as errors
                with lock:
                    statuses["exception"] = statuses.get("exception", 0) + 1
                    if len(failures) < 5:
                        failures.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
        conn.close()

    t0 = time.monotonic()
    with ThreadPoolExecutor(a.concurrency) as ex:
        list(ex.map(worker, range(a.concurrency)))
    wall = time.monotonic() - t0
    n = sum(v for v in statuses.values())
    ok = statuses.get(200, 0)
    print(json.dumps({
        "requests": n, "ok": ok, "errors": n - ok, "status": {str(k): v for k, v in statuses.items()},
        "wall_s": round(wall, 3), "requests_per_s": round(n / wall, 2) if wall > 0 else None,
        "p50_ms": round(percentile(latencies, 50), 1), "p90_ms": round(percentile(latencies, 90), 1),
        "p99_ms": round(percentile(latencies, 99), 1), "max_ms": round(max(latencies), 1) if latencies else None,
        "concurrency": a.concurrency, "sample_failures": failures,
    }))


if __name__ == "__main__":
    main()
