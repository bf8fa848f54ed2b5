import XCTest
import SERCore
import SERNetwork

final class WeightAverageTests: XCTestCase {
    func testAverageFollowsTheWarmedUpDecayRuleAndSwapsInPlace() {
        let p = Parameter(name: "w", shape: [2])        // starts at 0, so the shadow does too
        let avg = WeightAverage(parameters: [p], decay: 0.5)
        p.value[0] = 10; p.value[1] = 20
        XCTAssertEqual(avg.currentDecay, 0.1, accuracy: 1e-7)          // min(0.5, 1/10)
        avg.update()                                                   // 0.1*0 + 0.9*w
        XCTAssertEqual(avg.state()["w"]?.data ?? [], [9, 18])
        avg.update()                                                   // d = 2/11
        let d2: Float = 2.0 / 11.0
        XCTAssertEqual(avg.state()["w"]?.data[0] ?? 0, d2 * 9 + (1 - d2) * 10, accuracy: 1e-5)
        for _ in 0..<20 { avg.update() }
        XCTAssertEqual(avg.currentDecay, 0.5)                          // capped once (1+n)/(10+n) > decay
        XCTAssertEqual(avg.updates, 22)
        // swap() exchanges live and averaged values; twice restores both.
        p.value[0] = -1; p.value[1] = -2
        let averaged = avg.state()["w"]!.data
        avg.swap()
        XCTAssertEqual([p.value[0], p.value[1]], averaged)
        XCTAssertEqual(avg.state()["w"]?.data ?? [], [-1, -2])
        avg.swap()
        XCTAssertEqual([p.value[0], p.value[1]], [-1, -2])
        XCTAssertEqual(avg.state()["w"]?.data ?? [], averaged)
    }

    func testStateRoundTripsAndWrongSizesAreRefused() {
        let p = Parameter(name: "w", shape: [3])
        let a = WeightAverage(parameters: [p], decay: 0.9)
        XCTAssertTrue(a.restore(state: ["w": Tensor(shape: [3], data: [1, 2, 3])], updates: 7))
        XCTAssertEqual(a.updates, 7)
        XCTAssertEqual(a.state()["w"]?.data ?? [], [1, 2, 3])
        XCTAssertFalse(a.restore(state: ["w": Tensor(shape: [2], data: [1, 2])], updates: 9))
        XCTAssertFalse(a.restore(state: [:], updates: 9))
        XCTAssertEqual(a.updates, 7)
        XCTAssertEqual(a.state()["w"]?.data ?? [], [1, 2, 3])
    }
}
