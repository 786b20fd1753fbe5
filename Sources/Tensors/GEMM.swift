import CBLAS

/// Which code computes a GEMM.
public enum GEMMKernel: Sendable {
    /// `TiledGEMM` where the bound context's `tiledGEMMRule` says, else OpenBLAS.
    case automatic
    /// Always OpenBLAS.
    case openBLAS
    /// The register-tiled Swift kernel where it applies (N a multiple of 96,
    /// alpha 1, beta 0), else OpenBLAS.
    case tiled
}

/// The shape of one GEMM call, as a rule choosing its code sees it.
public struct GEMMShape: Sendable, Equatable {
    public var transA: Bool
    public var transB: Bool
    public var m: Int
    public var n: Int
    public var k: Int

    public init(transA: Bool, transB: Bool, m: Int, n: Int, k: Int) {
        self.transA = transA
        self.transB = transB
        self.m = m
        self.n = n
        self.k = k
    }
}

/// Which shapes `GEMMKernel.automatic` gives to `TiledGEMM`. The model that
/// owns the shapes provides it (ConvNeXt's measured rule lives in `Models`,
/// `ConvNeXt.tiledGEMMPreferred`); nil sends every GEMM to OpenBLAS.
public typealias TiledGEMMRule = @Sendable (GEMMShape) -> Bool

/// The arithmetic of a GEMM: float32 throughout, or bf16 products with
/// float32 accumulation and a bf16-rounded result (`bf16GEMM`: a bf16
/// model's convs and Dense layers).
public enum GEMMPrecision: Sendable {
    case float32
    case bf16
}

/// Row-major single-precision GEMM:
/// `C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C`, by `TiledGEMM` or
/// OpenBLAS as `kernel` says (nil: the bound `ComputeContext`'s `gemmKernel`;
/// `cnx bench --gemm` and KernelBench set it to compare). Every C element is computed the same way on
/// any thread count (see `sgemm` and `tiledGEMM`).
/// With `precision: .bf16` (alpha 1, beta 0 only) it is `bf16GEMM`.
/// Must not be called from inside a `parallelFor` body.
public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                 alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, kernel: GEMMKernel? = nil,
                 precision: GEMMPrecision = .float32) {
    if precision == .bf16 {
        precondition(alpha == 1 && beta == 0, "gemm: a bf16 GEMM has alpha 1 and beta 0")
        bf16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        return
    }
    let tiledFits = alpha == 1 && beta == 0 && n % tiledGEMMColumns == 0
    let context = ComputeContext.current
    let useTiled: Bool
    switch kernel ?? context.gemmKernel {
    case .openBLAS: useTiled = false
    case .tiled: useTiled = tiledFits
    case .automatic:
        useTiled = tiledFits && (context.tiledGEMMRule?(GEMMShape(transA: transA, transB: transB, m: m, n: n, k: k)) ?? false)
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
/// `C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C`.
///
/// OpenBLAS runs single-threaded (`BLASThreads.configure`): its own threading
/// and the way its kernels treat a block both depend on the problem's shape,
/// so a C element's bits would change with how the work is split. Here C is
/// cut into slices fixed by the shape alone — whole rows when M >= N (each
/// call re-packs B, the smaller operand then), whole columns otherwise (each
/// call re-packs A) — and the slices run in parallel, one call each. The same
/// calls on 1 or 16 threads: the same bits.
///
/// The slice count is a power of two (1, 2, 4 or 8, so 2, 4 or 8 threads share
/// them evenly) with at least 512 rows or columns per slice: re-packing costs
/// about as much per element as 20-50 multiply-adds, so a slice's packing stays
/// a few percent of its work (ConvNeXt-Tiny's stage 3-4 weight gradients: 2-4
/// slices).
/// Must not be called from inside a `parallelFor` body.
func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
           b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let byRows = m >= n
    let dim = byRows ? m : n
    var count = 1
    while count < 8 && dim / (2 * count) >= 512 { count *= 2 }
    let slices = RowChunks(rows: dim, minRows: 1, maxChunks: count)
    if slices.count == 1 {
        sgemmCall(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let io = UncheckedSendable((a, b, c))
    parallelFor(slices.count) { s in
        let (a, b, c) = io.value
        let r = slices.rows(s, of: byRows ? m : n)
        if r.isEmpty { return }
        if byRows {
            // Rows i of C come from rows i of op(A): row i of A, or column i of a transposed A.
            let aSlice = transA ? a + r.lowerBound : a + r.lowerBound &* lda
            sgemmCall(transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
                      a: aSlice, lda: lda, b: b, ldb: ldb, beta: beta, c: c + r.lowerBound &* ldc, ldc: ldc)
        } else {
            // Columns j of C come from columns j of op(B): column j of B, or row j of a transposed B.
            let bSlice = transB ? b + r.lowerBound &* ldb : b + r.lowerBound
            sgemmCall(transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha,
                      a: a, lda: lda, b: bSlice, ldb: ldb, beta: beta, c: c + r.lowerBound, ldc: ldc)
        }
    }
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
        for i in 0..<m { for j in 0..<n { c[i &* ldc &+ j] = beta == 0 ? 0 : beta * c[i &* ldc &+ j] } }
        return
    }
    BLASThreads.configure
    cnx_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k),
              alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// OpenBLAS's own threads: always one (see `sgemm`), and its kernels: always
/// Haswell's (Sources/CBLAS/BLASLoader.c: the kernels an AVX-512 CPU would
/// get sum in another order, so the bits would depend on the machine).
public enum BLASThreads {
    /// The number of threads OpenBLAS uses for one GEMM.
    public static var count: Int {
        configure
        return Int(cnx_blas_threads())
    }

    /// The kernel family OpenBLAS runs ("Haswell").
    public static var kernels: String {
        configure
        return String(cString: cnx_blas_corename())
    }

    /// Loads OpenBLAS (with Haswell's kernels) and sets it to one thread,
    /// once, before the first GEMM: `sgemm` splits the work itself, by a
    /// partition fixed by the shapes. A missing or already-loaded OpenBLAS
    /// stops the program with one line saying what to do.
    public static let configure: Void = {
        if let error = cnx_blas_load() { fatalError(String(cString: error)) }
        cnx_blas_set_threads(1)
    }()
}
