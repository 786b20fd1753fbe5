import CBF16Kernels
#if canImport(Glibc)
import Glibc
#endif

/// Which code multiplies bf16 matrices (`bf16GEMM`).
public enum BF16GEMMEngine: String, Sendable, CaseIterable {
    /// AVX512-BF16 `vdpbf16ps`: two products per lane per instruction.
    case native
    /// The same arithmetic in float32 FMAs on any x86-64 CPU: the same bits, slower.
    case emulated

    /// Whether this CPU runs the native kernel.
    public static let nativeAvailable: Bool = cnx_bf16_native_available() != 0

    /// The engine bf16 GEMMs use: native where the CPU has AVX512-BF16,
    /// else emulated; `CNX_BF16_GEMM=emulated` forces the emulation (to
    /// compare the two; an unusable `native` falls back to the emulation).
    public static let standard: BF16GEMMEngine = {
        if let forced = getenv("CNX_BF16_GEMM").map({ String(cString: $0) }), forced == "emulated" { return .emulated }
        return nativeAvailable ? .native : .emulated
    }()
}

/// Row-major bf16 GEMM with float32 accumulation and a bf16 result, as XLA
/// computes a bf16 dot: `C[M,N] = r(op(A)[M,K] · op(B)[K,N])` where A and B
/// are float32 arrays holding bf16 values (others are rounded to nearest
/// even as they are read) and `r` rounds the float32 sum to bf16. Each C
/// element is the same sequence of float32 operations — the K pairs in
/// order, `vdpbf16ps`'s (CBF16Kernels.h) — on any thread count and with
/// either engine, so the bits depend on the shapes alone.
///
/// With a `bias` (N bf16 values) C gets `r(dot) + bias[j]`, rounded again
/// when `roundSum` (a bf16 add; else the float32 sum XLA leaves for a
/// LayerNorm or the loss), in the same pass that stores C.
///
/// Work is cut into blocks of C (at most 384 rows by 384 columns, smaller
/// when there are fewer than two blocks per thread) that run in parallel;
/// A's rows are packed into bf16 pairs once up front when several column
/// blocks share them, B's columns when several row blocks do, and either
/// when a block would read it in short pieces (see the code); else each
/// block packs its own.
/// Must not be called from inside a `parallelFor` body.
public func bf16GEMM(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, roundSum: Bool = true,
                     engine: BF16GEMMEngine = .standard) {
    bf16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, a: .float(a), lda: lda, b: .float(b), ldb: ldb,
             c: c, ldc: ldc, bias: bias, roundSum: roundSum, engine: engine)
}

/// A bf16 GEMM operand: float32 values (bf16 values, or rounded to bf16 as
/// they are read) or bf16 bits, two bytes each (a `BF16Tensor`'s halves).
public enum BF16Operand {
    case float(UnsafePointer<Float>)
    case halves(UnsafePointer<UInt16>)

    var pointer: UnsafeRawPointer {
        switch self {
        case let .float(p): return UnsafeRawPointer(p)
        case let .halves(p): return UnsafeRawPointer(p)
        }
    }

    /// 1 for bf16 bits, 0 for float32 (the C kernel's flag).
    var halvesFlag: Int32 {
        if case .halves = self { return 1 }
        return 0
    }
}

