import Foundation
import XCTest
@testable import SERAudio

/// Every format the decoder promises, written here (libsndfile or raw bytes) and read back.
final class FormatTests: XCTestCase {
    private let rate = 16000
    private lazy var signal = TestSignals.sine(440, rate: rate, count: 4000, amplitude: 0.5)

    private func roundTrip(_ format: AudioFileFormat, tolerance: Float, container: String, encoding: String) throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("x.\(format.container)")
        try AudioEncoder.write(signal, sampleRate: rate, format: format, to: url)
        let info = try AudioDecoder.info(contentsOf: url)
        XCTAssertEqual(info.frames, Int64(signal.count), "\(format)")
        XCTAssertEqual(info.sampleRate, rate)
        XCTAssertEqual(info.channels, 1)
        XCTAssertEqual(info.container, container, "\(format)")
        XCTAssertEqual(info.encoding, encoding, "\(format)")
        let clip = try AudioDecoder.load(contentsOf: url, options: .native)
        XCTAssertEqual(clip.samples.count, signal.count, "\(format)")
        XCTAssertEqual(clip.sampleRate, rate)
        XCTAssertLessThanOrEqual(TestSignals.maxAbsDiff(clip.samples, signal), tolerance, "\(format)")
        XCTAssertGreaterThan(TestSignals.rms(clip.samples), 0.3, "\(format): decoded silence?")
    }

    func testWAVPCMDepths() throws {
        try roundTrip(AudioFileFormat(.wav, .pcm8), tolerance: 1.0 / 128, container: "WAV (Microsoft)", encoding: "Unsigned 8 bit PCM")
        try roundTrip(.wav16, tolerance: 1.0 / 32768, container: "WAV (Microsoft)", encoding: "Signed 16 bit PCM")
        try roundTrip(AudioFileFormat(.wav, .pcm24), tolerance: 1.0 / 8_388_608, container: "WAV (Microsoft)", encoding: "Signed 24 bit PCM")
        try roundTrip(AudioFileFormat(.wav, .pcm32), tolerance: 1e-7, container: "WAV (Microsoft)", encoding: "Signed 32 bit PCM")
    }

    func testWAVFloat() throws {
        try roundTrip(.wavFloat, tolerance: 0, container: "WAV (Microsoft)", encoding: "32 bit float")
        try roundTrip(AudioFileFormat(.wav, .float64), tolerance: 0, container: "WAV (Microsoft)", encoding: "64 bit float")
    }

    func testWAVExtensible() throws {
        try roundTrip(AudioFileFormat(.wavExtensible, .pcm16), tolerance: 1.0 / 32768, container: "WAVEX (Microsoft)", encoding: "Signed 16 bit PCM")
        try roundTrip(AudioFileFormat(.wavExtensible, .pcm24), tolerance: 1.0 / 8_388_608, container: "WAVEX (Microsoft)", encoding: "Signed 24 bit PCM")
        try roundTrip(AudioFileFormat(.wavExtensible, .float32), tolerance: 0, container: "WAVEX (Microsoft)", encoding: "32 bit float")
    }

    func testFLACAndAIFF() throws {
        try roundTrip(.flac16, tolerance: 1.0 / 32768, container: "FLAC (Free Lossless Audio Codec)", encoding: "Signed 16 bit PCM")
        try roundTrip(AudioFileFormat(.flac, .pcm24), tolerance: 1.0 / 8_388_608, container: "FLAC (Free Lossless Audio Codec)", encoding: "Signed 24 bit PCM")
        try roundTrip(AudioFileFormat(.aiff, .pcm16), tolerance: 1.0 / 32768, container: "AIFF (Apple/SGI)", encoding: "Signed 16 bit PCM")
    }

    /// A 24-bit WAV and a WAVE_FORMAT_EXTENSIBLE float WAV written byte by byte (no libsndfile writer).
    func testHandWrittenWAVBytes() throws {
        let values: [Int32] = [0, 1, -1, 8_388_607, -8_388_608, 4_194_304, -123_456]
        var data: [UInt8] = []
        for v in values { let u = UInt32(bitPattern: v); data += [UInt8(u & 0xFF), UInt8((u >> 8) & 0xFF), UInt8((u >> 16) & 0xFF)] }
        let pcm24 = TestSignals.wavBytes(formatTag: 1, channels: 1, sampleRate: 8000, bitsPerSample: 24, data: data)
        let clip = try AudioDecoder.load(data: pcm24, name: "pcm24.wav", options: .native)
        XCTAssertEqual(clip.samples, values.map { Float($0) / 8_388_608 })

        // WAVE_FORMAT_EXTENSIBLE, 2 channels of IEEE float (sub-format GUID 00000003-0000-0010-8000-00aa00389b71).
        let frames: [(Float, Float)] = [(0.25, -0.75), (1, 0), (-0.5, 0.5)]
        var fdata: [UInt8] = []
        for (l, r) in frames { fdata += TestSignals.le32(l.bitPattern) + TestSignals.le32(r.bitPattern) }
        let guid: [UInt8] = [0x03, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]
        let extra = TestSignals.le16(22) + TestSignals.le16(32) + TestSignals.le32(3) + guid
        let ext = TestSignals.wavBytes(formatTag: 0xFFFE, channels: 2, sampleRate: 8000, bitsPerSample: 32,
                                       data: fdata, fmtExtra: extra)
        let info = try AudioDecoder.info(data: ext, name: "ext.wav")
        XCTAssertEqual(info.container, "WAVEX (Microsoft)")
        XCTAssertEqual(info.encoding, "32 bit float")
        let mono = try AudioDecoder.load(data: ext, name: "ext.wav", options: .native)
        XCTAssertEqual(mono.samples, frames.map { ($0.0 + $0.1) / 2 })
        XCTAssertEqual(mono.sourceChannels, 2)
    }

    // Lossy formats: the waveform changes, so check length, pitch and level.
    private func lossyRoundTrip(_ format: AudioFileFormat, rate: Int, frameSlack: Int) throws {
        guard format.isWritable(sampleRate: rate) else {
            throw XCTSkip("the installed libsndfile cannot write \(format) at \(rate) Hz")
        }
        let n = rate / 2
        let x = TestSignals.sine(440, rate: rate, count: n, amplitude: 0.5)
        let url = try makeTemporaryDirectory().appendingPathComponent("x.\(format.encoding)")
        try AudioEncoder.write(x, sampleRate: rate, format: format, to: url)
        let clip = try AudioDecoder.load(contentsOf: url, options: .native)
        XCTAssertEqual(clip.sampleRate, rate)
        XCTAssertLessThanOrEqual(abs(clip.samples.count - n), frameSlack, "\(format): \(clip.samples.count) vs \(n) frames")
        let mid = Array(clip.samples[(clip.samples.count / 4)..<(clip.samples.count * 3 / 4)])
        XCTAssertEqual(TestSignals.dominantFrequency(mid, rate: rate, near: 440), 440, accuracy: 3, "\(format)")
        XCTAssertEqual(TestSignals.rms(mid), 0.5 / 2.0.squareRoot(), accuracy: 0.05, "\(format)")
        // Resampled to 22050 as well.
        let r = try AudioDecoder.load(contentsOf: url)
        XCTAssertEqual(r.samples.count, Resampler.outputLength(inputFrames: clip.samples.count, from: rate, to: 22050))
    }

    func testOggVorbis() throws { try lossyRoundTrip(.oggVorbis, rate: 16000, frameSlack: 0) }
    func testOggOpus() throws { try lossyRoundTrip(.oggOpus, rate: 48000, frameSlack: 0) }
    func testMP3() throws { try lossyRoundTrip(.mp3, rate: 44100, frameSlack: 2304) }

    func testLoadFromDataMatchesFile() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("s.flac")
        let stereo = TestSignals.interleave([TestSignals.sine(300, rate: 44100, count: 30000),
                                             TestSignals.sine(500, rate: 44100, count: 30000, amplitude: 0.25)])
        try AudioEncoder.write(stereo, channels: 2, sampleRate: 44100, format: .flac16, to: url)
        let a = try AudioDecoder.load(contentsOf: url)
        let b = try AudioDecoder.load(data: try Data(contentsOf: url), name: "upload.flac")
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.sourceChannels, 2)
        XCTAssertEqual(a.sourceSampleRate, 44100)
        XCTAssertEqual(a.sampleRate, 22050)
        XCTAssertEqual(a.samples.count, 15000)
        XCTAssertEqual(try AudioDecoder.info(data: try Data(contentsOf: url), name: "u"), try AudioDecoder.info(contentsOf: url))
    }

    func testMonoIsMeanOfChannels() throws {
        let l = TestSignals.sine(200, rate: 8000, count: 1000)
        let r = TestSignals.sine(310, rate: 8000, count: 1000, amplitude: 0.3)
        let c = TestSignals.sine(50, rate: 8000, count: 1000, amplitude: 0.1)
        let url = try makeTemporaryDirectory().appendingPathComponent("m.wav")
        try AudioEncoder.write(TestSignals.interleave([l, r]), channels: 2, sampleRate: 8000, format: .wavFloat, to: url)
        XCTAssertEqual(try AudioDecoder.load(contentsOf: url, options: .native).samples, zip(l, r).map { ($0 + $1) / 2 })
        try AudioEncoder.write(TestSignals.interleave([l, r, c]), channels: 3, sampleRate: 8000, format: .wavFloat, to: url)
        let three = try AudioDecoder.load(contentsOf: url, options: .native)
        XCTAssertEqual(three.sourceChannels, 3)
        XCTAssertEqual(three.samples, (0..<1000).map { (0 + l[$0] + r[$0] + c[$0]) / 3 })
    }
}
