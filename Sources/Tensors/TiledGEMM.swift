// A register-tiled single-precision GEMM for ConvNeXt's thin Dense shapes,
// hand-written because OpenBLAS packs the whole activation matrix before its
// kernel runs: with only 96 output columns (stage 1's Conv_2 forward and
// Conv_1 input gradient) that copy is a large share of the work, and
// KernelBench measured OpenBLAS at ~150 GFLOP/s there against ~200 on
// larger N. This kernel reads A in place.
//
//   C[m, n] = sum_k A[m, k] * B[k, n]       (beta = 0: C is overwritten)
//
// A is addressed with a row stride and a k stride, so a transposed A (the
// weight gradient xᵀ·dy) needs no copy; B's rows are contiguous (a
// transposed B is copied once, it is a weight). Layout of the work:
// - threads take contiguous runs of 64-row panels of C (one panel per
//   thread when C has few rows);
// - in a panel, k goes in blocks of 64 so a 64 x 96 block of B (24 KB)
//   stays in L1 while every 4-row tile of the panel uses it;
// - a tile is 4 rows x 96 columns: 24 zmm accumulators, and per k four
//   broadcasts of A and six loads of B feed 24 FMAs.
// n must be a multiple of 96. Each C element sums its k products in
// increasing k, one FMA each, so results do not depend on the thread count.

private typealias V = SIMD16<Float>

/// The column block of a tile; `n` must be a multiple of it.
public let tiledGEMMColumns = 96

/// `C = A · B` as described above. `a(i, kk) = a[i * aRow + kk * aK]`,
/// `B(kk, j) = b[kk * ldb + j]`. Must not be called inside a `parallelFor` body.
func tiledGEMM(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aK: Int,
               b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
    precondition(n % tiledGEMMColumns == 0, "tiledGEMM: n = \(n) is not a multiple of \(tiledGEMMColumns)")
    if m == 0 || n == 0 { return }
    if k == 0 {
        for i in 0..<m { (c + i &* ldc).update(repeating: 0, count: n) }
        return
    }
    // 64-row panels, or fewer rows when that would leave a thread idle (the
    // weight gradients have only C rows): one panel per thread then.
    let ways = ComputeContext.current.threads
    let panel = m >= 64 * 2 * ways ? 64 : max(4, ((m + ways - 1) / ways + 3) / 4 * 4)
    let panels = (m + panel - 1) / panel
    let io = UncheckedSendable((a, b, c))
    parallelChunks(panels) { range in
        let (a, b, c) = io.value
        for p in range {
            tiledPanel(rows: (p &* panel)..<min(m, (p &+ 1) &* panel), n: n, k: k,
                       a: a, aRow: aRow, aK: aK, b: b, ldb: ldb, c: c, ldc: ldc)
        }
    }
}

/// One panel of rows: k blocks outermost, then 96-column blocks, then tiles.
private func tiledPanel(rows: Range<Int>, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aK: Int,
                        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let kc = 64
    var k0 = 0
    while k0 < k {
        let k1 = min(k, k0 &+ kc)
        var j0 = 0
        while j0 < n {
            var r = rows.lowerBound
            while r &+ 4 <= rows.upperBound {
                tile4x96(a: a + r &* aRow, aRow: aRow, aK: aK, b: b + j0, ldb: ldb,
                         c: c + r &* ldc + j0, ldc: ldc, k0: k0, k1: k1)
                r &+= 4
            }
            while r < rows.upperBound {
                tile1x96(a: a + r &* aRow, aK: aK, b: b + j0, ldb: ldb, c: c + r &* ldc + j0, k0: k0, k1: k1)
                r &+= 1
            }
            j0 &+= tiledGEMMColumns
        }
        k0 = k1
    }
}


