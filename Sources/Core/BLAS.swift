import COpenBLAS

/// Matrix products through OpenBLAS `cblas_sgemm`. Every matrix product in the project goes here.
public enum BLAS {
    /// `C = alpha * op(A) * op(B) + beta * C`, row-major.
    ///
    /// - Parameters:
    ///   - transA/transB: use the transpose of A/B.
    ///   - m, n, k: `op(A)` is (m, k), `op(B)` is (k, n), C is (m, n).
    ///   - lda, ldb, ldc: row strides (elements) of the stored A, B, C.
    @inlinable
    public static func gemm(transA: Bool = false, transB: Bool = false,
                            m: Int, n: Int, k: Int,
                            alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0,
                            c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        selectKernels()
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } } }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y = alpha * op(A) * x + beta * y` for a row-major A (`cblas_sgemv`).
    ///
    /// For one-row products (a batch of one): `gemm` with m = 1 makes OpenBLAS pack the whole
    /// matrix on every call (0.3.21 does not hand such calls to gemv), which costs as much as the
    /// product itself; gemv reads the matrix once.
    ///
    /// - Parameters:
    ///   - trans: use the transpose of A.
    ///   - rows, columns: A is (rows, columns) as stored, row stride `lda`.
    ///   - x: `trans ? rows : columns` values; y: `trans ? columns : rows` values.
    @inlinable
    public static func gemv(trans: Bool = false, rows: Int, columns: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
                            beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        guard rows > 0, columns > 0 else {
            let n = trans ? columns : rows
            if n > 0 { for i in 0..<n { y[i] = beta == 0 ? 0 : beta * y[i] } }
            return
        }
        selectKernels()
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(rows), Int32(columns), alpha,
                    a, Int32(lda), x, 1, beta, y, 1)
    }

    /// Makes the kernel choice of `BLASKernel.active` before the first product (a `swift_once`
    /// check after that).
    @usableFromInline
    @inline(never)
    static func selectKernels() { withExtendedLifetime(BLASKernel.active) {} }

    /// The number of threads OpenBLAS currently uses (`OPENBLAS_NUM_THREADS` or all cores).
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses (1 for reproducible single-thread benchmarks).
    public static func setThreads(_ n: Int) {
        selectKernels()
        openblas_set_num_threads(Int32(max(1, n)))
    }
}
