import XCTest
import SERCore
import SERFeatures
@testable import SEREncoder
import SERTestSupport

final class WhisperLogMelTests: XCTestCase {
    func testFrameCount() {
        XCTAssertEqual(WhisperLogMel.frames(samples: 16000), 100)
        XCTAssertEqual(WhisperEncoder.frames(samples: 16000), 50)
    }
}
