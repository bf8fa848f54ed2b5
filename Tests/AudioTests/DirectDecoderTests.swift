import Foundation
import XCTest
@testable import SERAudio
import SERCore

/// The direct decoders (Swift WAV reader, libFLAC) against libsndfile: the same samples bit for bit,
/// the same header description, the same typed errors; damaged FLAC reported as damage; no crash
/// on mutated bytes.
final class DirectDecoderTests: XCTestCase {
    /// Noise over the whole range, with exact full scale and silence at the ends, `channels` interleaved.
    private func testSignal(frames: Int, channels: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        var x = (0..<(frames * channels)).map { _ in rng.uniform(-1, 1) }
        if x.count >= 4 { x[0] = 1; x[1] = -1; x[x.count - 1] = 0; x[x.count - 2] = 0.5 }
        return x
    }

    /// Asserts that the direct decoder opens `url` (not libsndfile) and decodes it exactly as libsndfile.
    private func assertSameAsLibsndfile(_ url: URL, expect: PCMSource.Type, _ what: String,
                                        file: StaticString = #filePath, line: UInt = #line) throws {
        let (source, _) = try PCMSourceOpener.open(url: url, backend: .automatic)
        XCTAssertTrue(type(of: source) == expect, "\(what): opened by \(type(of: source))", file: file, line: line)
        let direct = try AudioDecoder.loadInterleaved(contentsOf: url)
        let reference = try AudioDecoder.loadInterleaved(contentsOf: url, backend: .libsndfile)
        XCTAssertEqual(direct.info, reference.info, what, file: file, line: line)
        XCTAssertEqual(direct.samples.map(\.bitPattern), reference.samples.map(\.bitPattern), what, file: file, line: line)
        XCTAssertFalse(reference.samples.isEmpty, what, file: file, line: line)
        // Through the whole pipeline (mono mix, soxr), in small blocks, from a file and from memory.
        let small = AudioOptions(sampleRate: 22050, blockFrames: 777)
        var ref = small
        ref.backend = .libsndfile
        let a = try AudioDecoder.load(contentsOf: url, options: small)
        let b = try AudioDecoder.load(contentsOf: url, options: ref)
        XCTAssertEqual(a.samples.map(\.bitPattern), b.samples.map(\.bitPattern), "\(what) resampled", file: file, line: line)
        let bytes = try Data(contentsOf: url)
        let m = try AudioDecoder.load(data: bytes, name: "m", options: .native)
        let r = try AudioDecoder.load(data: bytes, name: "m", options: AudioOptions(sampleRate: nil, backend: .libsndfile))
        XCTAssertEqual(m.samples.map(\.bitPattern), r.samples.map(\.bitPattern), "\(what) from memory", file: file, line: line)
    }

    func testWAVEveryWidthFloatAndExtensibleMatchLibsndfile() throws {
        let dir = try makeTemporaryDirectory()
        let encodings: [AudioFileFormat.Encoding] = [.pcm8, .pcm16, .pcm24, .pcm32, .float32, .float64]
        for container in [AudioFileFormat.Container.wav, .wavExtensible] {
            for encoding in encodings {
                for (channels, frames) in [(1, 1), (1, 70001), (2, 12345), (3, 4097)] {
                    let format = AudioFileFormat(container, encoding)
                    let url = dir.appendingPathComponent("\(container)-\(encoding)-\(channels)-\(frames).wav")
                    try AudioEncoder.write(testSignal(frames: frames, channels: channels, seed: UInt64(frames)),
                                           channels: channels, sampleRate: 44100, format: format, to: url)
                    try assertSameAsLibsndfile(url, expect: WAVReader.self, "\(format) \(channels)ch \(frames)")
                }
            }
        }
    }

    func testFLACMatchesLibsndfile() throws {
        let dir = try makeTemporaryDirectory()
        for encoding in [AudioFileFormat.Encoding.pcm8, .pcm16, .pcm24] {
            for (channels, frames) in [(1, 1), (1, 100_003), (2, 44101), (6, 5000)] {
                let format = AudioFileFormat(.flac, encoding)
                let url = dir.appendingPathComponent("\(encoding)-\(channels)-\(frames).flac")
                try AudioEncoder.write(testSignal(frames: frames, channels: channels, seed: UInt64(frames + channels)),
                                       channels: channels, sampleRate: 48000, format: format, to: url)
                try assertSameAsLibsndfile(url, expect: FLACReader.self, "\(format) \(channels)ch \(frames)")
            }
        }
    }