/// `bf16GEMM` on operands held either way (`BF16Operand`). With a `halves`
/// epilogue, `c` is not written: the results are the epilogue's bf16 bits.
func bf16GEMM(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
              a operandA: BF16Operand, lda: Int, b operandB: BF16Operand, ldb: Int,
              c: UnsafeMutablePointer<Float>?, ldc: Int, bias: UnsafePointer<Float>? = nil, roundSum: Bool = true,
              halves: BF16HalvesEpilogue? = nil, engine: BF16GEMMEngine = .standard) {
    if m == 0 || n == 0 { return }
    precondition(c != nil || halves != nil, "bf16GEMM: nowhere to store C")
    let a = operandA.pointer, aHalves = operandA.halvesFlag
    let b = operandB.pointer, bHalves = operandB.halvesFlag
    let native: Int32 = engine == .native && BF16GEMMEngine.nativeAvailable ? 1 : 0
    // op(A)[i, kk] is a[i * aRow + kk * aK]; op(B)[kk, j] is b[kk * bK + j * bN].
    let (aRow, aK) = transA ? (1, lda) : (lda, 1)
    let (bK, bN) = transB ? (1, ldb) : (ldb, 1)
    let plan = BF16GEMMBlocks(m: m, n: n, threads: ComputeContext.current.threads)
    // Operands packed once, up front, for all blocks: A when several column blocks share
    // its rows, B when several row blocks share its columns, and either when a block
    // would read it in short pieces of long rows (a transposed A, a B with contiguous
    // rows: the weight gradients' operands, one row per pixel of the batch). Those
    // are packed whole rows at a time, split by pairs of K; the others by panels or strips.
    let kp = (k + 1) / 2
    let panels = (m + Int(CNX_BF16_MR) - 1) / Int(CNX_BF16_MR), strips = (n + Int(CNX_BF16_NR) - 1) / Int(CNX_BF16_NR)
    var packedA: [UInt32] = [], packed: [UInt32] = []
    if plan.colBlocks > 1 || (transA && plan.count > 1) {
        packedA = packedOperand(count: cnx_bf16_packed_a_count(m, k), split: transA ? kp : panels) { range, out in
            if transA {
                cnx_bf16_pack_a(a, aHalves, aRow, aK, k, m, 0, panels, range.lowerBound, range.count, out)
            } else {
                cnx_bf16_pack_a(a, aHalves, aRow, aK, k, m, range.lowerBound, range.count, 0, kp, out)
            }
        }
    }
    if plan.rowBlocks > 1 || (!transB && plan.count > 1) {
        packed = packedOperand(count: cnx_bf16_packed_b_count(k, n), split: transB ? strips : kp) { range, out in
            if transB {
                cnx_bf16_pack_b(b, bHalves, bK, bN, k, n, range.lowerBound, range.count, 0, kp, out)
            } else {
                cnx_bf16_pack_b(b, bHalves, bK, bN, k, n, 0, strips, range.lowerBound, range.count, out)
            }
        }
    }
    var epilogue = halves?.raw ?? CNXBF16HalvesEpilogue()
    withUnsafePointer(to: &epilogue) { pe in
        packedA.withUnsafeBufferPointer { pa in
            packed.withUnsafeBufferPointer { pb in
                // (An empty array's buffer may still have an address: say "none" explicitly.)
                let io = UncheckedSendable((a, packedA.isEmpty ? nil : pa.baseAddress, b, packed.isEmpty ? nil : pb.baseAddress, c, bias,
                                            halves == nil ? nil : pe))
                let roundSum: Int32 = roundSum ? 1 : 0
                parallelFor(plan.count) { index in
                    let (a, packedA, b, packedB, c, bias, epilogue) = io.value
                    let (rows, cols) = plan.block(index)
                    cnx_bf16_gemm_block(k, a, aHalves, aRow, aK, packedA, b, bHalves, bK, bN, packedB, c, ldc, bias, roundSum, epilogue,
                                        rows.lowerBound, rows.count, cols.lowerBound, cols.count, native)
                }
            }
        }
    }
}

/// How `bf16GEMM` cuts C into blocks: whole micro-tiles (12 rows, 32
/// columns), at most 384 x 384, halved (the longer side first) until every
/// thread has two blocks or a block is one micro-tile. The cut changes only
/// the speed: every C element is computed the same way in any block.
struct BF16GEMMBlocks {
    let m: Int, n: Int
    let rowsPerBlock: Int, colsPerBlock: Int
    let rowBlocks: Int, colBlocks: Int

    init(m: Int, n: Int, threads: Int) {
        let mr = Int(CNX_BF16_MR), nr = Int(CNX_BF16_NR)
        let panels = (m + mr - 1) / mr, strips = (n + nr - 1) / nr
        var panelsPer = min(panels, 32), stripsPer = min(strips, 12)
        func blocks(_ p: Int, _ s: Int) -> Int { ((panels + p - 1) / p) * ((strips + s - 1) / s) }
        while blocks(panelsPer, stripsPer) < 2 * threads {
            if stripsPer > 1 && stripsPer * nr >= panelsPer * mr {
                stripsPer = (stripsPer + 1) / 2
            } else if panelsPer > 1 {
                panelsPer = (panelsPer + 1) / 2
            } else if stripsPer > 1 {
                stripsPer = (stripsPer + 1) / 2
            } else {
                break
            }
        }
        self.m = m
        self.n = n
        rowsPerBlock = panelsPer * mr
        colsPerBlock = stripsPer * nr
        rowBlocks = (m + rowsPerBlock - 1) / rowsPerBlock
        colBlocks = (n + colsPerBlock - 1) / colsPerBlock
    }

    var count: Int { rowBlocks * colBlocks }

    /// The rows and columns of block `index` (row blocks outermost).
    func block(_ index: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        let r = index / colBlocks, s = index % colBlocks
        let rows = (r * rowsPerBlock)..<min(m, (r + 1) * rowsPerBlock)
        let cols = (s * colsPerBlock)..<min(n, (s + 1) * colsPerBlock)
        return (rows, cols)
    }
}

/// A packed operand of `count` dwords, filled by `pack` over parts of
/// `0..<split` in parallel (disjoint parts of the buffer).
private func packedOperand(count: Int, split: Int,
                           _ pack: (Range<Int>, UnsafeMutablePointer<UInt32>) -> Void) -> [UInt32] {
    [UInt32](unsafeUninitializedCapacity: count) { buffer, initialized in
        let out = UncheckedSendable(buffer.baseAddress!)
        parallelChunks(split) { range in pack(range, out.value) }
        initialized = count
    }
}
