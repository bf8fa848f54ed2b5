import CCPU
import Foundation

/// The processor this process runs on, as `cpuid` reports it.
public struct CPUInfo: Sendable, Equatable {
    /// Brand string, e.g. "Intel(R) Xeon(R) Processor"; "unknown" when the processor has none.
    public let model: String
    /// Vendor string, e.g. "GenuineIntel".
    public let vendor: String
    /// Display family and model (family 6 model 207 is an Emerald Rapids Xeon).
    public let family: Int
    public let modelNumber: Int
    /// Instruction sets that exist and that the OS has enabled.
    public let avx: Bool, avx2: Bool, fma: Bool, avx512: Bool

    /// The processor running this code.
    public static let current: CPUInfo = {
        var raw = ser_cpu_info()
        _ = ser_cpu_identify(&raw)
        let vendor = withUnsafeBytes(of: raw.vendor) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let brand = withUnsafeBytes(of: raw.brand) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return CPUInfo(model: brand.isEmpty ? "unknown" : brand, vendor: vendor,
                       family: Int(raw.family), modelNumber: Int(raw.model),
                       avx: raw.avx != 0, avx2: raw.avx2 != 0, fma: raw.fma != 0, avx512: raw.avx512 != 0)
    }()

    /// The widest vector extension usable here: "AVX-512", "AVX2+FMA", "AVX" or "SSE".
    public var vectorExtension: String {
        if avx512 { return "AVX-512" }
        if avx2 && fma { return "AVX2+FMA" }
        if avx { return "AVX" }
        return "SSE"
    }

    /// One line for logs and benchmark headers, e.g.
    /// `Intel(R) Xeon(R) Processor (GenuineIntel family 6 model 207, AVX-512)`.
    public var summary: String {
        "\(model) (\(vendor.isEmpty ? "unknown vendor" : vendor) family \(family) model \(modelNumber), \(vectorExtension))"
    }
}

/// Which OpenBLAS kernels run the matrix products, and why.
///
/// Debian's OpenBLAS 0.3.21 (a DYNAMIC_ARCH build) picks its kernels from a table of CPU models it
/// knew in 2022. On newer processors it falls back to its Prescott (SSE3) kernels, 2-4x slower than
/// the AVX2 or AVX-512 ones the processor runs fine. So before the first matrix product, SER reads
/// the processor's feature flags itself and, when OpenBLAS chose kernels narrower than those flags
/// allow, re-runs OpenBLAS's selection with the matching core: AVX-512 (F, CD, BW, DQ, VL) →
/// SkylakeX, AVX2 + FMA → Haswell, AVX → SandyBridge. It never chooses narrower kernels than
/// OpenBLAS did, and it changes nothing when the user set `OPENBLAS_CORETYPE`.
public struct BLASKernel: Sendable, Equatable {
    /// How the kernels in use were chosen.
    public enum Selection: String, Sendable {
        /// OpenBLAS's own choice already matched the processor.
        case openBLAS = "OpenBLAS's own choice"
        /// SER replaced OpenBLAS's choice with kernels matching the processor's feature flags.
        case featureFlags = "chosen by SER from the CPU's feature flags"
        /// The user forced a core with `OPENBLAS_CORETYPE`.
        case environment = "forced by OPENBLAS_CORETYPE"
        /// The BLAS library cannot switch kernels at run time (not a DYNAMIC_ARCH OpenBLAS).
        case fixed = "fixed at build time"
    }

    /// OpenBLAS's core name in use, e.g. "SkylakeX" ("unknown" for a BLAS that is not OpenBLAS).
    public let core: String
    /// What OpenBLAS itself chose when it loaded.
    public let openBLASChoice: String
    public let selection: Selection

    /// One line, e.g. `OpenBLAS SkylakeX (chosen by SER from the CPU's feature flags; OpenBLAS chose Prescott)`.
    public var summary: String {
        selection == .featureFlags
            ? "OpenBLAS \(core) (\(selection.rawValue); OpenBLAS chose \(openBLASChoice))"
            : "OpenBLAS \(core) (\(selection.rawValue))"
    }

    /// The kernels in use. Reading this the first time makes the selection; every matrix product
    /// in the project (`BLAS.gemm`) reads it first, so the choice is made before any BLAS work.
    public static let active: BLASKernel = select(cpu: .current,
                                                  environment: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])

    /// OpenBLAS core names ranked by vector width: 3 AVX-512, 2 AVX2, 1 AVX, 0 SSE or unknown.
    static func tier(ofCore name: String) -> Int {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 3
        case "haswell", "zen": return 2
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": return 1
        default: return 0
        }
    }

    /// The core SER wants on `cpu`, with its tier; nil when SSE kernels are all it can run.
    static func preferredCore(for cpu: CPUInfo) -> (name: String, tier: Int)? {
        if cpu.avx512 { return ("SkylakeX", 3) }
        if cpu.avx2 && cpu.fma { return ("Haswell", 2) }
        if cpu.avx { return ("SandyBridge", 1) }
        return nil
    }

    /// The decision alone, without touching OpenBLAS: the core to switch to, or nil to keep
    /// OpenBLAS's choice.
    static func coreToSelect(cpu: CPUInfo, openBLASChoice: String, environment: String?) -> String? {
        if let forced = environment, !forced.isEmpty { return nil }
        guard let preferred = preferredCore(for: cpu) else { return nil }
        return preferred.tier > tier(ofCore: openBLASChoice) ? preferred.name : nil
    }

    static func select(cpu: CPUInfo, environment: String?) -> BLASKernel {
        guard let name = ser_openblas_corename() else {
            return BLASKernel(core: "unknown", openBLASChoice: "unknown", selection: .fixed)
        }
        let initial = String(cString: name)
        if let forced = environment, !forced.isEmpty {
            return BLASKernel(core: initial, openBLASChoice: initial, selection: .environment)
        }
        guard let target = coreToSelect(cpu: cpu, openBLASChoice: initial, environment: environment) else {
            return BLASKernel(core: initial, openBLASChoice: initial, selection: .openBLAS)
        }
        guard ser_openblas_select_core(target) != 0, let now = ser_openblas_corename() else {
            return BLASKernel(core: initial, openBLASChoice: initial, selection: .fixed)
        }
        return BLASKernel(core: String(cString: now), openBLASChoice: initial, selection: .featureFlags)
    }
}
