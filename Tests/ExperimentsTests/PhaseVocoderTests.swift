import Foundation
import XCTest
import SERCore
import SERTestSupport
import SERFeatures
import SERExperiments

/// Time stretch and pitch shift against librosa 0.11 (`benchmarks/augmentation/librosa_pitch.py`).
final class PhaseVocoderTests: XCTestCase {
    private func reference() throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: SharedData.fixture("librosa/pitch_shift_22050.safetensors"))
    }

    /// Largest |a - b| relative to the reference's peak, after checking lengths.
    /// (Measured: about 7e-6 for every case below.)
    private func relativeError(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(a.count, b.count, "length", file: file, line: line)
        guard a.count == b.count, let peak = b.map(abs).max(), peak > 0 else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max()! / peak
    }

    func testTimeStretchMatchesLibrosa() throws {
        let ref = try reference()
        let y = try ref.tensor("signal").data
        for rate in ["0.8", "1.25"] {
            let ours = PhaseVocoder.timeStretch(y, rate: Double(rate)!)
            let err = relativeError(ours, try ref.tensor("stretch_\(rate)").data)
            XCTAssertLessThan(err, 5e-5, "rate \(rate)")
        }
    }

    func testPitchShiftMatchesLibrosaAndKeepsTheLength() throws {
        let ref = try reference()
        let y = try ref.tensor("signal").data
        for steps in ["2.0", "-1.5"] {
            let ours = try PhaseVocoder.pitchShift(y, sampleRate: 22050, semitones: Double(steps)!)
            XCTAssertEqual(ours.count, y.count)
            let err = relativeError(ours, try ref.tensor("pitch_\(steps)").data)
            XCTAssertLessThan(err, 5e-5, "\(steps) semitones")
        }
    }

    func testPitchShiftMovesAToneBySemitones() throws {
        // A 440 Hz tone two semitones up is 493.88 Hz: count zero crossings over the middle.
        let sr = 22050
        let tone = (0..<sr).map { Float(0.5 * sin(2 * Double.pi * 440 * Double($0) / Double(sr))) }
        let up = try PhaseVocoder.pitchShift(tone, sampleRate: sr, semitones: 2)
        let mid = Array(up[4096..<(sr - 4096)])
        var crossings = 0
        for i in 1..<mid.count where (mid[i - 1] < 0) != (mid[i] < 0) { crossings += 1 }
        let hz = Double(crossings) / 2 / (Double(mid.count) / Double(sr))
        XCTAssertEqual(hz, 440 * pow(2, 2.0 / 12), accuracy: 1.5)
    }

    func testEmptyAndTinyInputs() throws {
        XCTAssertEqual(PhaseVocoder.timeStretch([], rate: 1.1), [])
        XCTAssertEqual(try PhaseVocoder.pitchShift([], sampleRate: 16000, semitones: 1), [])
        let short: [Float] = [0.1, -0.2, 0.3]
        XCTAssertEqual(try PhaseVocoder.pitchShift(short, sampleRate: 16000, semitones: -1).count, 3)
    }
}