    /// Files the direct decoders leave to libsndfile still decode (through it).
    func testUnusualFilesFallBackToLibsndfile() throws {
        // Streamed WAV (data size 0xFFFFFFFF) and a fmt chunk of odd size: libsndfile's rules.
        let data = (0..<100).flatMap { TestSignals.le16(UInt16(bitPattern: Int16($0 * 300 - 15000))) }
        var streamed = TestSignals.wavBytes(formatTag: 1, channels: 1, sampleRate: 8000, bitsPerSample: 16, data: data)
        streamed.replaceSubrange(40..<44, with: [0xFF, 0xFF, 0xFF, 0xFF])
        let (s, _) = try PCMSourceOpener.open(data: streamed, name: "s", backend: .automatic)
        XCTAssertTrue(s is SoundFile)
        XCTAssertEqual(try AudioDecoder.load(data: streamed, name: "s", options: .native).samples.count, 100)
        // An AIFF is never read by the direct decoders.
        let url = try makeTemporaryDirectory().appendingPathComponent("a.aiff")
        try AudioEncoder.write(testSignal(frames: 300, channels: 1, seed: 3), sampleRate: 8000,
                               format: AudioFileFormat(.aiff, .pcm16), to: url)
        XCTAssertTrue(try PCMSourceOpener.open(url: url, backend: .automatic).0 is SoundFile)
    }

