import os, sys, glob, numpy as np, librosa, time
os.environ.setdefault("OMP_NUM_THREADS","1")
corpus, root, out = sys.argv[1], sys.argv[2], sys.argv[3]
files = sorted(glob.glob(os.path.join(root, "**/*.flac"), recursive=True))
feats = {}
t0=time.time()
for i,f in enumerate(files):
    y, sr = librosa.load(f, sr=22050)
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))**2
    mel = librosa.feature.melspectrogram(S=S, sr=sr, n_mels=128)
    meldb = librosa.power_to_db(mel, ref=1.0, top_db=80)
    chroma = librosa.feature.chroma_stft(S=S, sr=sr)
    mfcc = librosa.feature.mfcc(S=meldb, n_mfcc=40)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512)
    feats[os.path.relpath(f, root)] = np.concatenate([meldb, chroma, mfcc, zcr], 0).astype(np.float32)
    if i % 200 == 0: print(i, len(files), time.time()-t0, flush=True)
np.savez(out, **feats)
print("done", len(files), time.time()-t0)
