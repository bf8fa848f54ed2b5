import Foundation
import XCTest
@testable import SERAudio
import SERCore

/// Seeded fuzzing of the decoding path `predict` and the service use: mutated WAV, FLAC, AIFF, AU
/// and Ogg files (bit flips, cuts, header fields overwritten, bytes inserted) must each give a
/// typed ``AudioError`` or finite samples of a sane length. Never a crash, hang or NaN.
final class FuzzTests: XCTestCase {
    /// Mutations per run (reproducible: the generator is seeded).
    static let cases = 480
    /// Longest accepted decode (the options' duration limit), in seconds.
    static let limit = 30.0

    private func seeds(in dir: URL) throws -> [(name: String, bytes: Data)] {
        var rng = SeededRandom(seed: 99)
        let rate = 16000
        let x = (0..<(rate / 2)).map { i in 0.4 * Float(sin(Double(i) * 0.05)) + rng.uniform(-0.1, 0.1) }
        let stereo = TestSignals.interleave([x, x.map { -$0 }])
        var out: [(String, Data)] = []
        let formats: [(AudioFileFormat, String, Int)] = [
            (.wav16, "wav", 1), (.wavFloat, "wav", 1), (AudioFileFormat(.wavExtensible, .pcm24), "wav", 2),
            (.flac16, "flac", 1), (AudioFileFormat(.flac, .pcm24), "flac", 2), (AudioFileFormat(.aiff, .pcm16), "aiff", 1),
            (AudioFileFormat(.au, .pcm16), "au", 1), (AudioFileFormat(.w64, .pcm16), "w64", 1),
            (AudioFileFormat(.caf, .float32), "caf", 1), (.oggVorbis, "ogg", 1), (.oggOpus, "opus", 1), (.mp3, "mp3", 1),
        ]
        for (i, (format, ext, channels)) in formats.enumerated() where format.isWritable(sampleRate: rate, channels: channels) {
            let url = dir.appendingPathComponent("seed\(i).\(ext)")
            try AudioEncoder.write(channels == 1 ? x : stereo, channels: channels, sampleRate: rate, format: format, to: url)
            out.append((url.lastPathComponent, try Data(contentsOf: url)))
        }
        return out
    }

    /// One mutation of `bytes`, chosen and placed by `rng`.
    private func mutate(_ bytes: Data, _ rng: inout SeededRandom) -> (Data, String) {
        var b = [UInt8](bytes)
        let n = b.count
        func pick(_ upper: Int) -> Int { Int(rng.next() % UInt64(max(1, upper))) }
        switch pick(6) {
        case 0:                                            // bit flips anywhere
            let k = 1 + pick(8)
            for _ in 0..<k { b[pick(n)] ^= UInt8(1 << pick(8)) }
            return (Data(b), "\(k) bit flips")
        case 1:                                            // bit flips in the header
            let k = 1 + pick(4)
            for _ in 0..<k { b[pick(min(n, 96))] ^= UInt8(1 << pick(8)) }
            return (Data(b), "\(k) header bit flips")
        case 2:                                            // cut
            let m = pick(n)
            return (Data(b.prefix(m)), "cut to \(m)")
        case 3:                                            // a header field overwritten with an extreme value
            let at = pick(min(n - 4, 92))
            let values: [UInt32] = [0, 1, 8, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, UInt32(truncatingIfNeeded: rng.next())]
            let v = values[pick(values.count)]
            let width = [1, 2, 4][pick(3)]
            for k in 0..<width { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
            return (Data(b), "field at \(at) = \(v) (\(width) bytes)")
        case 4:                                            // random bytes inserted
            let at = pick(n), k = 1 + pick(64)
            b.insert(contentsOf: (0..<k).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            return (Data(b), "\(k) bytes inserted at \(at)")
        default:                                           // a run of bytes zeroed
            let at = pick(n), k = min(n - at, 1 + pick(512))
            for i in at..<(at + k) { b[i] = 0 }
            return (Data(b), "\(k) bytes zeroed at \(at)")
        }
    }

    func testMutatedFilesGiveTypedErrorsOrFiniteAudio() throws {
        let dir = try makeTemporaryDirectory()
        let seeds = try seeds(in: dir)
        XCTAssertGreaterThanOrEqual(seeds.count, 7, "libsndfile writes most seed formats")
        var rng = SeededRandom(seed: 2024)
        var refused = 0, decoded = 0
        var kinds: [String: Int] = [:]
        for i in 0..<Self.cases {
            let seed = seeds[i % seeds.count]
            let (bytes, what) = mutate(seed.bytes, &rng)
            let name = "fuzz\(i)-\(seed.name)"
            // A quarter through a file on disk (the path readers), the rest from memory (the service).
            let options = AudioOptions(sampleRate: i % 5 == 0 ? 22050 : 16000, maxDuration: Self.limit)
            do {
                let clip: AudioClip
                if i % 4 == 0 {
                    let url = dir.appendingPathComponent(name)
                    try bytes.write(to: url)
                    clip = try AudioDecoder.load(contentsOf: url, options: options)
                } else {
                    clip = try AudioDecoder.load(data: bytes, name: name, options: options)
                }
                decoded += 1
                XCTAssertFalse(clip.samples.isEmpty, "\(name) (\(what)): empty clip without an error")
                XCTAssertNil(AudioDecoder.firstNonFinite(clip.samples), "\(name) (\(what)): non-finite sample")
                XCTAssertLessThanOrEqual(Double(clip.samples.count), (Self.limit + 1) * Double(clip.sampleRate),
                                         "\(name) (\(what)): longer than the limit")
            } catch let e as AudioError {
                refused += 1
                kinds[String("\(e)".split(separator: ":").dropFirst().first ?? "?"), default: 0] += 1
                XCTAssertTrue("\(e)".contains(name), "\(name): the error names the input: \(e)")
            } catch {
                XCTFail("\(name) (\(what)): untyped error \(error)")
            }
        }
        XCTAssertEqual(refused + decoded, Self.cases)
        XCTAssertGreaterThan(refused, Self.cases / 10, "most cuts and header damage are refused")
        print("fuzz: \(Self.cases) mutated files, \(decoded) decoded to finite audio, \(refused) refused: \(kinds.sorted { $0.value > $1.value }.prefix(8))")
    }
}
