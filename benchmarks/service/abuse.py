#!/usr/bin/env python3
"""Abuse patterns against `ser serve` on 127.0.0.1 (standard library only), bounded in count and time.

Each attack runs for --seconds while a prober (a separate process, `--attack probe`) sends
`GET /healthz` every 20 ms on a new connection (as a load balancer would) and records its latency; a probe that fails or takes longer than 2 s
counts as an error and as 2000 ms. Prints one JSON object per attack:
  {"attack", "seconds", "healthz": {"n", "errors", "p50_ms", "p99_ms", "max_ms"}, "attack_stats": {...}}

Attacks:
  slow       --slow slow senders: a POST head (Content-Length 1 MB) then 1 byte every 0.5 s.
  idle       --idle idle connections held open (reopened when the server closes them).
  multipart  --multipart-clients clients posting bodies of --parts tiny multipart parts in a loop.
  tiny       clients posting ?segment=true&window=0.000001&hop=0.000001, and clients asking the
             smallest allowed window and hop over a long WAV (--wav), in a loop.
  halfbody   one POST whose body is half sent, then held (for the SIGTERM test): prints
             {"attack": "halfbody", "sent": N} once the head and half the body are sent, then waits.
"""
import argparse, json, os, resource, socket, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import percentile  # noqa: E402  (the load client's nearest-rank percentile)


