"""Whisper encoder parity: the Swift encoder (EncoderParityTool) against CTranslate2 and a float64 numpy
reference of the same weights, plus a speed comparison with CTranslate2 at the same thread count.

Steps (driven by parity.sh):
  prepare  OUT_DIR               clips (16 kHz) -> OUT_DIR/clips.safetensors
  compare  OUT_DIR CT2_DIR ST    reads OUT_DIR/swift.safetensors (the Swift tool's output), prints the
                                 errors and the speed ratio; exit status 1 when a bar is missed.

Relative error of a tensor a against a reference b: max|a - b| / max|b|.
Bars: last layer (after ln_post) vs CTranslate2 <= 1e-3; every layer vs the numpy reference <= 1e-3.
"""
import glob
import os
import platform
import subprocess
import sys
import time

import numpy as np

SR = 16000
BAR = 1e-3


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---------------------------------------------------------------------------------------------
# Clips

def shared_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("SER_SHARED", os.path.join(here, "..", "..", "..", "shared"))


def espeak(text, path):
    subprocess.run(["espeak-ng", "-w", path, text], check=True, capture_output=True)


def prepare(out_dir):
    """At least 5 clips from 0.5 s to 15 s, at 16 kHz, named by length."""
    import librosa
    from safetensors.numpy import save_file

    sources = []
    emodb = sorted(glob.glob(os.path.join(shared_dir(), "corpora", "emodb", "wav", "*.flac")))
    ravdess = sorted(glob.glob(os.path.join(shared_dir(), "corpora", "ravdess", "Actor_01", "*.flac")))
    if emodb and ravdess:
        for p in emodb[:6] + ravdess[:2]:
            sources.append(librosa.load(p, sr=SR)[0])
        origin = "EMO-DB and RAVDESS (../shared/corpora), librosa.load(sr=16000)"
    else:
        texts = ["The quick brown fox jumps over the lazy dog.",
                 "I can't believe you did that again, this is unacceptable!",
                 "Please come home soon, I miss you very much.",
                 "One, two, three, four, five, six, seven, eight, nine, ten."]
        for i, t in enumerate(texts):
            wav = os.path.join(out_dir, "espeak%d.wav" % i)
            espeak(t, wav)
            sources.append(librosa.load(wav, sr=SR)[0])
        origin = "espeak-ng speech, librosa.load(sr=16000)"
    stream = np.concatenate(sources).astype(np.float32)
    # Lengths in samples: 0.5 s, odd lengths between, 3.5 s (the timed clip), and 15 s.
    lengths = {"a_0.50s": 8000, "b_1.37s": 21_937, "c_3.50s": 56_000, "d_6.03s": 96_511,
               "e_9.99s": 159_840, "f_15.00s": 240_000}
    assert len(stream) >= max(lengths.values()), "not enough audio for a 15 s clip"
    clips = {}
    offset = 0
    for name, n in lengths.items():
        if offset + n > len(stream):
            offset = 0
        clips[name] = np.ascontiguousarray(stream[offset:offset + n])
        offset += n // 3
    save_file(clips, os.path.join(out_dir, "clips.safetensors"), metadata={"origin": origin})
    print("clips: %s (%s)" % (", ".join(clips), origin))


# ---------------------------------------------------------------------------------------------
# Reference front end (OpenAI whisper.audio.log_mel_spectrogram, numpy/librosa), no 30 s padding

