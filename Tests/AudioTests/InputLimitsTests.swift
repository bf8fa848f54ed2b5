import Foundation
import XCTest
@testable import SERAudio
import SERCore

/// Header ranges, truncation in every container libsndfile writes, sample magnitudes, byte-exact
/// file names and symbolic links.
final class InputLimitsTests: XCTestCase {
    /// A 16-bit mono WAV of `frames` frames with some fields of its header replaced.
    private func wav(rate: Int = 16000, channels: Int = 1, bits: Int = 16, blockAlign: Int? = nil, frames: Int = 4000) -> Data {
        let width = max(1, (bits + 7) / 8)
        var d = TestSignals.wavBytes(formatTag: 1, channels: channels, sampleRate: rate, bitsPerSample: 16,
                                     data: [UInt8](repeating: 0x11, count: frames * channels * 2))
        if let blockAlign { d.replaceSubrange(32..<34, with: TestSignals.le16(UInt16(blockAlign))) }
        d.replaceSubrange(34..<36, with: TestSignals.le16(UInt16(bits)))
        if blockAlign == nil, width != 2 { d.replaceSubrange(32..<34, with: TestSignals.le16(UInt16(channels * width))) }
        return d
    }

    private func assertOutOfRange(_ data: Data, field: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try AudioDecoder.load(data: data, name: "odd.wav"), file: file, line: line) { e in
            guard case let .outOfRange(path, f, _, allowed)? = e as? AudioError else {
                return XCTFail("expected outOfRange(\(field)), got \(e)", file: file, line: line)
            }
            XCTAssertEqual(path, "odd.wav", file: file, line: line)
            XCTAssertEqual(f, field, file: file, line: line)
            XCTAssertFalse(allowed.isEmpty, file: file, line: line)
        }
    }

    func testHeaderValuesOutOfRange() throws {
        // The reference: a plain header decodes.
        XCTAssertEqual(try AudioDecoder.load(data: wav(), name: "ok.wav", options: .native).samples.count, 4000)
        // 1 bit per sample, with the block align of 16 bits (a patched field) and with 0.
        assertOutOfRange(wav(bits: 1, blockAlign: 2), field: "bits per sample")
        assertOutOfRange(wav(bits: 1, blockAlign: 0), field: "bits per sample")
        assertOutOfRange(wav(bits: 64, blockAlign: 2), field: "bits per sample")
        // Bits that disagree with the block align.
        assertOutOfRange(wav(bits: 24, blockAlign: 2), field: "block align")
        // Rates of 8 Hz, 1 Hz, 500 kHz (the 8 Hz file used to be resampled into 5.7 GB).
        for rate in [8, 1, 999, 500_000] { assertOutOfRange(wav(rate: rate), field: "sample rate") }
        for rate in [1000, 384_000] {
            XCTAssertNoThrow(try AudioDecoder.load(data: wav(rate: rate), name: "edge.wav", options: .native))
        }
        assertOutOfRange(wav(channels: 100, frames: 40), field: "channel count")
        let message = AudioError.outOfRange(path: "a.wav", field: "sample rate", value: "8 Hz", allowed: "1000…384000 Hz").description
        XCTAssertTrue(message.contains("a.wav") && message.contains("8 Hz") && message.contains("1000…384000"), message)

        // The same through libsndfile (AU written at 8 Hz): refused from the header.
        let dir = try makeTemporaryDirectory()
        let au = dir.appendingPathComponent("slow.au")
        try AudioEncoder.write([Float](repeating: 0.1, count: 800), sampleRate: 8, format: AudioFileFormat(.au, .pcm16), to: au)
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: au)) { e in
            guard case .outOfRange(au.path, "sample rate", "8 Hz", _)? = e as? AudioError else { return XCTFail("\(e)") }
        }
        // A header that declares more frames than its bytes could hold: FLAC's STREAMINFO total
        // set to 2^36 - 1 in a 3 KB file, read by libsndfile (which believes it).
        let big = dir.appendingPathComponent("big.flac")
        try AudioEncoder.write([Float](repeating: 0.1, count: 16000), sampleRate: 16000, format: .flac16, to: big)
        var flac = [UInt8](try Data(contentsOf: big))
        flac[21] |= 0x0F
        for i in 22..<26 { flac[i] = 0xFF }
        XCTAssertThrowsError(try AudioDecoder.load(data: Data(flac), name: "big.flac", options: .init(backend: .libsndfile))) { e in
            guard case .outOfRange("big.flac", "declared frame count", "68719476735", _)? = e as? AudioError else { return XCTFail("\(e)") }
        }
        // The direct FLAC reader gets the same limit (it used to say truncated), from memory and from a file.
        XCTAssertThrowsError(try AudioDecoder.load(data: Data(flac), name: "big.flac")) { e in
            guard case .outOfRange("big.flac", "declared frame count", "68719476735", _)? = e as? AudioError else { return XCTFail("\(e)") }
        }
        try Data(flac).write(to: big)
        XCTAssertTrue(try PCMSourceOpener.open(url: big, backend: .automatic).0 is FLACReader)
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: big)) { e in
            guard case .outOfRange(big.path, "declared frame count", "68719476735", _)? = e as? AudioError else { return XCTFail("\(e)") }
        }
        // A requested output rate out of range is an options error, before the file is read.
        XCTAssertThrowsError(try AudioDecoder.load(data: wav(), name: "ok.wav", options: .init(sampleRate: 2_000_000_000))) { e in
            guard case .invalidOptions? = e as? AudioError else { return XCTFail("\(e)") }
        }
    }

    /// Every container libsndfile writes here, cut at several points: never a silent success.
    func testTruncationInEveryContainer() throws {
        let dir = try makeTemporaryDirectory()
        var rng = SeededRandom(seed: 5)
        let rate = 16000
        let x = (0..<(2 * rate)).map { i in 0.3 * Float(sin(Double(i) * 0.07)) + rng.uniform(-0.05, 0.05) }
        let formats: [(AudioFileFormat, String, Int)] = [
            (AudioFileFormat(.aiff, .pcm16), "aiff", rate), (AudioFileFormat(.aiff, .float32), "aifc", rate),
            (AudioFileFormat(.au, .pcm16), "au", rate), (AudioFileFormat(.w64, .pcm16), "w64", rate),
            (AudioFileFormat(.rf64, .pcm24), "rf64", rate), (AudioFileFormat(.caf, .pcm16), "caf", rate),
            (AudioFileFormat(.nist, .pcm16), "nist", rate), (AudioFileFormat(.wav, .pcm16), "wav", rate),
            (AudioFileFormat(.flac, .pcm16), "flac", rate), (.oggVorbis, "ogg", rate), (.oggOpus, "opus", rate),
            (.mp3, "mp3", rate),
        ]
        var checked = 0
        for (format, ext, sr) in formats {
            guard format.isWritable(sampleRate: sr) else { continue }
            let url = dir.appendingPathComponent("full.\(ext)")
            try AudioEncoder.write(x, sampleRate: sr, format: format, to: url)
            let bytes = try Data(contentsOf: url)
            // The whole file decodes (no false alarm), through both back ends.
            for backend in [AudioBackend.automatic, .libsndfile] {
                let clip = try AudioDecoder.load(data: bytes, name: "full.\(ext)", options: .init(sampleRate: nil, backend: backend))
                XCTAssertGreaterThan(clip.samples.count, rate, "\(format)")
            }
            for fraction in [0.2, 0.5, 0.8, 0.95, 0.995] {
                let n = Int(Double(bytes.count) * fraction)
                for backend in [AudioBackend.automatic, .libsndfile] {
                    XCTAssertThrowsError(try AudioDecoder.load(data: bytes.prefix(n), name: "cut.\(ext)",
                                                               options: .init(sampleRate: nil, backend: backend)),
                                         "\(format) cut to \(n) of \(bytes.count) bytes decoded without error") { e in
                        XCTAssertNotNil(e as? AudioError, "\(e)")
                    }
                }
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 50)
        // A whole Ogg file with an ID3v1 tag appended is not called truncated.
        let ogg = dir.appendingPathComponent("tagged.ogg")
        try AudioEncoder.write(x, sampleRate: rate, format: .oggVorbis, to: ogg)
        var tagged = try Data(contentsOf: ogg)
        tagged += Data("TAG".utf8) + Data(repeating: 0x20, count: 125)
        XCTAssertNil(OggEnd.problem(DataByteReader(data: tagged)))
        XCTAssertNotNil(OggEnd.problem(DataByteReader(data: tagged.prefix(tagged.count - 200))))
        // The libsndfile containers name the declared and present frame counts.
        let aiff = dir.appendingPathComponent("a.aiff")
        try AudioEncoder.write(x, sampleRate: rate, format: AudioFileFormat(.aiff, .pcm16), to: aiff)
        let cut = try Data(contentsOf: aiff).prefix(20054)
        assertAudioError(.truncated(path: "cut.aiff", expectedFrames: 32000, availableFrames: 10000)) {
            try AudioDecoder.load(data: cut, name: "cut.aiff")
        }
    }

    /// FLAC whose frames are damaged up to the end is called damaged, not truncated; a cut one truncated.
    func testFLACDamageIsNotCalledTruncation() throws {
        let dir = try makeTemporaryDirectory()
        var rng = SeededRandom(seed: 8)
        let url = dir.appendingPathComponent("a.flac")
        try AudioEncoder.write((0..<48000).map { _ in rng.uniform(-0.3, 0.3) }, sampleRate: 16000, format: .flac16, to: url)
        let bytes = [UInt8](try Data(contentsOf: url))
        // The first frame starts after the metadata blocks (the last one has the top bit set).
        var audio = 4
        while audio + 4 <= bytes.count {
            let last = bytes[audio] & 0x80 != 0
            audio += 4 + (Int(bytes[audio + 1]) << 16 | Int(bytes[audio + 2]) << 8 | Int(bytes[audio + 3]))
            if last { break }
        }
        for start in [audio, audio + (bytes.count - audio) / 2] {
            var zeroed = bytes
            for i in start..<bytes.count { zeroed[i] = 0 }
            let name = "zeroed-\(start).flac"
            try Data(zeroed).write(to: dir.appendingPathComponent(name))
            for load in [{ try AudioDecoder.load(data: Data(zeroed), name: name) },
                         { try AudioDecoder.load(contentsOf: dir.appendingPathComponent(name)) }] {
                XCTAssertThrowsError(try load()) { e in
                    guard case .corrupt? = e as? AudioError else { return XCTFail("\(name): \(e)") }
                }
            }
        }
        XCTAssertThrowsError(try AudioDecoder.load(data: Data(bytes.prefix(bytes.count - 100)), name: "cut.flac")) { e in
            guard case .truncated? = e as? AudioError else { return XCTFail("\(e)") }
        }
    }

    func testHugeAndNonFiniteFloatSamples() throws {
        let dir = try makeTemporaryDirectory()
        var x = TestSignals.sine(300, rate: 16000, count: 8000)
        x[1234] = 1e30
        let url = dir.appendingPathComponent("huge.wav")
        try AudioEncoder.writeWAV(x, sampleRate: 16000, to: url, float: true)
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: url)) { e in
            guard case let .outOfRange(path, field, value, _)? = e as? AudioError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, url.path)
            XCTAssertEqual(field, "sample value")
            XCTAssertTrue(value.contains("frame 1234"), value)
        }
        // Integer values stored as floats (|x| up to 2^23) are still audio.
        x[1234] = 32767
        x[10] = -8_388_608
        try AudioEncoder.writeWAV(x, sampleRate: 16000, to: url, float: true)
        XCTAssertEqual(try AudioDecoder.load(contentsOf: url, options: .native).samples[10], -8_388_608)
        x[10] = .infinity
        try AudioEncoder.writeWAV(x, sampleRate: 16000, to: url, float: true)
        assertAudioError(.nonFiniteSample(path: url.path, frame: 10, channel: 0)) { try AudioDecoder.load(contentsOf: url) }
        XCTAssertNil(AudioDecoder.firstNonFinite([1, -3, 1e30]))
        XCTAssertEqual(AudioDecoder.firstNonFinite([1, .nan, 2]), 1)
    }

    /// Creates a file whose name is the given bytes (not UTF-8) with POSIX `open`.
    private func createFile(in dir: URL, nameBytes: [UInt8], contents: Data) throws -> String {
        let path = FileNames.string(fromBytes: Array(dir.path.utf8) + [0x2F] + nameBytes)
        let fd = FileNames.withCString(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        guard fd >= 0 else { throw AudioError.io(path: path, reason: "cannot create") }
        defer { close(fd) }
        let written = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        XCTAssertEqual(written, contents.count)
        return path
    }

    func testNonUTF8FileNames() throws {
        let dir = try makeTemporaryDirectory()
        let audio = dir.appendingPathComponent("src.wav")
        try AudioEncoder.writeWAV(TestSignals.sine(440, rate: 16000, count: 1600), sampleRate: 16000, to: audio)
        let bytes = try Data(contentsOf: audio)
        let folder = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // Latin-1 "café.wav", a lone continuation byte, and an escape-range scalar's own UTF-8.
        let names: [[UInt8]] = [Array("caf".utf8) + [0xE9] + Array(".wav".utf8),
                                [0x80, 0xFF] + Array("x.wav".utf8),
                                [0xF4, 0x8F, 0xBE, 0x80] + Array(".wav".utf8)]
        var made: [String] = []
        for n in names {
            let p = try createFile(in: folder, nameBytes: n, contents: bytes)
            XCTAssertEqual(FileNames.bytes(p).suffix(n.count), ArraySlice(n), "round trip")
            made.append(p)
        }
        // As arguments: the escaped path names the file.
        for p in made {
            let items = try AudioFiles.collect([p])
            XCTAssertEqual(items.count, 1)
            XCTAssertEqual(try AudioDecoder.load(contentsOf: items[0].url, options: .native).samples.count, 1600)
        }
        // In a folder scan.
        let found = try AudioFiles.collect([folder.path])
        XCTAssertEqual(Set(found.map(\.url.path)), Set(made))
        for item in found { XCTAssertEqual(try AudioDecoder.info(contentsOf: item.url).frames, 1600) }
        // Messages show the bytes.
        let missing = FileNames.string(fromBytes: Array(folder.path.utf8) + Array("/gone".utf8) + [0xE9])
        XCTAssertThrowsError(try AudioFiles.collect([missing])) { e in
            XCTAssertTrue("\(e)".contains("gone\\xE9"), "\(e)")
        }
        // Decoding through FLAC and libsndfile also opens by bytes.
        let flac = FileNames.string(fromBytes: Array(folder.path.utf8) + [0x2F, 0xE9] + Array(".flac".utf8))
        let flacURL = URL(fileURLWithPath: flac)
        try FileNames.withCString(flac) { p in
            // libsndfile writes to the byte path via a temporary plain name then rename.
            let tmp = folder.appendingPathComponent("tmp.flac")
            try AudioEncoder.write(TestSignals.sine(440, rate: 16000, count: 1600), sampleRate: 16000, format: .flac16, to: tmp)
            XCTAssertEqual(tmp.path.withCString { rename($0, p) }, 0)
        }
        XCTAssertEqual(try AudioDecoder.load(contentsOf: flacURL, options: .native).samples.count, 1600)
        XCTAssertEqual(try AudioDecoder.load(contentsOf: flacURL, options: .init(sampleRate: nil, backend: .libsndfile)).samples.count, 1600)
    }

    func testFolderScanFollowsSymbolicLinks() throws {
        let dir = try makeTemporaryDirectory()
        let real = dir.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: real.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try AudioEncoder.writeWAV([0.1, 0.2, 0.3], sampleRate: 16000, to: real.appendingPathComponent("sub/a.wav"))
        let scan = dir.appendingPathComponent("scan")
        try FileManager.default.createDirectory(at: scan, withIntermediateDirectories: true)
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: scan.appendingPathComponent("b.wav").path, withDestinationPath: real.appendingPathComponent("sub/a.wav").path)
        try fm.createSymbolicLink(atPath: scan.appendingPathComponent("linked").path, withDestinationPath: real.path)
        try fm.createSymbolicLink(atPath: scan.appendingPathComponent("loop").path, withDestinationPath: scan.path)
        try fm.createSymbolicLink(atPath: scan.appendingPathComponent("broken.wav").path, withDestinationPath: "/nonexistent/x.wav")
        let items = try AudioFiles.collect([scan.path])
        XCTAssertEqual(items.map(\.relativePath), ["b.wav", "linked/sub/a.wav"])
        for item in items { XCTAssertEqual(try AudioDecoder.load(contentsOf: item.url, options: .native).samples.count, 3) }
        let s = FileNames.files(under: scan.path, skipHidden: false)
        XCTAssertEqual(s.brokenLinks, ["broken.wav"])
        XCTAssertEqual(s.skipped.count, 1, "\(s.skipped)")
        XCTAssertTrue(s.files.allSatisfy(\.viaLink))
    }
}
