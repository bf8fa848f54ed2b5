"""ONNX export check: `ser export --onnx` run with onnxruntime against `ser` itself.

For each bundled model (handmade, default):
  1. `ser export --onnx M.onnx --model NAME --check-inputs CLIPS --check-out DIR` writes the ONNX file and,
     per clip, the model input `ser` builds ([1, channels, frames], after normalisation and standardiser)
     and the probabilities of `ser`'s classifier on the whole clip (what `ser predict --keep-silence` prints);
  2. onnx.checker (with shape inference) accepts the file;
  3. onnxruntime runs the graph on each input, alone and as a batch of two copies; the largest
     |p_onnx - p_ser| over all clips and classes must be <= 1e-4 (the logits are compared too, relative to
     max(1, max|z|), as near-uniform probabilities of very short clips hide differences);
  4. with torch installed, the ONNX logits match the PyTorch reference (benchmarks/model/stacnn.py) on random
     inputs of 1 to 100 frames (relative <= 1e-4): near-uniform probabilities of very short clips would hide a
     pooling mistake, logits do not.
Then the README's example (example.py: librosa features + onnxruntime + the metadata's standardiser) is run
on short clips with the handmade model and compared with `ser predict --model handmade --keep-silence`
(<= 1e-3); the difference to plain `ser predict` (silence trimmed) is printed, not asserted. Last, the
README's Python example must be example.py verbatim.

Usage: check.py --ser PATH --work DIR CLIP...   (exit status 0 = PASS)
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example  # noqa: E402  (the README's code, run as it stands)

TOLERANCE_NETWORK = 1e-4
TOLERANCE_EXAMPLE = 1e-3


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def predict_probabilities(ser, model, clip, keep_silence):
    """Class probabilities `ser predict --format jsonl` prints for one clip, as {label: p}."""
    cmd = [ser, "predict", clip, "--model", model, "--format", "jsonl", "--quiet"] + (["--keep-silence"] if keep_silence else [])
    row = json.loads(run(cmd).strip().splitlines()[0])
    probs = row["probabilities"]
    if isinstance(probs, list):          # [{"emotion": ..., "probability": ...}]
        probs = {p["emotion"]: p["probability"] for p in probs}
    return probs


def check_network(ser, model, clips, work):
    onnx_path = os.path.join(work, f"{model}.onnx")
    dump = os.path.join(work, f"{model}-inputs")
    print(run([ser, "export", "--onnx", onnx_path, "--model", model, "--check-inputs", *clips, "--check-out", dump]).strip())
    onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    worst, worst_clip, worst_z = 0.0, None, 0.0
    for entry in json.load(open(os.path.join(dump, "manifest.json"))):
        t = load_file(os.path.join(dump, entry["file"]))
        x, p_ser, z_ser = t["input"], t["probabilities"], t["logits"]
        p_onnx, z_onnx = session.run(["probabilities", "logits"], {"features": x})
        p_batch = session.run(["probabilities"], {"features": np.concatenate([x, x])})[0]
        d = max(np.abs(p_onnx - p_ser).max(), np.abs(p_batch - np.concatenate([p_ser, p_ser])).max())
        dz = np.abs(z_onnx - z_ser).max() / max(1.0, np.abs(z_ser).max())
        print(f"  {model}: {entry['frames']:>5} frames  max|p diff| {d:.2e}  logits rel. diff {dz:.2e}  "
              f"{os.path.basename(entry['source'])}")
        if d > worst:
            worst, worst_clip = d, entry["source"]
        worst_z = max(worst_z, dz)
    ok = bool(worst <= TOLERANCE_NETWORK and worst_z <= TOLERANCE_NETWORK)
    print(f"{model}: network max|p_onnx - p_ser| = {worst:.3e} over {len(clips)} inputs (worst {worst_clip}), "
          f"logits max relative diff {worst_z:.3e}: {'PASS' if ok else 'FAIL'} (<= {TOLERANCE_NETWORK})")
    return ok, onnx_path


def check_reference(model, onnx_path, root):
    """ONNX logits against the PyTorch reference (benchmarks/model/stacnn.py) on random inputs of 1..100 frames:
    the logits are not squashed by a softmax, so short inputs (1-, 2-, 3-frame poolings) are tested as sharply as
    long ones. Skipped without torch."""
    try:
        import torch
        sys.path.insert(0, os.path.join(root, "benchmarks", "model"))
        from stacnn import STACNN
        from safetensors import safe_open
    except ImportError as e:
        print(f"{model}: PyTorch reference skipped ({e})")
        return True
    path = os.path.join(root, "models", f"{model}.safetensors")
    net = STACNN.from_json(safe_open(path, "np").metadata()["model_config"])
    net.load_state_dict({k: torch.from_numpy(v) for k, v in load_file(path).items()}, strict=True)
    net.eval()
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    rng, worst = np.random.default_rng(0), 0.0
    for T in [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 100]:
        x = 2 * rng.standard_normal((1, net.cfg["inputChannels"], T)).astype(np.float32)
        with torch.no_grad():
            z_torch = net(torch.from_numpy(x).transpose(1, 2), torch.tensor([T])).numpy()
        z_onnx = session.run(["logits"], {"features": x})[0]
        worst = max(worst, np.abs(z_torch - z_onnx).max() / max(1.0, np.abs(z_torch).max()))
    ok = bool(worst <= TOLERANCE_NETWORK)
    print(f"{model}: logits vs the PyTorch reference, 1..100 frames: max relative diff {worst:.3e}: "
          f"{'PASS' if ok else 'FAIL'} (<= {TOLERANCE_NETWORK})")
    return ok


def check_example(ser, onnx_path, clips):
    worst = 0.0
    for clip in clips:
        p_py = example.probabilities(onnx_path, clip)
        p_keep = predict_probabilities(ser, "handmade", clip, keep_silence=True)
        p_trim = predict_probabilities(ser, "handmade", clip, keep_silence=False)
        d_keep = max(abs(p_py[k] - p_keep[k]) for k in p_keep)
        d_trim = max(abs(p_py[k] - p_trim[k]) for k in p_trim)
        worst = max(worst, d_keep)
        print(f"  example.py vs ser predict --keep-silence: {d_keep:.2e}   vs ser predict (trimmed): {d_trim:.2e}   "
              f"{os.path.basename(clip)}")
    ok = bool(worst <= TOLERANCE_EXAMPLE)
    print(f"example: max|p_example - p_ser_predict_keep_silence| = {worst:.3e} over {len(clips)} clips: "
          f"{'PASS' if ok else 'FAIL'} (<= {TOLERANCE_EXAMPLE})")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ser", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default="handmade,default")
    ap.add_argument("--example-clips", type=int, default=4, help="clips (the first N) for the README example")
    ap.add_argument("clips", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}")
    status = True
    exported = {}
    for model in a.models.split(","):
        ok, path = check_network(a.ser, model, a.clips, a.work)
        status &= ok & check_reference(model, path, root)
        exported[model] = path
    if "handmade" in exported:
        status &= check_example(a.ser, exported["handmade"], a.clips[: a.example_clips])
    readme = os.path.join(root, "README.md")
    verbatim = open(example.__file__).read() in open(readme).read()
    print(f"README's Python example is benchmarks/onnx/example.py verbatim: {'PASS' if verbatim else 'FAIL'}")
    status &= verbatim
    print("onnx check: PASS" if status else "onnx check: FAIL")
    return 0 if status else 1


if __name__ == "__main__":
    sys.exit(main())