class Prober(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.lat, self.errors = port, threading.Event(), [], 0

    def run(self):
        req = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nConnection: close\r\n\r\n".encode()
        while not self.stop.is_set():
            t = time.monotonic()
            ok = False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.settimeout(2)
                    s.sendall(req)
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    ok = data.startswith(b"HTTP/1.1 200")
            except OSError:
                ok = False
            dt = (time.monotonic() - t) * 1000
            if not ok:
                self.errors += 1
                dt = max(dt, 2000.0)
            self.lat.append(dt)
            time.sleep(0.02)

    def summary(self):
        return {"n": len(self.lat), "errors": self.errors, "p50_ms": round(percentile(self.lat, 50), 2),
                "p99_ms": round(percentile(self.lat, 99), 2), "max_ms": round(max(self.lat, default=float("nan")), 2)}


def status_of(data):
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def post(port, path, body, headers=None, timeout=90):
    """One POST on a new connection; returns (status or None, seconds)."""
    t = time.monotonic()
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            try:
                s.sendall(head.encode() + b"\r\n" + body)
            except OSError:
                pass  # the server may answer early and stop reading
            data = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            return status_of(data), time.monotonic() - t
    except OSError:
        return None, time.monotonic() - t


def attack_slow(a, stop, stats):
    def one(i):
        while not stop.is_set():
            t = time.monotonic()
            try:
                s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
                s.sendall(f"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nRIFF".encode())
                s.settimeout(0.5)
                data = b""
                while not stop.is_set():
                    try:
                        s.send(b"x")
                    except OSError:
                        break
                    try:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    except socket.timeout:
                        pass
                    except OSError:
                        break
                s.close()
                if not stop.is_set():
                    with stats["lock"]:
                        stats["cut_off"] += 1
                        stats["held_s"].append(time.monotonic() - t)
                        st = status_of(data)
                        stats["status"][str(st)] = stats["status"].get(str(st), 0) + 1
            except OSError:
                with stats["lock"]:
                    stats["connect_errors"] += 1
                time.sleep(0.2)
    stats.update({"cut_off": 0, "held_s": [], "status": {}, "connect_errors": 0})
    return [threading.Thread(target=one, args=(i,), daemon=True) for i in range(a.slow)]


def attack_idle(a, stop, stats):
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = min(a.idle, max(0, soft - 200))
    stats.update({"target": n, "opened": 0, "closed_by_server": 0, "connect_errors": 0})

    def run():
        import selectors
        sel = selectors.DefaultSelector()
        socks = set()
        while not stop.is_set():
            while len(socks) < n and not stop.is_set():
                try:
                    s = socket.create_connection(("127.0.0.1", a.port), timeout=2)
                    s.setblocking(False)
                    sel.register(s, selectors.EVENT_READ)
                    socks.add(s)
                    stats["opened"] += 1
                except OSError:
                    stats["connect_errors"] += 1
                    time.sleep(0.05)
                    break
            for key, _ in sel.select(timeout=0.1):
                s = key.fileobj
                try:
                    gone = not s.recv(4096)
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if gone:
                    sel.unregister(s)
                    s.close()
                    socks.discard(s)
                    stats["closed_by_server"] += 1
        for s in socks:
            s.close()
    return [threading.Thread(target=run, daemon=True)]


def attack_multipart(a, stop, stats):
    boundary = "abuse-boundary"
    part = f"--{boundary}\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n".encode()
    body = part * a.parts + f"--{boundary}--\r\n".encode()
    stats.update({"parts": a.parts, "body_bytes": len(body), "requests": 0, "status": {}, "latency_s": []})

    def one():
        while not stop.is_set():
            st, dt = post(a.port, "/v1/recognize", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
            with stats["lock"]:
                stats["requests"] += 1
                stats["status"][str(st)] = stats["status"].get(str(st), 0) + 1
                stats["latency_s"].append(dt)
    return [threading.Thread(target=one, daemon=True) for _ in range(a.multipart_clients)]


def attack_tiny(a, stop, stats):
    wav = open(a.wav, "rb").read()
    stats.update({"requests": 0, "status": {}, "latency_s": {}})
    paths = ["/v1/recognize?segment=true&window=0.000001&hop=0.000001",
             f"/v1/recognize?segment=true&window={a.min_window}&hop={a.min_hop}"]

    def one(path):
        while not stop.is_set():
            st, dt = post(a.port, path, wav)
            with stats["lock"]:
                stats["requests"] += 1
                key = f"{'tiny' if 'window=0.000001' in path else 'smallest_allowed'}:{st}"
                stats["status"][key] = stats["status"].get(key, 0) + 1
                stats["latency_s"].setdefault(key, []).append(dt)
    return [threading.Thread(target=one, args=(paths[i % 2],), daemon=True) for i in range(a.tiny_clients)]


def halfbody(a):
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    s.sendall(b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + b"RIFF" + b"\0" * 99996)
    print(json.dumps({"attack": "halfbody", "sent": 100000}), flush=True)
    t = time.monotonic()
    s.settimeout(1)
    while time.monotonic() - t < a.seconds:
        try:
            if not s.recv(4096):
                break
        except socket.timeout:
            continue
        except OSError:
            break
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--attack", required=True, choices=["slow", "idle", "multipart", "tiny", "halfbody", "probe"])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--idle", type=int, default=3000)
    ap.add_argument("--multipart-clients", type=int, default=4)
    ap.add_argument("--parts", type=int, default=40000)
    ap.add_argument("--tiny-clients", type=int, default=4)
    ap.add_argument("--wav")
    ap.add_argument("--min-window", type=float, default=0.5)
    ap.add_argument("--min-hop", type=float, default=0.25)
    a = ap.parse_args()
    if a.attack == "halfbody":
        halfbody(a)
        return
    if a.attack == "probe":
        prober = Prober(a.port)
        prober.start()
        time.sleep(a.seconds)
        prober.stop.set()
        prober.join()
        print(json.dumps(prober.summary()))
        return
    stop = threading.Event()
    stats = {"lock": threading.Lock()}
    threads = {"slow": attack_slow, "idle": attack_idle, "multipart": attack_multipart, "tiny": attack_tiny}[a.attack](a, stop, stats)
    for t in threads:
        t.start()
    time.sleep(min(1.0, a.seconds / 4))   # let the attack build up before probing
    # The prober runs in its own process, so the attack's threads (and Python's GIL) do not
    # delay its measurements.
    import subprocess
    probe = subprocess.run([sys.executable, os.path.abspath(__file__), "--port", str(a.port), "--attack", "probe",
                            "--seconds", str(a.seconds)], capture_output=True, text=True, timeout=a.seconds + 60)
    healthz = json.loads(probe.stdout)
    stop.set()
    for t in threads:
        t.join(timeout=5)
    stats.pop("lock")
    for k in ("held_s",):
        if k in stats:
            v = stats[k]
            stats[k] = {"n": len(v), "max": round(max(v, default=0), 2)}
    if isinstance(stats.get("latency_s"), list):
        v = stats["latency_s"]
        stats["latency_s"] = {"p50": round(percentile(v, 50), 3), "max": round(max(v, default=0), 3)}
    elif isinstance(stats.get("latency_s"), dict):
        stats["latency_s"] = {k: {"p50": round(percentile(v, 50), 3), "max": round(max(v), 3)} for k, v in stats["latency_s"].items()}
    print(json.dumps({"attack": a.attack, "seconds": a.seconds, "healthz": healthz, "attack_stats": stats}))


if __name__ == "__main__":
    main()
