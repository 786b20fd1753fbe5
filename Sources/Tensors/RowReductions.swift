// Shared reductions over the rows of a row-major [rows, cols] matrix: the bias
// gradients of every layer are column sums of dy.

/// `out[c] = sum_r p[r, c]` for a row-major `[rows, cols]` matrix, summed by
/// fixed chunks of rows (`RowChunks`): the same bits on any thread count.
func columnSums(_ p: UnsafePointer<Float>, rows: Int, cols: Int) -> [Float] {
    let io = UncheckedSendable(p)
    return chunkedColumnSums(RowChunks(rows: rows, minRows: 64), rows: rows, width: cols) { range, acc in
        for r in range {
            let row = io.value + r &* cols
            for c in 0..<cols { acc[c] += row[c] }
        }
    }
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
