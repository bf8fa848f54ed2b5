// Times (median of N runs, one thread): load = libsndfile decode + mono mix + soxr HQ resample to
// 22050 Hz (what librosa.load does; a stand-in until SERAudio is used here), the fused features,
// both together, and each individual feature function.
import BSndFile
import BSoxr
import Foundation
import SERCore
import SERFeatures

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

func load(_ path: String, sr: Int) -> [Float] {
    var info = SF_INFO()
    guard let f = sf_open(path, Int32(SFM_READ), &info) else { fail("\(path): cannot open") }
    let n = Int(info.frames), ch = Int(info.channels)
    var buf = [Float](repeating: 0, count: n * ch)
    _ = sf_readf_float(f, &buf, sf_count_t(n))
    sf_close(f)
    var mono = buf
    if ch > 1 { mono = (0..<n).map { i in (0..<ch).reduce(Float(0)) { $0 + buf[i * ch + $1] } / Float(ch) } }
    let outLen = Int((Double(n) * Double(sr) / Double(info.samplerate)).rounded(.up))
    var out = [Float](repeating: 0, count: outLen + 16)
    var done = 0
    var q = soxr_quality_spec(UInt(SOXR_HQ), 0)
    var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
    if soxr_oneshot(Double(info.samplerate), Double(sr), 1, mono, n, nil, &out, outLen + 16, &done, &io, &q, nil) != nil {
        fail("\(path): soxr failed")
    }
    return Array(out.prefix(done))
}

BLAS.setThreads(1)
let args = CommandLine.arguments
guard args.count > 1 else { fail("usage: Bench clip.flac [repeats]") }
let path = args[1]
let reps = args.count > 2 ? max(1, Int(args[2]) ?? 200) : 200
let y = load(path, sr: 22050)
let fx = FeatureExtractor(config: FeatureConfig())
var out = Tensor(shape: [0, 0])
fx.extract(y, into: &out)
var tl: [Double] = [], tf: [Double] = [], ta: [Double] = []
for _ in 0..<reps {
    var t0 = now()
    let z = load(path, sr: 22050)
    tl.append(now() - t0)
    t0 = now()
    fx.extract(y, into: &out)
    tf.append(now() - t0)
    t0 = now()
    fx.extract(load(path, sr: 22050), into: &out)
    ta.append(now() - t0)
    _ = z
}
print("clip \(path): \(y.count) samples at 22050 Hz, features \(out.shape)")
print(String(format: "swift load (libsndfile + soxr HQ): %.3f ms", median(tl) * 1e3))
print(String(format: "swift features (FeatureExtractor): %.3f ms", median(tf) * 1e3))
print(String(format: "swift load + features:             %.3f ms", median(ta) * 1e3))
let steps: [(String, () -> Void)] = [
    ("stftMagnitude", { _ = fx.stftMagnitude(y) }), ("melPower", { _ = fx.melPower(y) }),
    ("mfcc", { _ = fx.mfcc(y) }), ("chroma", { _ = fx.chroma(y) }), ("zcr", { _ = fx.zcr(y) }),
    ("estimateTuning", { _ = fx.estimateTuning(y) }),
]
for (name, f) in steps {
    var ts: [Double] = []
    for _ in 0..<reps {
        let t0 = now()
        f()
        ts.append(now() - t0)
    }
    print(String(format: "  %@: %.3f ms", name, median(ts) * 1e3))
}
