import Foundation
import XCTest
@testable import SERAudio
import SERTestSupport

/// Signals and hand-built files for the audio tests.
enum TestSignals {
    /// `amplitude * sin(2π f t)` for `count` samples at `rate`.
    static func sine(_ f: Double, rate: Int, count: Int, amplitude: Double = 0.5, phase: Double = 0) -> [Float] {
        (0..<count).map { Float(amplitude * sin(2 * Double.pi * f * Double($0) / Double(rate) + phase)) }
    }

    /// Interleaves equal-length channels.
    static func interleave(_ channels: [[Float]]) -> [Float] {
        let n = channels[0].count
        var out = [Float](repeating: 0, count: n * channels.count)
        for (c, ch) in channels.enumerated() { for i in 0..<n { out[i * channels.count + c] = ch[i] } }
        return out
    }

    /// A RIFF/WAVE file built byte by byte. `declaredDataBytes` overrides the data chunk size.
    static func wavBytes(formatTag: UInt16, channels: Int, sampleRate: Int, bitsPerSample: Int,
                         data: [UInt8], fmtExtra: [UInt8] = [], declaredDataBytes: UInt32? = nil) -> Data {
        var fmt: [UInt8] = []
        let blockAlign = channels * bitsPerSample / 8
        fmt += le16(formatTag) + le16(UInt16(channels)) + le32(UInt32(sampleRate))
        fmt += le32(UInt32(sampleRate * blockAlign)) + le16(UInt16(blockAlign)) + le16(UInt16(bitsPerSample)) + fmtExtra
        var body: [UInt8] = Array("WAVE".utf8)
        body += Array("fmt ".utf8) + le32(UInt32(fmt.count)) + fmt
        body += Array("data".utf8) + le32(declaredDataBytes ?? UInt32(data.count)) + data
        return Data(Array("RIFF".utf8) + le32(UInt32(body.count)) + body)
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }

    /// Frequency of the strongest DFT bin in 0 ..< rate/2 (1 Hz steps around `near`).
    static func dominantFrequency(_ x: [Float], rate: Int, near: Double, span: Double = 50) -> Double {
        var best = (f: 0.0, p: -1.0)
        var f = near - span
        while f <= near + span {
            var re = 0.0, im = 0.0
            for (i, v) in x.enumerated() {
                let a = 2 * Double.pi * f * Double(i) / Double(rate)
                re += Double(v) * cos(a); im += Double(v) * sin(a)
            }
            let p = re * re + im * im
            if p > best.p { best = (f, p) }
            f += 1
        }
        return best.f
    }

    /// Root mean square.
    static func rms<C: Collection>(_ x: C) -> Double where C.Element == Float {
        x.isEmpty ? 0 : (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
    }

    /// Largest absolute difference over the common length.
    static func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}

extension XCTestCase {
    /// A temporary directory removed after the test.
    func makeTemporaryDirectory() throws -> URL {
        let dir = try SharedData.temporaryDirectory("ser-audio")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Asserts that `body` throws exactly `expected`.
    func assertAudioError<T>(_ expected: AudioError, file: StaticString = #filePath, line: UInt = #line,
                             _ body: () throws -> T) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? AudioError, expected, "got \(error)", file: file, line: line)
        }
    }
}
