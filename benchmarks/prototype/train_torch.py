import os, sys, numpy as np, torch, torch.nn as nn, time, argparse, re
p = argparse.ArgumentParser()
p.add_argument("corpus"); p.add_argument("--seed", type=int, default=0); p.add_argument("--epochs", type=int, default=80)
p.add_argument("--lr", type=float, default=1e-4); p.add_argument("--wd", type=float, default=1e-3)
p.add_argument("--conv", default="128,128,128"); p.add_argument("--hidden", type=int, default=64); p.add_argument("--heads", type=int, default=4)
p.add_argument("--dropout", type=float, default=0.3); p.add_argument("--pool", default="sum"); p.add_argument("--bs", type=int, default=32)
p.add_argument("--protocol", default="622"); p.add_argument("--aug", type=int, default=0); p.add_argument("--threads", type=int, default=1)
p.add_argument("--chans", default="all")
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(a.seed); rng = np.random.default_rng(a.seed)
d = np.load(os.path.join(os.environ.get("PROTO_DIR", "."), f"{a.corpus}.npz"))
keys = sorted(d.files)
def label_spk(k):
    b = os.path.basename(k)
    if a.corpus == "ravdess":
        parts = b.split(".")[0].split("-"); return int(parts[2]) - 1, int(parts[6])
    if a.corpus == "emodb":
        return "WLEAFTN".index(b[5]), b[:2]
    if a.corpus == "savee":
        spk = k.split("/")[-2]; m = re.match(r"(sa|su|a|d|f|h|n)", b); return ["a","d","f","h","n","sa","su"].index(m.group(1)), spk
X = [d[k] for k in keys]; Y = np.array([label_spk(k)[0] for k in keys]); S = np.array([str(label_spk(k)[1]) for k in keys])
if a.chans != "all":
    sl = {"spec": slice(0,128), "chroma": slice(128,140), "mfcc": slice(140,180), "zcr": slice(180,181)}[a.chans]
    X = [x[sl] for x in X]
C = len(set(Y)); N = len(X)
# split
if a.protocol == "622":
    tr, va, te = [], [], []
    for c in range(C):
        idx = rng.permutation(np.where(Y == c)[0]); n = len(idx); ntr = int(round(n*0.6)); nva = int(round(n*0.2))
        tr += list(idx[:ntr]); va += list(idx[ntr:ntr+nva]); te += list(idx[ntr+nva:])
else:  # speaker independent: fold k of speakers
    spk = sorted(set(S)); k = int(a.protocol)
    if a.corpus == "ravdess": groups = [spk[i::6] for i in range(6)]
    else: groups = [[s] for s in spk]
    test_s = set(groups[k % len(groups)]); val_s = set(groups[(k+1) % len(groups)])
    te = [i for i in range(N) if S[i] in test_s]; va = [i for i in range(N) if S[i] in val_s]; tr = [i for i in range(N) if S[i] not in test_s|val_s]
cat = np.concatenate([X[i] for i in tr], 1); mu = cat.mean(1, keepdims=True); sd = cat.std(1, keepdims=True) + 1e-5
Xs = [torch.tensor((x - mu)/sd, dtype=torch.float32) for x in X]
class M(nn.Module):
    def __init__(s, cin, C):
        super().__init__(); ch = [cin] + [int(c) for c in a.conv.split(",")]
        s.convs = nn.ModuleList([nn.Conv1d(ch[i], ch[i+1], 3, padding=1) for i in range(3)])
        s.lstm = nn.LSTM(ch[-1], a.hidden, batch_first=True, bidirectional=True)
        s.att = nn.MultiheadAttention(2*a.hidden, a.heads, batch_first=True)
        s.drop = nn.Dropout(a.dropout); s.fc = nn.Linear(2*a.hidden, C)
    def forward(s, x, lens):  # x (B, C, T)
        for c in s.convs:
            x = torch.max_pool1d(torch.relu(c(x)), 2); lens = torch.clamp(lens // 2, min=1)
            T = x.shape[2]; m = (torch.arange(T)[None, :] < lens[:, None]).float(); x = x * m[:, None, :]
        h = x.transpose(1, 2)
        h = nn.utils.rnn.pack_padded_sequence(h, lens, batch_first=True, enforce_sorted=False)
        h, _ = s.lstm(h); h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=T)
        kpm = torch.arange(T)[None, :] >= lens[:, None]
        o, _ = s.att(h, h, h, key_padding_mask=kpm, need_weights=False)
        o = o * (~kpm).float()[:, :, None]
        o = o.sum(1) if a.pool == "sum" else o.sum(1) / lens[:, None].float()
        return s.fc(s.drop(o))
def batch(ids, train=False):
    xs = [Xs[i] for i in ids]
    if train and a.aug:
        out = []
        for x in xs:
            x = x.clone(); T = x.shape[1]
            # time mask + channel mask
            for _ in range(2):
                w = rng.integers(0, max(1, T//8)); t0 = rng.integers(0, max(1, T - w)); x[:, t0:t0+w] = 0
                w = rng.integers(0, 20); c0 = rng.integers(0, max(1, x.shape[0]-w)); x[c0:c0+w, :] = 0
            out.append(x)
        xs = out
    lens = torch.tensor([x.shape[1] for x in xs]); T = int(lens.max())
    xb = torch.zeros(len(xs), xs[0].shape[0], T)
    for j, x in enumerate(xs): xb[j, :, :x.shape[1]] = x
    return xb, lens, torch.tensor(Y[ids])
m = M(Xs[0].shape[0], C); opt = torch.optim.Adam(m.parameters(), lr=a.lr, weight_decay=a.wd)
def evaluate(ids):
    m.eval(); correct = 0
    with torch.no_grad():
        for i in range(0, len(ids), 64):
            xb, l, yb = batch(ids[i:i+64]); correct += (m(xb, l).argmax(1) == yb).sum().item()
    m.train(); return correct / len(ids)
best = (-1, 0, 0); t0 = time.time(); tr = np.array(tr)
for ep in range(a.epochs):
    perm = rng.permutation(tr); tl = 0
    for i in range(0, len(perm), a.bs):
        xb, l, yb = batch(perm[i:i+a.bs], True); loss = nn.functional.cross_entropy(m(xb, l), yb)
        opt.zero_grad(); loss.backward(); opt.step(); tl += loss.item()
    va_acc = evaluate(va)
    if va_acc > best[0]: best = (va_acc, evaluate(te), ep)
    if ep % 10 == 9: print(f"ep {ep+1} loss {tl/(len(perm)/a.bs):.3f} val {va_acc:.3f} best val {best[0]:.3f} test@best {best[1]:.3f} (ep {best[2]+1}) {time.time()-t0:.0f}s", flush=True)
print(f"RESULT {a.corpus} proto={a.protocol} seed={a.seed} val={best[0]:.4f} test={best[1]:.4f} ep={best[2]+1}")
