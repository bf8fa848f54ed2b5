import Foundation
import XCTest
@testable import SERAudio
import SERCore
import SERTestSupport

/// `AudioDecoder.load` against `librosa.load(path, sr=SR)` for the corpus cases of
/// `../shared/reference/librosa/*.safetensors` (the `signal` tensor).
final class LibrosaParityTests: XCTestCase {
    private struct Case { let reference: URL; let audio: URL; let sampleRate: Int }

    private func corpusCases() throws -> [Case] {
        guard let refDir = SharedData.path("reference/librosa"), let corpora = SharedData.path("corpora") else {
            throw XCTSkip("needs ../shared/reference/librosa and ../shared/corpora (absent on a fresh clone)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: refDir.path).sorted()
        var cases: [Case] = []
        for name in names where name.hasSuffix(".safetensors")
            && ["ravdess_", "emodb_", "savee_"].contains(where: { name.hasPrefix($0) }) {
            let url = refDir.appendingPathComponent(name)
            let file = try SafeTensorsFile(contentsOf: url)
            // source: "corpus:<path under corpora> loaded with librosa.load(...)"
            guard let source = file.metadata["source"], source.hasPrefix("corpus:"),
                  let sr = file.metadata["sr"].flatMap({ Int($0) }) else {
                XCTFail("\(name): metadata lacks a corpus source or sr: \(file.metadata)")
                continue
            }
            let relative = String(source.dropFirst("corpus:".count).prefix { $0 != " " })
            cases.append(Case(reference: url, audio: corpora.appendingPathComponent(relative), sampleRate: sr))
        }
        if cases.isEmpty { throw XCTSkip("no corpus cases in \(refDir.path)") }
        return cases
    }

    func testCorpusSignalsMatchLibrosa() throws {
        for c in try corpusCases() {
            let reference = try SafeTensorsFile(contentsOf: c.reference).tensor("signal", path: c.reference.path).data
            let clip = try AudioDecoder.load(contentsOf: c.audio, options: .init(sampleRate: c.sampleRate))
            XCTAssertEqual(clip.sampleRate, c.sampleRate)
            XCTAssertEqual(clip.samples.count, reference.count, c.reference.lastPathComponent)
            let diff = TestSignals.maxAbsDiff(clip.samples, reference)
            XCTAssertLessThan(diff, 2e-3, c.reference.lastPathComponent)
            print("parity \(c.reference.lastPathComponent): \(clip.samples.count) samples, max |diff| \(diff)")
        }
    }

    func testStreamingFromMemoryMatchesLibrosaToo() throws {
        guard let c = try corpusCases().first else { return }
        let reference = try SafeTensorsFile(contentsOf: c.reference).tensor("signal").data
        var streamed: [Float] = []
        try AudioDecoder.stream(data: try Data(contentsOf: c.audio), name: c.audio.lastPathComponent,
                                options: .init(sampleRate: c.sampleRate, blockFrames: 10_000)) { streamed += $0 }
        XCTAssertEqual(streamed.count, reference.count)
        XCTAssertLessThan(TestSignals.maxAbsDiff(streamed, reference), 2e-3)
    }
}
