import Foundation
import SERBundledModels
import SERRecognizer
import XCTest

/// The models of models/ are reachable by name from the library (what a package depending on
/// `SpeechEmotion` uses), from the resources SwiftPM copies next to the executable.
final class BundledModelTests: XCTestCase {
    func testEveryBundledModelIsFoundAsAResourceNextToTheExecutable() throws {
        for model in BundledModel.allCases {
            let url = try model.url()
            XCTAssertEqual(url.lastPathComponent, "\(model.rawValue).safetensors")
            XCTAssertTrue(url.path.contains("_SERBundledModels.resources"),
                          "\(model) should come from the resource bundle, came from \(url.path)")
            XCTAssertGreaterThan(try XCTUnwrap(FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int), 1_000_000)
        }
    }

    func testTheHandmadeModelLoadsAndClassifies() throws {
        let classifier = try BundledModel.handmade.classifier()
        XCTAssertEqual(classifier.labels.count, 8)
        let p = try EmotionRecognizer(classifier: classifier).recognize(samples: Voice.signal(seconds: 2, rate: 22050), sampleRate: 22050)
        XCTAssertTrue(p.speech)
        XCTAssertEqual(p.probabilityVector.reduce(0, +), 1, accuracy: 1e-4)
    }

    func testAnUnknownPlaceIsATypedErrorNamingWhereItLooked() {
        let e = BundledModelError.notFound(name: "x", searched: ["/a/x.safetensors"])
        XCTAssertTrue(e.description.contains("/a/x.safetensors"))
    }
}
