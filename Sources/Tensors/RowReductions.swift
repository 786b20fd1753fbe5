// Shared reductions over the rows of a row-major [rows, cols] matrix: the bias
// gradients of every layer are column sums of dy.

/// `out[c] = sum_r p[r, c]` for a row-major `[rows, cols]` matrix.
///
/// Rows are split into one contiguous chunk per thread; each thread sums its
/// chunk into its own partial row, and partials are added in thread order, so
/// the result is deterministic for a given `Threads.count`.
func columnSums(_ p: UnsafePointer<Float>, rows: Int, cols: Int) -> [Float] {
    if cols == 0 { return [] }
    let ways = max(1, min(Threads.count, rows / 64))
    var partial = [Float](repeating: 0, count: ways * cols)
    partial.withUnsafeMutableBufferPointer { pb in
        let base = pb.baseAddress!
        let step = (rows + ways - 1) / ways
        parallelFor(ways) { w in
            let acc = base + w &* cols
            let lo = w &* step, hi = min(rows, lo &+ step)
            if lo >= hi { return }
            for r in lo..<hi {
                let row = p + r &* cols
                for c in 0..<cols { acc[c] += row[c] }
            }
        }
    }
    if ways == 1 { return partial }
    var out = [Float](repeating: 0, count: cols)
    for w in 0..<ways { for c in 0..<cols { out[c] += partial[w * cols + c] } }
    return out
}

/// `p[r, c] += bias[c]` for every row of a row-major `[rows, cols]` matrix.
func addBiasRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
    parallelChunks(rows, minChunk: max(1, 16384 / max(1, cols))) { r in
        for i in r {
            let row = p + i &* cols
            for c in 0..<cols { row[c] += bias[c] }
        }
    }
}