    /// Files reached through symbolic links (as benchmarks/features_vs_librosa.sh links its clips):
    /// sizes are the target's, so a linked WAV is not mistaken for a truncated one.
    func testSymbolicLinks() throws {
        let dir = try makeTemporaryDirectory()
        let wav = dir.appendingPathComponent("a.wav"), link = dir.appendingPathComponent("link.wav")
        try AudioEncoder.write(testSignal(frames: 5000, channels: 1, seed: 4), sampleRate: 16000, format: .wav16, to: wav)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: wav)
        try assertSameAsLibsndfile(link, expect: WAVReader.self, "linked WAV")
        let empty = dir.appendingPathComponent("empty.wav"), emptyLink = dir.appendingPathComponent("empty-link.wav")
        try Data().write(to: empty)
        try FileManager.default.createSymbolicLink(at: emptyLink, withDestinationURL: empty)
        assertAudioError(.empty(path: emptyLink.path)) { try AudioDecoder.load(contentsOf: emptyLink) }
    }

    func testTruncatedAndNonFiniteGiveTheSameErrorsAsLibsndfile() throws {
        let dir = try makeTemporaryDirectory()
        let wav = dir.appendingPathComponent("full.wav")
        try AudioEncoder.write(testSignal(frames: 20000, channels: 2, seed: 5), channels: 2, sampleRate: 16000,
                               format: AudioFileFormat(.wav, .pcm24), to: wav)
        let bytes = try Data(contentsOf: wav)
        for cut in [44, 45, 1000, bytes.count / 2, bytes.count - 1] {
            let direct = Result(catching: { try AudioDecoder.load(data: bytes.prefix(cut), name: "cut") })
            let reference = Result(catching: { try AudioDecoder.load(data: bytes.prefix(cut), name: "cut",
                                                                     options: AudioOptions(backend: .libsndfile)) })
            XCTAssertThrowsError(try direct.get())
            XCTAssertEqual(direct.error, reference.error, "cut at \(cut)")
        }
        // NaN in a float WAV, second channel, in a later block.
        var x = testSignal(frames: 3000, channels: 2, seed: 9)
        x[2 * 2345 + 1] = .nan
        let nan = dir.appendingPathComponent("nan.wav")
        try AudioEncoder.write(x, channels: 2, sampleRate: 8000, format: .wavFloat, to: nan)
        XCTAssertTrue(try PCMSourceOpener.open(url: nan, backend: .automatic).0 is WAVReader)
        assertAudioError(.nonFiniteSample(path: nan.path, frame: 2345, channel: 1)) {
            try AudioDecoder.load(contentsOf: nan, options: .init(blockFrames: 1000))
        }
    }

    func testTruncatedFLACIsTruncationAndDamagedFLACIsCorrupt() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("x.flac")
        try AudioEncoder.write(testSignal(frames: 40000, channels: 1, seed: 8), sampleRate: 16000, format: .flac16, to: url)
        let bytes = try Data(contentsOf: url)
        for fraction in [0.3, 0.5, 0.9, 0.999] {
            let cut = Int(Double(bytes.count) * fraction)
            XCTAssertThrowsError(try AudioDecoder.load(data: bytes.prefix(cut), name: "cut.flac")) { e in
                guard case let .truncated("cut.flac", expected, available)? = e as? AudioError else {
                    return XCTFail("cut at \(cut): \(e)")
                }
                XCTAssertEqual(expected, 40000)
                XCTAssertLessThan(available, 40000)
            }
        }
        // A damaged tag block (the vendor-string length of the VORBIS_COMMENT block libsndfile
        // writes after STREAMINFO): libsndfile refuses the file, and so does the direct path.
        XCTAssertEqual(bytes[42] & 0x7F, 4, "VORBIS_COMMENT block expected at byte 42")
        var badTag = bytes
        badTag[47] = 0x50
        XCTAssertNil(FLACReader(data: badTag, name: "tag.flac"))
        let direct = Result(catching: { try AudioDecoder.load(data: badTag, name: "tag.flac") })
        let reference = Result(catching: { try AudioDecoder.load(data: badTag, name: "tag.flac",
                                                                 options: AudioOptions(backend: .libsndfile)) })
        XCTAssertNotNil(direct.error)
        XCTAssertEqual(direct.error, reference.error)
        // One byte changed inside the audio frames: the frame CRC (or the frame structure) catches it.
        for position in [bytes.count / 3, bytes.count / 2, bytes.count - 40] {
            var damaged = bytes
            damaged[position] ^= 0x5A
            XCTAssertThrowsError(try AudioDecoder.load(data: damaged, name: "bad.flac")) { e in
                guard case let .corrupt("bad.flac", reason)? = e as? AudioError else {
                    return XCTFail("byte \(position): \(e)")
                }
                XCTAssertTrue(reason.hasPrefix("FLAC: "), reason)
                XCTAssertTrue("\(e)".contains("bad.flac"))
            }
        }
    }

    /// A few hundred mutated WAV and FLAC buffers: no crash; a typed error or finite samples; and
    /// where the direct decoder and libsndfile both decode a WAV, the same samples.
    func testSeededFuzzOfMutatedBuffers() throws {
        let dir = try makeTemporaryDirectory()
        var seeds: [Data] = []
        for (i, format) in [AudioFileFormat.wav16, AudioFileFormat(.wavExtensible, .pcm24), .wavFloat,
                            AudioFileFormat(.wav, .pcm8), .flac16, AudioFileFormat(.flac, .pcm24)].enumerated() {
            let url = dir.appendingPathComponent("seed\(i).\(format.container == .flac ? "flac" : "wav")")
            try AudioEncoder.write(testSignal(frames: 1500, channels: 1 + i % 2, seed: UInt64(i)), channels: 1 + i % 2,
                                   sampleRate: 8000, format: format, to: url)
            seeds.append(try Data(contentsOf: url))
        }
        var rng = SeededRandom(seed: 2024)
        var decoded = 0, refused = 0, compared = 0
        for round in 0..<360 {
            var b = seeds[round % seeds.count]
            switch rng.next() % 4 {
            case 0:  // flip a few bytes anywhere
                for _ in 0..<(1 + Int(rng.next() % 4)) { b[Int(rng.next() % UInt64(b.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            case 1:  // damage the header region
                for _ in 0..<(1 + Int(rng.next() % 3)) { b[Int(rng.next() % UInt64(min(b.count, 120)))] = UInt8(truncatingIfNeeded: rng.next()) }
            case 2:  // cut
                b = b.prefix(Int(rng.next() % UInt64(b.count)))
            default:  // insert junk
                let at = Int(rng.next() % UInt64(b.count))
                b.insert(contentsOf: (0..<(1 + Int(rng.next() % 16))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            }
            do {
                let clip = try AudioDecoder.load(data: b, name: "fuzz", options: .native)
                XCTAssertTrue(clip.samples.allSatisfy(\.isFinite), "round \(round)")
                decoded += 1
                if WAVHeader.parse(DataByteReader(data: b)) != nil,
                   let ref = try? AudioDecoder.load(data: b, name: "fuzz", options: AudioOptions(sampleRate: nil, backend: .libsndfile)) {
                    XCTAssertEqual(clip.samples.map(\.bitPattern), ref.samples.map(\.bitPattern), "round \(round)")
                    compared += 1
                }
            } catch is AudioError {
                refused += 1
            } catch {
                XCTFail("round \(round): untyped error \(error)")
            }
        }
        XCTAssertEqual(decoded + refused, 360)
        XCTAssertGreaterThan(decoded, 0)
        XCTAssertGreaterThan(refused, 0)
        XCTAssertGreaterThan(compared, 0)
    }
}

private extension Result {
    var error: AudioError? {
        if case let .failure(e) = self { return e as? AudioError }
        return nil
    }
}
