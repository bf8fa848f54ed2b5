"""Emotion probabilities of a clip with a model exported by `ser export --onnx` (hand-made features)."""
import json, sys
import librosa, numpy as np, onnxruntime as ort

def probabilities(onnx_path, audio_path):
    session = ort.InferenceSession(onnx_path)
    meta = session.get_modelmeta().custom_metadata_map          # labels, standardizer, feature_config, ...
    fc, st = json.loads(meta["feature_config"]), json.loads(meta["standardizer"])
    assert fc["blocks"] == ["spectrogram", "chroma", "mfcc", "zcr"] and fc["spectrogram"] == "mel"
    y, sr = librosa.load(audio_path, sr=fc["sampleRate"])
    n_fft, hop = fc["nFFT"], fc["hopLength"]
    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)) ** 2
    mel = librosa.power_to_db(librosa.feature.melspectrogram(S=S, sr=sr, n_mels=fc["nMels"], fmin=fc["fmin"],
                                                             fmax=fc.get("fmax")), top_db=fc["topDB"])
    x = np.concatenate([mel, librosa.feature.chroma_stft(S=S, sr=sr, n_chroma=fc["nChroma"]),
                        librosa.feature.mfcc(S=mel, n_mfcc=fc["nMFCC"]),
                        librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop)]).astype(np.float64)
    if meta["normalization"] != "global":                       # per-clip z-score ("utterance")
        x = (x - x.mean(1, keepdims=True)) / np.maximum(x.std(1, keepdims=True), 1e-5)
    x = (x - np.array(st["mean"])[:, None]) / np.array(st["std"])[:, None]
    p = session.run(["probabilities"], {"features": x[None].astype(np.float32)})[0][0]   # [batch, channels, frames]
    return dict(zip(json.loads(meta["labels"]), p.tolist()))

if __name__ == "__main__":
    print(json.dumps(probabilities(sys.argv[1], sys.argv[2]), indent=1))
