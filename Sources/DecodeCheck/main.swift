// Decodes audio files with the direct decoders (Swift WAV, libFLAC) and with libsndfile and
// compares them: every channel's samples bit for bit, the header description, and the error when
// a file fails. Prints one line per mismatch, then the counts and each decoder's total time.
// Used by benchmarks/decode/bit_identity.sh.
//
//   DecodeCheck FILE_OR_DIR...
// Exit status 0 when every file matches, 1 otherwise, 2 on bad arguments.
import Foundation
import SERAudio

let args = Array(CommandLine.arguments.dropFirst())
guard !args.isEmpty else {
    FileHandle.standardError.write(Data("usage: DecodeCheck FILE_OR_DIR...\n".utf8))
    exit(2)
}

/// One decoder's answer for a file: its samples and header, or its error.
enum Outcome {
    case decoded(AudioInfo, [Float])
    case failed(String)
}

func decode(_ url: URL, _ backend: AudioBackend, clock: inout Double) -> Outcome {
    let t0 = DispatchTime.now().uptimeNanoseconds
    defer { clock += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
    do {
        let (info, samples) = try AudioDecoder.loadInterleaved(contentsOf: url, backend: backend)
        return .decoded(info, samples)
    } catch {
        return .failed("\(error)")
    }
}

let items: [AudioFiles.Item]
do { items = try AudioFiles.collect(args) } catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(2)
}

var same = 0, sameError = 0, mismatches = 0
var samples = 0
var fastSeconds = 0.0, sndfileSeconds = 0.0
var kinds: [String: Int] = [:]
for (index, item) in items.enumerated() {
    // Alternate the order so that neither decoder always gets the file from a cold page cache.
    let fast: Outcome, ref: Outcome
    if index % 2 == 0 {
        fast = decode(item.url, .automatic, clock: &fastSeconds)
        ref = decode(item.url, .libsndfile, clock: &sndfileSeconds)
    } else {
        ref = decode(item.url, .libsndfile, clock: &sndfileSeconds)
        fast = decode(item.url, .automatic, clock: &fastSeconds)
    }
    switch (fast, ref) {
    case let (.decoded(fi, fx), .decoded(ri, rx)):
        kinds[ri.formatDescription, default: 0] += 1
        if fi != ri {
            mismatches += 1
            print("MISMATCH header \(item.url.path): direct \(fi) vs libsndfile \(ri)")
        } else if fx.count != rx.count {
            mismatches += 1
            print("MISMATCH length \(item.url.path): direct \(fx.count) vs libsndfile \(rx.count) samples")
        } else if let i = fx.indices.first(where: { fx[$0].bitPattern != rx[$0].bitPattern }) {
            mismatches += 1
            print("MISMATCH sample \(item.url.path): first at \(i): direct \(fx[i]) vs libsndfile \(rx[i])")
        } else {
            same += 1
            samples += fx.count
        }
    case let (.failed(fe), .failed(re)):
        if fe == re { sameError += 1 } else {
            mismatches += 1
            print("MISMATCH error \(item.url.path): direct \(fe) | libsndfile \(re)")
        }
    case let (.failed(fe), .decoded):
        mismatches += 1
        print("MISMATCH \(item.url.path): direct failed (\(fe)), libsndfile decoded it")
    case let (.decoded, .failed(re)):
        mismatches += 1
        print("MISMATCH \(item.url.path): libsndfile failed (\(re)), direct decoded it")
    }
}
for (k, n) in kinds.sorted(by: { $0.key < $1.key }) { print("  \(n) files: \(k)") }
print("files: \(items.count), bit-identical: \(same) (\(samples) samples), same error: \(sameError), mismatches: \(mismatches)")
print(String(format: "decode time (all channels, native rate): direct %.3f s, libsndfile %.3f s, ratio %.2fx",
             fastSeconds, sndfileSeconds, sndfileSeconds / max(fastSeconds, 1e-9)))
exit(mismatches == 0 ? 0 : 1)
