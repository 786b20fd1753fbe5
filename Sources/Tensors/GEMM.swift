import CBLAS

/// How a GEMM uses the cores (`../shared/notes/swift-kernels.md`: never
/// nest OpenBLAS threads inside a `parallelFor`).
public enum GEMMThreading: Sendable {
    /// One `cblas_sgemm` call from the calling thread; OpenBLAS threads
    /// internally with `Threads.count` threads.
    case openBLAS
    /// OpenBLAS set to 1 thread; the rows of C are split into `Threads.count`
    /// slices, one `cblas_sgemm` per slice inside `parallelFor`.
    case splitRows
}

extension Threads {
    /// The GEMM threading strategy. Default `.splitRows`: on this 2-core
    /// machine (shared, loaded) KernelBench's ConvNeXt-Tiny Dense shapes ran
    /// at 69-91 GFLOP per CPU-second split vs 48-97 with OpenBLAS threads,
    /// and faster in wall time at stages 1-2 (e.g. 56x56 C->4C: 122 vs 186 ms),
    /// mixed at stages 3-4. Re-measure with `KernelBench --gemm-both`.
    nonisolated(unsafe) public static var gemm: GEMMThreading = .splitRows
}

/// Which code computes a GEMM.
public enum GEMMKernel: Sendable {
    /// `TiledGEMM` where it was measured faster (see `tiledGEMMPreferred`), else OpenBLAS.
    case automatic
    /// Always OpenBLAS (threaded as `Threads.gemm` says).
    case openBLAS
    /// The register-tiled Swift kernel where it applies (N a multiple of 96,
    /// alpha 1, beta 0), else OpenBLAS.
    case tiled
}

extension GEMMKernel {
    /// The kernel GEMMs use when the caller does not say. `cnx bench --gemm`
    /// and KernelBench change it to compare.
    nonisolated(unsafe) public static var current: GEMMKernel = .automatic
}

/// Where `TiledGEMM` beat OpenBLAS in KernelBench (`--gemm-shapes`: the
/// ConvNeXt-Tiny batch-16 Dense shapes on this 2-core machine, 2026-11-29):
/// - the GEMMs into C channels at stages 1-2 (Conv_2's forward and Conv_1's
///   input gradient, N = 96 or 192): 18.0 vs 23.5 ms, 17.7 vs 19.9 ms;
/// - the weight gradients over the long inner dimension B*H*W of stages 1-2
///   (K = 50176 or 12544): 20.2 vs 22.9-23.3 ms at stage 1, 18.4-19.0 vs
///   19.3-19.9 ms at stage 2.
/// Elsewhere (N of 384 and more into 4C channels, stages 3-4) OpenBLAS was
/// as fast or faster.
func tiledGEMMPreferred(transA: Bool, transB: Bool, m: Int, n: Int, k: Int) -> Bool {
    guard n % tiledGEMMColumns == 0 else { return false }
    if transA { return k >= 8 * 1024 }
    return n <= 2 * tiledGEMMColumns && m >= 4 * 1024 && k >= 256
}

/// Row-major single-precision GEMM:
/// `C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C`, by `TiledGEMM` or
/// OpenBLAS as `kernel` says (OpenBLAS threaded as `Threads.gemm` says).
/// Must not be called from inside a `parallelFor` body.
public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                 alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, kernel: GEMMKernel = GEMMKernel.current) {
    let tiledFits = alpha == 1 && beta == 0 && n % tiledGEMMColumns == 0
    let useTiled: Bool
    switch kernel {
    case .openBLAS: useTiled = false
    case .tiled: useTiled = tiledFits
    case .automatic: useTiled = tiledFits && tiledGEMMPreferred(transA: transA, transB: transB, m: m, n: n, k: k)
    }
    if useTiled {
        // op(A)[i, kk] is a[i * lda + kk] or, transposed, a[kk * lda + i].
        let (aRow, aK) = transA ? (1, lda) : (lda, 1)
        if !transB {
            tiledGEMM(m: m, n: n, k: k, a: a, aRow: aRow, aK: aK, b: b, ldb: ldb, c: c, ldc: ldc)
        } else {
            // op(B) = Bᵀ: copy it to [K, N] rows once (B is a weight: small).
            let bt = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
            defer { bt.deallocate() }
            for j in 0..<n { for kk in 0..<k { bt[kk &* n &+ j] = b[j &* ldb &+ kk] } }
            tiledGEMM(m: m, n: n, k: k, a: a, aRow: aRow, aK: aK, b: bt, ldb: n, c: c, ldc: ldc)
        }
        return
    }
    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
          b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
}

/// Row-major single-precision GEMM through OpenBLAS:
/// `C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C`, threaded as
/// `Threads.gemm` says. Must not be called from inside a `parallelFor` body.
func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
           b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let ways = min(Threads.count, m / 64)
    if Threads.gemm == .openBLAS || ways < 2 {
        sgemmCall(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    // Rows i of C come from rows i of op(A): row i of A (no transpose) or
    // column i of A (transposed).
    let saved = Int(openblas_get_num_threads())
    openblas_set_num_threads(1)
    let step = (m + ways - 1) / ways
    parallelFor(ways) { w in
        let lo = w &* step, hi = min(m, lo &+ step)
        if lo >= hi { return }
        let aSlice = transA ? a + lo : a + lo &* lda
        sgemmCall(transA: transA, transB: transB, m: hi &- lo, n: n, k: k, alpha: alpha,
                  a: aSlice, lda: lda, b: b, ldb: ldb, beta: beta, c: c + lo &* ldc, ldc: ldc)
    }
    openblas_set_num_threads(Int32(saved))
}

/// One `cblas_sgemm` call (see `sgemm`).
@inline(__always)
private func sgemmCall(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
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
