import Dispatch
import Tensors

// Fan-out for the samplers: large draws (at least 64K values per thread) are
// split over the bound `ComputeContext`'s threads, the one setting kernels
// use too. The values drawn never depend on it (each value is a function of
// its index).

/// A pointer handed to `concurrentChunks` bodies that write disjoint ranges.
struct SendablePointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
}

/// Splits `0..<total` into contiguous chunks whose bounds are multiples of
/// `align`, and runs `body(range)` for each, in parallel when the work is at
/// least `minChunk` elements per thread. Chunks must write disjoint memory:
/// that contract is what makes casting the non-escaping body to `@Sendable`
/// sound (notes/swift-kernels.md, "Swift 6 strict concurrency").
func concurrentChunks(_ total: Int, align: Int = 16, minChunk: Int = 1 << 16, _ body: (Range<Int>) -> Void) {
    if total <= 0 { return }
    let ways = max(1, min(ComputeContext.current.threads, total / max(1, minChunk)))
    if ways == 1 { body(0..<total); return }
    // Chunk length rounded up to a multiple of `align` so SIMD blocks never straddle chunks.
    let step = ((total + ways - 1) / ways + align - 1) / align * align
    withoutActuallyEscaping(body) { escaping in
        let sendable = unsafeBitCast(escaping, to: (@Sendable (Range<Int>) -> Void).self)
        DispatchQueue.concurrentPerform(iterations: ways) { w in
            let lo = w * step
            let hi = min(total, lo + step)
            if lo < hi { sendable(lo..<hi) }
        }
    }
}

/// An array of `count` elements filled chunk by chunk by `fill(range, base)`,
/// which must initialise exactly `base[range]`.
func makeArray<T>(count: Int, _ fill: (Range<Int>, SendablePointer<T>) -> Void) -> [T] {
    precondition(count >= 0, "count must be >= 0, got \(count)")
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 {
            let p = SendablePointer(base: buffer.baseAddress!)
            concurrentChunks(count) { range in fill(range, p) }
        }
        initialized = count
    }
}
