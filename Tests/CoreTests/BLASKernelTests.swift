import Foundation
import XCTest
@testable import SERCore

/// The choice of OpenBLAS kernels (`BLASKernel`): the rule on made-up processors, and the live
/// choice on this one.
final class BLASKernelTests: XCTestCase {
    private func cpu(avx: Bool = true, avx2: Bool = true, fma: Bool = true, avx512: Bool = false) -> CPUInfo {
        CPUInfo(model: "test", vendor: "GenuineIntel", family: 6, modelNumber: 207,
                avx: avx, avx2: avx2, fma: fma, avx512: avx512)
    }

    func testUpgradesKernelsNarrowerThanTheProcessor() {
        // OpenBLAS 0.3.21 on an Emerald Rapids Xeon: Prescott.
        XCTAssertEqual(BLASKernel.coreToSelect(cpu: cpu(avx512: true), openBLASChoice: "Prescott", environment: nil), "SkylakeX")
        XCTAssertEqual(BLASKernel.coreToSelect(cpu: cpu(), openBLASChoice: "Prescott", environment: nil), "Haswell")
        XCTAssertEqual(BLASKernel.coreToSelect(cpu: cpu(avx2: false, fma: false), openBLASChoice: "Nehalem", environment: nil),
                       "SandyBridge")
        XCTAssertEqual(BLASKernel.coreToSelect(cpu: cpu(avx512: true), openBLASChoice: "Haswell", environment: nil), "SkylakeX")
    }

    func testKeepsOpenBLASChoiceWhenItIsAsWideOrWider() {
        XCTAssertNil(BLASKernel.coreToSelect(cpu: cpu(avx512: true), openBLASChoice: "SkylakeX", environment: nil))
        XCTAssertNil(BLASKernel.coreToSelect(cpu: cpu(avx512: true), openBLASChoice: "Cooperlake", environment: nil))
        XCTAssertNil(BLASKernel.coreToSelect(cpu: cpu(), openBLASChoice: "Zen", environment: nil))
        XCTAssertNil(BLASKernel.coreToSelect(cpu: cpu(), openBLASChoice: "SkylakeX", environment: nil))
        // An SSE-only processor: nothing better to offer.
        XCTAssertNil(BLASKernel.coreToSelect(cpu: cpu(avx: false, avx2: false, fma: false), openBLASChoice: "Prescott",
                                             environment: nil))
        // AVX2 without FMA is not enough for OpenBLAS's Haswell kernels.
        XCTAssertEqual(BLASKernel.coreToSelect(cpu: cpu(fma: false), openBLASChoice: "Prescott", environment: nil), "SandyBridge")
    }

    func testUserChoiceWins() {
        XCTAssertNil(BLASKernel.coreToSelect(cpu: cpu(avx512: true), openBLASChoice: "Prescott", environment: "Prescott"))
        XCTAssertNil(BLASKernel.coreToSelect(cpu: cpu(avx512: true), openBLASChoice: "Haswell", environment: "Haswell"))
    }

    func testActiveKernelMatchesThisProcessorAndComputesCorrectly() {
        let active = BLASKernel.active
        let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { !$0.isEmpty } ?? false
        if forced {
            XCTAssertEqual(active.selection, .environment)
        } else if active.selection != .fixed, let preferred = BLASKernel.preferredCore(for: .current) {
            XCTAssertGreaterThanOrEqual(BLASKernel.tier(ofCore: active.core), preferred.tier, active.summary)
        }
        XCTAssertFalse(CPUInfo.current.summary.isEmpty)
        XCTAssertTrue(SERVersion.report.contains(active.core))

        // A product of awkward shapes through the chosen kernels, against a float64 loop.
        let m = 37, n = 29, k = 53
        var rng = SeededRandom(seed: 3)
        let a = (0..<(m * k)).map { _ in rng.nextNormal() }
        let b = (0..<(k * n)).map { _ in rng.nextNormal() }
        var c = [Float](repeating: 0, count: m * n)
        BLAS.gemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n)
        var worst = 0.0
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
            worst = max(worst, abs(s - Double(c[i * n + j])))
        } }
        XCTAssertLessThan(worst, 1e-4)
    }
}
