"""Writes damaged WAV and FLAC files for comparing the direct decoders with libsndfile.

Usage: python mutated_files.py OUT_DIR   (then: .build/release/DecodeCheck OUT_DIR/wav OUT_DIR/flac)

OUT_DIR/wav: 6000 files from six small WAV files (16-bit, 24-bit EXTENSIBLE, float, unsigned 8-bit,
32-bit EXTENSIBLE, 3-channel double) with random header bytes, size fields set to edge values,
cuts, or an extra chunk (odd or even size) inserted before `data`.
OUT_DIR/flac: 3000 files from four FLAC files (16/24/8 bit, mono and stereo) with flipped bytes
anywhere, random bytes in the first 120 (STREAMINFO, tags, first frame), or cuts.
Seeded: the same files every run. Needs numpy and soundfile (benchmarks/.venv has both).
"""
import io
import os
import random
import sys

import numpy as np
import soundfile as sf

out = sys.argv[1]
rng = np.random.default_rng(1)


def encoded(channels, subtype, fmt, frames, rate):
    b = io.BytesIO()
    sf.write(b, rng.uniform(-0.9, 0.9, (frames, channels)).astype(np.float32), rate, subtype=subtype, format=fmt)
    return b.getvalue()


wav = [encoded(c, s, f, 501, 8000) for c, s, f in [(1, "PCM_16", "WAV"), (2, "PCM_24", "WAVEX"), (1, "FLOAT", "WAV"),
                                                    (2, "PCM_U8", "WAV"), (1, "PCM_32", "WAVEX"), (3, "DOUBLE", "WAV")]]
flac = [encoded(c, s, "FLAC", 20001, 16000) for c, s in [(1, "PCM_16"), (2, "PCM_24"), (1, "PCM_S8"), (2, "PCM_16")]]

os.makedirs(f"{out}/wav", exist_ok=True)
r = random.Random(7)
for i in range(6000):
    b = bytearray(wav[i % len(wav)])
    kind = r.randrange(4)
    if kind == 0:  # random header bytes
        for _ in range(r.randint(1, 3)):
            b[r.randrange(min(len(b), 90))] = r.randrange(256)
    elif kind == 1:  # a size field (RIFF, fmt, data) set to an edge or random value
        d = b.find(b"data")
        off = r.choice([4, 16, d + 4 if d > 0 else 4])
        v = r.choice([0, 1, 2, 3, 0xFFFFFFFF, len(b), len(b) - 8, len(b) - 9, r.randrange(1 << 32)])
        b[off:off + 4] = v.to_bytes(4, "little")
    elif kind == 2:  # cut
        b = b[:r.randrange(len(b))]
    else:  # a chunk before data, odd sizes padded or not
        d = b.find(b"data")
        if d > 0:
            size = r.randrange(0, 7)
            pad = size & 1 if r.random() < 0.5 else 0
            b[d:d] = b"junk" + size.to_bytes(4, "little") + bytes(size + pad)
    with open(f"{out}/wav/f{i:05d}.wav", "wb") as f:
        f.write(b)

os.makedirs(f"{out}/flac", exist_ok=True)
r = random.Random(9)
for i in range(3000):
    b = bytearray(flac[i % len(flac)])
    kind = r.randrange(3)
    if kind == 0:
        for _ in range(r.randint(1, 3)):
            b[r.randrange(len(b))] ^= r.randrange(255) + 1
    elif kind == 1:
        for _ in range(r.randint(1, 2)):
            b[r.randrange(min(len(b), 120))] = r.randrange(256)
    else:
        b = b[:r.randrange(len(b))]
    with open(f"{out}/flac/f{i:05d}.flac", "wb") as f:
        f.write(b)
print(f"wrote {out}/wav (6000 files) and {out}/flac (3000 files)")