def log_mel(y, n_mels=80):
    import librosa
    stft = librosa.stft(y.astype(np.float32), n_fft=400, hop_length=160, window="hann", center=True,
                        pad_mode="reflect")
    power = np.abs(stft[:, :-1]) ** 2                                   # [201, T], last frame dropped
    filters = librosa.filters.mel(sr=SR, n_fft=400, n_mels=n_mels)      # Slaney, float32
    mel = filters @ power                                               # [n_mels, T]
    log = np.log10(np.maximum(mel, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    return ((log + 4.0) / 4.0).astype(np.float32)                      # [n_mels, T]


# ---------------------------------------------------------------------------------------------
# Reference encoder in float64 (OpenAI whisper.model.AudioEncoder), every hidden state

def gelu(x):
    from scipy.special import erf
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def layer_norm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * w + b


def conv1d(x, w, b, stride):
    """x [T, Cin] time-major, w [Cout, Cin, 3], padding 1."""
    t = x.shape[0]
    xp = np.concatenate([np.zeros((1, x.shape[1])), x, np.zeros((1, x.shape[1]))])
    t_out = (t + 2 - 3) // stride + 1
    out = np.tile(b, (t_out, 1))
    for j in range(3):
        out += xp[j: j + stride * (t_out - 1) + 1: stride] @ w[:, :, j].T
    return out


def reference_states(weights, n_head, mel):
    """mel [n_mels, T] -> list of n_layer + 1 arrays [T', d] (the last after ln_post)."""
    W = {k: v.astype(np.float64) for k, v in weights.items()}
    x = gelu(conv1d(mel.T.astype(np.float64), W["encoder.conv1.weight"], W["encoder.conv1.bias"], 1))
    x = gelu(conv1d(x, W["encoder.conv2.weight"], W["encoder.conv2.bias"], 2))
    x = x + W["encoder.positional_embedding"][: x.shape[0]]
    states = [x]
    n_layer = sum(1 for k in W if k.endswith("attn.query.weight"))
    t, d = x.shape
    hd = d // n_head
    for l in range(n_layer):
        p = "encoder.blocks.%d." % l
        h = layer_norm(x, W[p + "attn_ln.weight"], W[p + "attn_ln.bias"])
        q = h @ W[p + "attn.query.weight"].T + W[p + "attn.query.bias"]
        k = h @ W[p + "attn.key.weight"].T
        v = h @ W[p + "attn.value.weight"].T + W[p + "attn.value.bias"]
        q, k, v = (a.reshape(t, n_head, hd).transpose(1, 0, 2) for a in (q, k, v))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(1, 0, 2).reshape(t, d)
        x = x + a @ W[p + "attn.out.weight"].T + W[p + "attn.out.bias"]
        h = layer_norm(x, W[p + "mlp_ln.weight"], W[p + "mlp_ln.bias"])
        h = gelu(h @ W[p + "mlp.0.weight"].T + W[p + "mlp.0.bias"])
        x = x + h @ W[p + "mlp.2.weight"].T + W[p + "mlp.2.bias"]
        states.append(x)
    states[-1] = layer_norm(x, W["encoder.ln_post.weight"], W["encoder.ln_post.bias"])
    return states


def rel(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


# ---------------------------------------------------------------------------------------------

def compare(out_dir, ct2_dir, st_path):
    import ctranslate2
    from safetensors import safe_open
    from safetensors.numpy import load_file

    threads = int(os.environ.get("THREADS", "2"))
    repeats = int(os.environ.get("REPEATS", "20"))
    clips = load_file(os.path.join(out_dir, "clips.safetensors"))
    swift = load_file(os.path.join(out_dir, "swift.safetensors"))
    with safe_open(os.path.join(out_dir, "swift.safetensors"), "np") as f:
        meta = f.metadata()
    weights = load_file(st_path)
    with safe_open(st_path, "np") as f:
        n_head = int(f.metadata()["n_head"])
    n_layer = int(meta["n_layer"])
    n_mels = int(meta["n_mels"])
    model = ctranslate2.models.Whisper(ct2_dir, device="cpu", compute_type="float32",
                                       intra_threads=threads, inter_threads=1)

    def ct2_encode(mel):
        sv = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))
        return np.array(model.encode(sv, to_cpu=True))[0]

    ok = True
    print("\nclip        samples  T'   | log-mel vs librosa | last layer vs CT2 (CT2 on librosa mel / on Swift mel)"
          " | every layer vs numpy float64 (max over layers, worst layer)")
    worst = {"mel": 0.0, "ct2": 0.0, "ct2_same": 0.0, "ref": 0.0}
    for name in sorted(clips):
        y = clips[name]
        mel_ref = log_mel(y, n_mels)                          # [n_mels, T]
        mel_swift = swift[name + ".logmel"].T                 # [n_mels, T]
        e_mel = rel(mel_swift, mel_ref)
        last = swift[name + ".h%d" % n_layer]
        ct2 = ct2_encode(mel_ref)
        ct2_same = ct2_encode(np.ascontiguousarray(mel_swift))
        e_ct2, e_ct2_same = rel(last, ct2), rel(last, ct2_same)
        ref = reference_states(weights, n_head, mel_swift)
        errs = [rel(swift[name + ".h%d" % i], ref[i]) for i in range(n_layer + 1)]
        e_ref = max(errs)
        worst = {k: max(worst[k], v) for k, v in
                 (("mel", e_mel), ("ct2", e_ct2), ("ct2_same", e_ct2_same), ("ref", e_ref))}
        print("%-10s %8d %4d  | %.2e           | %.2e / %.2e                              | %.2e (h%d)"
              % (name, len(y), last.shape[0], e_mel, e_ct2, e_ct2_same, e_ref, int(np.argmax(errs))))
        if max(e_ct2, e_ct2_same, e_ref) > BAR:
            ok = False
    print("\nworst: log-mel %.2e; last layer vs CTranslate2 %.2e (on the same mel %.2e); every layer vs numpy %.2e"
          % (worst["mel"], worst["ct2"], worst["ct2_same"], worst["ref"]))

    # Speed: encoder only (log-mel in, last layer out), the 3.5 s clip, same thread count.
    timed = meta.get("time_clip")
    if timed:
        mel = np.ascontiguousarray(swift[timed + ".logmel"].T)
        for _ in range(3):
            ct2_encode(mel)
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            ct2_encode(mel)
            ts.append((time.perf_counter() - t0) * 1e3)
        ct2_ms, ct2_min = float(np.median(ts)), float(np.min(ts))
        swift_ms, swift_min = float(meta["encoder_ms"]), float(meta["encoder_min_ms"])
        print("\nspeed, %s (%d samples), %d threads, float32, %d runs (median / min): CPU %s, load average %s"
              % (timed, len(clips[timed]), threads, repeats, cpu_model(), " ".join("%.2f" % v for v in os.getloadavg())))
        print("  Swift side: %s; %s" % (meta.get("cpu", "?"), meta.get("blas_core", "?")))
        print("  Swift encoder (log-mel -> all hidden states)   %8.2f / %8.2f ms" % (swift_ms, swift_min))
        print("  Swift front end + encoder (samples -> states)  %8.2f / %8.2f ms"
              % (float(meta["full_ms"]), float(meta["full_min_ms"])))
        print("  CTranslate2 %s encode (log-mel -> last layer) %8.2f / %8.2f ms" % (ctranslate2.__version__, ct2_ms, ct2_min))
        print("  ratio Swift / CTranslate2 = %.2fx on medians, %.2fx on minima (target <= 1.0x)"
              % (swift_ms / ct2_ms, swift_min / ct2_min))
    print("\nparity: %s (bar: relative error <= %.0e)" % ("PASS" if ok else "FAIL", BAR))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    elif sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit("usage: parity.py prepare OUT | compare OUT CT2_DIR ST")
