"""Compares the Swift STA-CNN with the PyTorch reference on what ModelParityTool wrote.

Usage: parity.py DIR   (DIR holds weights.safetensors, batch.safetensors, outputs.safetensors)
Exit status 0 when every compared quantity has relative error <= 1e-4, where
relative error = max|swift - torch| / max(max|torch|, 1e-12) over the tensor.
"""
import json
import sys

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

from stacnn import STACNN, LayerWeightedSum, make_optimizer

TOL = 1e-4


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """max|a - b| / max(max|b|, tiny); a is Swift's, b is PyTorch's."""
    a = a.detach().double().reshape(b.shape)
    b = b.detach().double()
    return float((a - b).abs().max() / max(float(b.abs().max()), 1e-12))


def main(d: str) -> int:
    torch.manual_seed(0)
    with safe_open(f"{d}/weights.safetensors", "pt") as f:
        meta = f.metadata()
    model = STACNN.from_json(meta["model_config"])
    model.load_state_dict(load_file(f"{d}/weights.safetensors"), strict=True)
    for key in ("labels", "feature_config", "standardizer"):
        json.loads(meta[key])                                  # present and valid JSON
    batch = load_file(f"{d}/batch.safetensors")
    swift = load_file(f"{d}/outputs.safetensors")
    x, lengths = batch["x"], batch["lengths"].long()
    labels, weights = batch["labels"].long(), batch["class_weights"]

    model.train()                                              # dropout is 0 in these configs
    results = []
    logits = model(x, lengths)
    loss = F.cross_entropy(logits, labels, weight=weights)
    loss.backward()
    results.append(("logits", rel(swift["logits"], logits)))
    results.append(("loss", rel(swift["loss"], loss.reshape(1))))
    for name, p in model.named_parameters():
        results.append((f"grad {name}", rel(swift["grad." + name], p.grad)))

    opt = make_optimizer(model)
    opt.zero_grad()
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = F.cross_entropy(model(x, lengths), labels, weight=weights)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    results.append(("losses (10 steps)", rel(swift["losses"], torch.tensor(losses))))
    for name, p in model.named_parameters():
        a = swift["after." + name]
        if name == "gfe.in_proj_bias":
            # The key bias adds q.b_k to every score of a row, which the softmax cancels: its gradient
            # is zero in exact arithmetic, so both implementations see only float round-off there and
            # Adam (m / sqrt(v)) turns that noise into full +-lr steps of arbitrary sign. Compare the
            # query and value parts after the Adam steps, and check the key part's gradient is ~0.
            E = p.shape[0] // 3
            keep = torch.cat([torch.arange(0, E), torch.arange(2 * E, 3 * E)])
            results.append((f"after 10 Adam steps {name} (query, value parts)", rel(a[keep], p.detach()[keep])))
            g = swift["grad." + name]
            results.append((f"grad {name} key part ~ 0 (relative to the whole)",
                            float(g[E:2 * E].abs().max() / max(float(g.abs().max()), 1e-12))))
            continue
        results.append((f"after 10 Adam steps {name}", rel(a, p)))

    if "layer.y" in swift:
        # The learned weighted sum of layers alone: forward, dL/dx and dL/dw for a given dL/dy.
        s = model.cfg["layerSum"]
        layer = LayerWeightedSum(s["offset"], s["layers"], s["width"]).double()
        with torch.no_grad():
            layer.weight.copy_(swift["layer.w"].double())
        xs = x.double().reshape(-1, x.shape[-1]).clone().requires_grad_(True)
        y = layer(xs)
        (y * swift["layer.dout"].double()).sum().backward()
        results.append(("layer sum: output", rel(swift["layer.y"], y)))
        results.append(("layer sum: grad x", rel(swift["layer.dx"], xs.grad)))
        results.append(("layer sum: grad w", rel(swift["layer.dw"], layer.weight.grad)))

    worst = max(r for _, r in results)
    ok = worst <= TOL
    print(f"parity {d}: {len(results)} comparisons, worst relative error {worst:.3e} "
          f"({'PASS' if ok else 'FAIL'}, tolerance {TOL:g})")
    for name, r in results:
        if r > TOL or "-v" in sys.argv:
            print(f"  {'FAIL' if r > TOL else 'ok  '} {name}: {r:.3e}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
