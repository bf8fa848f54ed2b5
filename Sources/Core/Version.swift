/// The release of this package, as `ser --version` and `GET /healthz` report it.
public enum SERVersion {
    public static let current = "0.2.0"

    /// What `ser --version` prints: the release, the processor and the BLAS kernels in use, so a
    /// bug report or a benchmark says what it ran on.
    public static var report: String {
        """
        ser \(current)
        cpu: \(CPUInfo.current.summary)
        blas: \(BLASKernel.active.summary)
        """
    }
}
