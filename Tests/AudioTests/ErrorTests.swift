import Foundation
import XCTest
@testable import SERAudio
import SERCore

/// Damaged and unusual inputs give the right typed error, naming the file.
final class ErrorTests: XCTestCase {
    func testMissingFile() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("nope.wav")
        assertAudioError(.fileNotFound(path: url.path)) { try AudioDecoder.load(contentsOf: url) }
        assertAudioError(.fileNotFound(path: url.path)) { try AudioDecoder.info(contentsOf: url) }
        XCTAssertTrue(AudioError.fileNotFound(path: url.path).description.contains(url.path))
    }

    func testGarbageIsNotAudio() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("garbage.wav")
        var rng = SeededRandom(seed: 11)
        try Data((0..<5000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }).write(to: url)
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: url)) { e in
            guard case let .notAudio(path, _)? = e as? AudioError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, url.path)
            XCTAssertTrue("\(e)".contains("garbage.wav"))
        }
        XCTAssertThrowsError(try AudioDecoder.load(data: Data("hello, world".utf8), name: "text.txt")) { e in
            guard case .notAudio("text.txt", _)? = e as? AudioError else { return XCTFail("\(e)") }
        }
    }

    func testEmptyFileAndZeroFrames() throws {
        let dir = try makeTemporaryDirectory()
        let empty = dir.appendingPathComponent("empty.wav")
        try Data().write(to: empty)
        assertAudioError(.empty(path: empty.path)) { try AudioDecoder.load(contentsOf: empty) }
        assertAudioError(.empty(path: "stdin")) { try AudioDecoder.load(data: Data(), name: "stdin") }

        let zero = dir.appendingPathComponent("zero.wav")
        try TestSignals.wavBytes(formatTag: 1, channels: 1, sampleRate: 16000, bitsPerSample: 16, data: []).write(to: zero)
        assertAudioError(.empty(path: zero.path)) { try AudioDecoder.load(contentsOf: zero) }
        let written = dir.appendingPathComponent("written.flac")
        try AudioEncoder.write([], sampleRate: 16000, format: .flac16, to: written)
        assertAudioError(.empty(path: written.path)) { try AudioDecoder.load(contentsOf: written) }
    }

    func testTruncatedWAV() throws {
        let dir = try makeTemporaryDirectory()
        let url = dir.appendingPathComponent("full.wav")
        try AudioEncoder.writeWAV(TestSignals.sine(440, rate: 16000, count: 16000), sampleRate: 16000, to: url)
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(bytes.count, 44 + 32000)
        let cut = dir.appendingPathComponent("cut.wav")
        try bytes.prefix(20000).write(to: cut)
        let expected = AudioError.truncated(path: cut.path, expectedFrames: 16000, availableFrames: (20000 - 44) / 2)
        assertAudioError(expected) { try AudioDecoder.load(contentsOf: cut) }
        assertAudioError(.truncated(path: "cut", expectedFrames: 16000, availableFrames: 9978)) {
            try AudioDecoder.load(data: bytes.prefix(20000), name: "cut")
        }
        // Cut right after the header: no frames at all, still reported as truncated.
        assertAudioError(.truncated(path: "hdr", expectedFrames: 16000, availableFrames: 0)) {
            try AudioDecoder.load(data: bytes.prefix(44), name: "hdr")
        }
        // Cut inside the header.
        XCTAssertThrowsError(try AudioDecoder.load(data: bytes.prefix(30), name: "h30")) { e in
            guard case .notAudio("h30", _)? = e as? AudioError else { return XCTFail("\(e)") }
        }
        // A streamed WAV whose data size is unknown (0xFFFFFFFF) is accepted.
        var streamed = bytes
        streamed.replaceSubrange(40..<44, with: [0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(try AudioDecoder.load(data: streamed, name: "s", options: .native).samples.count, 16000)
    }

    func testTruncatedFLAC() throws {
        let dir = try makeTemporaryDirectory()
        let url = dir.appendingPathComponent("full.flac")
        var rng = SeededRandom(seed: 7)
        let noise = (0..<32000).map { _ in rng.uniform(-0.5, 0.5) }
        try AudioEncoder.write(noise, sampleRate: 16000, format: .flac16, to: url)
        let bytes = try Data(contentsOf: url)
        XCTAssertThrowsError(try AudioDecoder.load(data: bytes.prefix(bytes.count / 2), name: "half.flac")) { e in
            guard case let .truncated(path, expected, available)? = e as? AudioError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "half.flac")
            XCTAssertEqual(expected, 32000)
            XCTAssertLessThan(available, 32000)
        }
    }

    func testNonFiniteSamples() throws {
        let dir = try makeTemporaryDirectory()
        var x = TestSignals.sine(440, rate: 8000, count: 3000)
        x[2345] = .nan
        let url = dir.appendingPathComponent("nan.wav")
        try AudioEncoder.writeWAV(x, sampleRate: 8000, to: url, float: true)
        assertAudioError(.nonFiniteSample(path: url.path, frame: 2345, channel: 0)) {
            try AudioDecoder.load(contentsOf: url, options: .init(blockFrames: 1000))
        }
        // Stereo: an infinity in the right channel of frame 70001 (second block of 65536).
        var l = [Float](repeating: 0.1, count: 80000), r = l
        r[70001] = -.infinity
        l[5] = 30000  // large but finite, within AudioLimits.maxSampleMagnitude: accepted
        let stereo = dir.appendingPathComponent("inf.wav")
        try AudioEncoder.write(TestSignals.interleave([l, r]), channels: 2, sampleRate: 8000,
                               format: AudioFileFormat(.wav, .float64), to: stereo)
        assertAudioError(.nonFiniteSample(path: stereo.path, frame: 70001, channel: 1)) {
            try AudioDecoder.load(contentsOf: stereo)
        }
        XCTAssertTrue(AudioError.nonFiniteSample(path: "a.wav", frame: 70001, channel: 1).description.contains("70001"))
    }

    func testDurationLimit() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("long.flac")
        try AudioEncoder.write(TestSignals.sine(440, rate: 16000, count: 48000), sampleRate: 16000, format: .flac16, to: url)
        assertAudioError(.tooLong(path: url.path, duration: 3, limit: 2.5)) {
            try AudioDecoder.load(contentsOf: url, options: .init(maxDuration: 2.5))
        }
        var delivered = 0
        XCTAssertThrowsError(try AudioDecoder.stream(contentsOf: url, options: .init(maxDuration: 1)) { delivered += $0.count })
        XCTAssertEqual(delivered, 0, "the header check happens before decoding")
        XCTAssertEqual(try AudioDecoder.load(contentsOf: url, options: .init(maxDuration: 3)).samples.count, 66150)
        XCTAssertTrue(AudioError.tooLong(path: "x", duration: 3, limit: 2.5).description.contains("2.5"))
    }

    func testUnsupportedWAVEncoding() {
        // WAVE_FORMAT_MPEGLAYER3 and an unknown tag: known container, encoding libsndfile cannot decode.
        for (tag, name) in [(UInt16(0x0055), "MPEG Layer 3"), (UInt16(0x1234), "0x1234")] {
            let bytes = TestSignals.wavBytes(formatTag: tag, channels: 1, sampleRate: 16000, bitsPerSample: 16,
                                             data: [UInt8](repeating: 0, count: 400), fmtExtra: [0, 0])
            XCTAssertThrowsError(try AudioDecoder.load(data: bytes, name: "odd.wav")) { e in
                guard case let .unsupportedEncoding(path, encoding)? = e as? AudioError else { return XCTFail("\(e)") }
                XCTAssertEqual(path, "odd.wav")
                XCTAssertTrue(encoding.contains(name), encoding)
            }
        }
    }

    func testDirectoryAndBadOptions() throws {
        let dir = try makeTemporaryDirectory()
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: dir)) { e in
            guard case .io(dir.path, _)? = e as? AudioError else { return XCTFail("\(e)") }
        }
        let url = dir.appendingPathComponent("ok.wav")
        try AudioEncoder.writeWAV([0.1, 0.2], sampleRate: 8000, to: url)
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: url, options: .init(sampleRate: 0)))
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: url, options: .init(blockFrames: 0)))
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: url, options: .init(maxDuration: .nan)))
        XCTAssertThrowsError(try Resampler(from: 0, to: 16000))
    }
}
