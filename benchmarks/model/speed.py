"""Times the PyTorch reference STA-CNN like `ModelParityTool speed` times the Swift one.

Training step = zero_grad + forward + cross-entropy + backward + Adam step on a batch of B clips
of lengths T - (7 b mod 40) frames (C channels); inference = one T-frame clip under
torch.inference_mode(). Prints one JSON line with medians and the peak RSS.
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn.functional as F

from stacnn import STACNN, make_optimizer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--frames", type=int, default=151)
    ap.add_argument("--channels", type=int, default=181)
    ap.add_argument("--classes", type=int, default=7)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--infer", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    B, T, C, K = a.batch, a.frames, a.channels, a.classes
    model = STACNN({"inputChannels": C, "numClasses": K, "dropout": 0.3})
    lengths = torch.tensor([max(1, T - (7 * b) % 40) for b in range(B)])
    x = torch.randn(B, T, C) * (torch.arange(T)[None, :, None] < lengths[:, None, None])
    labels = torch.tensor([(b * 5 + 1) % K for b in range(B)])
    opt = make_optimizer(model)
    model.train()

    def step() -> None:
        opt.zero_grad()
        loss = F.cross_entropy(model(x, lengths), labels)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    times, cpu = [], []
    for _ in range(a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    train_ms = statistics.median(times)
    train_cpu_ms = statistics.median(cpu)

    model.eval()
    clip = torch.randn(1, T, C)
    one = torch.tensor([T])
    with torch.inference_mode():
        for _ in range(10):
            torch.softmax(model(clip, one), dim=-1)
        times = []
        for _ in range(a.infer):
            t0 = time.perf_counter()
            torch.softmax(model(clip, one), dim=-1)
            times.append((time.perf_counter() - t0) * 1e3)
    infer_ms = statistics.median(times)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"impl": "pytorch", "train_step_ms": round(train_ms, 3),
                      "train_step_cpu_ms": round(train_cpu_ms, 3), "infer_ms": round(infer_ms, 4),
                      "peak_rss_mib": round(rss, 1), "params": sum(p.numel() for p in model.parameters()),
                      "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "kernel": torch.backends.cpu.get_cpu_capability()}))


if __name__ == "__main__":
    main()
