// Decodes audio files with the direct decoders (Swift WAV, libFLAC) and with libsndfile and
// compares them: every channel's samples bit for bit, the header description, and the error when
// a file fails. Prints one line per mismatch, then the counts and each decoder's total time.
// Damage inside a FLAC stream that the direct path reports as `AudioError.corrupt` while
// libsndfile reports another error (it calls a CRC failure truncation) is listed as CORRUPT and
// counted apart: that difference is intended.
// Used by benchmarks/decode/bit_identity.sh.
//
//   DecodeCheck FILE_OR_DIR...
//   DecodeCheck --speed FILE_OR_DIR...   (times both decoders instead; see `speed`)
// Exit status 0 when every file matches, 1 otherwise, 2 on bad arguments.
import Foundation
import SERAudio
import SERCore

var args = Array(CommandLine.arguments.dropFirst())
let speedMode = args.first == "--speed"
if speedMode { args.removeFirst() }
guard !args.isEmpty else {
    FileHandle.standardError.write(Data("usage: DecodeCheck [--speed] FILE_OR_DIR...\n".utf8))
    exit(2)
}

/// One decoder's answer for a file: its samples and header, or its error.
enum Outcome {
    case decoded(AudioInfo, [Float])
    case failed(String, corrupt: Bool)
}

/// Decodes `url` with `backend`, adding the CPU seconds it took to `clock` (CPU time: the machine
/// is shared, so wall time would measure the neighbours).
func decode(_ url: URL, _ backend: AudioBackend, clock: inout Double) -> Outcome {
    let t0 = processCPUSeconds()
    defer { clock += processCPUSeconds() - t0 }
    do {
        let (info, samples) = try AudioDecoder.loadInterleaved(contentsOf: url, backend: backend)
        return .decoded(info, samples)
    } catch {
        if case .corrupt? = error as? AudioError { return .failed("\(error)", corrupt: true) }
        return .failed("\(error)", corrupt: false)
    }
}

/// `--speed`: best of three passes over all files for each decoder, decode only (native rate,
/// mono) and decode + soxr to 22050 Hz, in CPU ms per file.
func speed(_ items: [AudioFiles.Item]) -> Never {
    func best(_ options: AudioOptions) -> Double {
        var bestSeconds = Double.infinity
        for _ in 0..<3 {
            let t0 = processCPUSeconds()
            for item in items { _ = try? AudioDecoder.load(contentsOf: item.url, options: options) }
            bestSeconds = min(bestSeconds, processCPUSeconds() - t0)
        }
        return bestSeconds * 1000 / Double(max(items.count, 1))
    }
    for (label, rate) in [("decode", Int?.none), ("decode + resample to 22050 Hz", Int?.some(22050))] {
        let reference = best(AudioOptions(sampleRate: rate, backend: .libsndfile))
        let direct = best(AudioOptions(sampleRate: rate, backend: .automatic))
        print(String(format: "%@: libsndfile %.3f CPU ms/file, direct %.3f CPU ms/file, %.2fx", label, reference, direct,
                     reference / direct))
    }
    exit(0)
}

let items: [AudioFiles.Item]
do { items = try AudioFiles.collect(args) } catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(2)
}

if speedMode { speed(items) }

var same = 0, sameError = 0, mismatches = 0, corruptOnlyDirect = 0
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
        let decoder = (try? AudioDecoder.decoderName(contentsOf: item.url)) ?? "?"
        kinds["\(ri.formatDescription) -> \(decoder)", default: 0] += 1
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
    case let (.failed(fe, _), .failed(re, _)) where fe == re:
        sameError += 1
    case let (.failed(fe, true), .failed(re, _)):
        // Damage inside a FLAC stream: the direct path names it, libsndfile calls it something else
        // (usually truncation). Expected; listed, not counted as a mismatch.
        corruptOnlyDirect += 1
        print("CORRUPT \(item.url.path): direct \(fe) | libsndfile \(re)")
    case let (.failed(fe, _), .failed(re, _)):
        mismatches += 1
        print("MISMATCH error \(item.url.path): direct \(fe) | libsndfile \(re)")
    case let (.failed(fe, _), .decoded):
        mismatches += 1
        print("MISMATCH \(item.url.path): direct failed (\(fe)), libsndfile decoded it")
    case let (.decoded, .failed(re, _)):
        mismatches += 1
        print("MISMATCH \(item.url.path): libsndfile failed (\(re)), direct decoded it")
    }
}
for (k, n) in kinds.sorted(by: { $0.key < $1.key }) { print("  \(n) files: \(k)") }
print("files: \(items.count), bit-identical: \(same) (\(samples) samples), same error: \(sameError), "
      + "damage reported as corrupt (libsndfile: another error): \(corruptOnlyDirect), mismatches: \(mismatches)")
print(String(format: "decode CPU time (all channels, native rate): direct %.3f s, libsndfile %.3f s, ratio %.2fx",
             fastSeconds, sndfileSeconds, sndfileSeconds / max(fastSeconds, 1e-9)))
exit(mismatches == 0 ? 0 : 1)
