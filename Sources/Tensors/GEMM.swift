import CBLAS

/// Row-major single-precision GEMM through OpenBLAS:
/// `C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C`.
///
/// Called from one thread; OpenBLAS threads internally with
/// `Threads.count` threads (set by `Threads.count`'s observer), so it must
/// never be called from inside a `parallelFor` body (nested threads
/// oversubscribe the cores, `../shared/notes/swift-kernels.md`).
@inline(__always)
func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
           b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // OpenBLAS handles K = 0 as C = beta*C; do it here to avoid passing lda = 0.
        for i in 0..<(m * n) { c[i] = beta == 0 ? 0 : beta * c[i] }
        return
    }
    cblas_sgemm(CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k),
                alpha, a, blasint(lda), b, blasint(ldb),
                beta, c, blasint(ldc))
}

/// OpenBLAS's own thread count (kept equal to `Threads.count`).
public enum BLASThreads {
    /// The number of threads OpenBLAS uses for one GEMM.
    public static var count: Int { Int(openblas_get_num_threads()) }

    /// Sets OpenBLAS's thread count (at least 1).
    public static func set(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
}