/// Rows r..r+3, columns j0..j0+95 of C, k in k0..<k1 (C is loaded unless k0 == 0).
@inline(__always)
private func tile4x96(a: UnsafePointer<Float>, aRow: Int, aK: Int, b: UnsafePointer<Float>, ldb: Int,
                      c c0: UnsafeMutablePointer<Float>, ldc: Int, k0: Int, k1: Int) {
    let c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
    var x00 = V(), x01 = V(), x02 = V(), x03 = V(), x04 = V(), x05 = V()
    var x10 = V(), x11 = V(), x12 = V(), x13 = V(), x14 = V(), x15 = V()
    var x20 = V(), x21 = V(), x22 = V(), x23 = V(), x24 = V(), x25 = V()
    var x30 = V(), x31 = V(), x32 = V(), x33 = V(), x34 = V(), x35 = V()
    if k0 > 0 {
        x00 = load16(c0); x01 = load16(c0 + 16); x02 = load16(c0 + 32); x03 = load16(c0 + 48); x04 = load16(c0 + 64); x05 = load16(c0 + 80)
        x10 = load16(c1); x11 = load16(c1 + 16); x12 = load16(c1 + 32); x13 = load16(c1 + 48); x14 = load16(c1 + 64); x15 = load16(c1 + 80)
        x20 = load16(c2); x21 = load16(c2 + 16); x22 = load16(c2 + 32); x23 = load16(c2 + 48); x24 = load16(c2 + 64); x25 = load16(c2 + 80)
        x30 = load16(c3); x31 = load16(c3 + 16); x32 = load16(c3 + 32); x33 = load16(c3 + 48); x34 = load16(c3 + 64); x35 = load16(c3 + 80)
    }
    let a0 = a, a1 = a + aRow, a2 = a1 + aRow, a3 = a2 + aRow
    var kk = k0
    while kk < k1 {
        let o = kk &* aK
        let s0 = V(repeating: a0[o]), s1 = V(repeating: a1[o]), s2 = V(repeating: a2[o]), s3 = V(repeating: a3[o])
        let bb = b + kk &* ldb
        var bv = load16(bb)
        x00 = x00.addingProduct(s0, bv); x10 = x10.addingProduct(s1, bv); x20 = x20.addingProduct(s2, bv); x30 = x30.addingProduct(s3, bv)
        bv = load16(bb + 16)
        x01 = x01.addingProduct(s0, bv); x11 = x11.addingProduct(s1, bv); x21 = x21.addingProduct(s2, bv); x31 = x31.addingProduct(s3, bv)
        bv = load16(bb + 32)
        x02 = x02.addingProduct(s0, bv); x12 = x12.addingProduct(s1, bv); x22 = x22.addingProduct(s2, bv); x32 = x32.addingProduct(s3, bv)
        bv = load16(bb + 48)
        x03 = x03.addingProduct(s0, bv); x13 = x13.addingProduct(s1, bv); x23 = x23.addingProduct(s2, bv); x33 = x33.addingProduct(s3, bv)
        bv = load16(bb + 64)
        x04 = x04.addingProduct(s0, bv); x14 = x14.addingProduct(s1, bv); x24 = x24.addingProduct(s2, bv); x34 = x34.addingProduct(s3, bv)
        bv = load16(bb + 80)
        x05 = x05.addingProduct(s0, bv); x15 = x15.addingProduct(s1, bv); x25 = x25.addingProduct(s2, bv); x35 = x35.addingProduct(s3, bv)
        kk &+= 1
    }
    store16(x00, c0); store16(x01, c0 + 16); store16(x02, c0 + 32); store16(x03, c0 + 48); store16(x04, c0 + 64); store16(x05, c0 + 80)
    store16(x10, c1); store16(x11, c1 + 16); store16(x12, c1 + 32); store16(x13, c1 + 48); store16(x14, c1 + 64); store16(x15, c1 + 80)
    store16(x20, c2); store16(x21, c2 + 16); store16(x22, c2 + 32); store16(x23, c2 + 48); store16(x24, c2 + 64); store16(x25, c2 + 80)
    store16(x30, c3); store16(x31, c3 + 16); store16(x32, c3 + 32); store16(x33, c3 + 48); store16(x34, c3 + 64); store16(x35, c3 + 80)
}

/// One row of C (the panel's tail), the same summation as `tile4x96`.
@inline(__always)
private func tile1x96(a: UnsafePointer<Float>, aK: Int, b: UnsafePointer<Float>, ldb: Int,
                      c: UnsafeMutablePointer<Float>, k0: Int, k1: Int) {
    var x0 = V(), x1 = V(), x2 = V(), x3 = V(), x4 = V(), x5 = V()
    if k0 > 0 { x0 = load16(c); x1 = load16(c + 16); x2 = load16(c + 32); x3 = load16(c + 48); x4 = load16(c + 64); x5 = load16(c + 80) }
    var kk = k0
    while kk < k1 {
        let s = V(repeating: a[kk &* aK])
        let bb = b + kk &* ldb
        x0 = x0.addingProduct(s, load16(bb)); x1 = x1.addingProduct(s, load16(bb + 16)); x2 = x2.addingProduct(s, load16(bb + 32))
        x3 = x3.addingProduct(s, load16(bb + 48)); x4 = x4.addingProduct(s, load16(bb + 64)); x5 = x5.addingProduct(s, load16(bb + 80))
        kk &+= 1
    }
    store16(x0, c); store16(x1, c + 16); store16(x2, c + 32); store16(x3, c + 48); store16(x4, c + 64); store16(x5, c + 80)
}
