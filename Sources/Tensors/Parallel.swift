#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Active processor count without importing Foundation into the kernel module.
enum ProcessInfoCPU {
    static var activeProcessorCount: Int {
        #if os(Linux)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return Int(sysconf(_SC_NPROCESSORS_ONLN))
        #endif
    }
}

/// A value that is passed across threads without checking. Used only to hand
/// raw buffer pointers to `parallelFor` bodies whose iterations write
/// disjoint memory.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
}

/// Runs `body(i)` for `i` in `0..<n`, spread over the bound
/// `ComputeContext`'s threads; the bodies run with that context bound.
///
/// Iterations must write disjoint memory; that is the contract that makes
/// laundering the non-escaping body into a `@Sendable` closure sound
/// (`../shared/notes/swift-kernels.md`, "Swift 6 strict concurrency").
public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    if n <= 0 { return }
    let context = ComputeContext.current
    if n == 1 || context.threads <= 1 {
        for i in 0..<n { body(i) }
        return
    }
    withoutActuallyEscaping(body) { escaping in
        let sendable = unsafeBitCast(escaping, to: (@Sendable (Int) -> Void).self)
        // Worker threads see the caller's context (e.g. a sampler called from a body).
        DispatchQueue.concurrentPerform(iterations: n) { i in context.run { sendable(i) } }
    }
}

/// Splits `0..<total` into at most `ComputeContext.current.threads` contiguous chunks and runs
/// `body(range)` for each in parallel. Chunks write disjoint memory.
public func parallelChunks(_ total: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    if total <= 0 { return }
    let ways = max(1, min(ComputeContext.current.threads, total / max(1, minChunk)))
    if ways == 1 { body(0..<total); return }
    let step = (total + ways - 1) / ways
    parallelFor(ways) { w in
        let lo = w * step
        let hi = min(total, lo + step)
        if lo < hi { body(lo..<hi) }
    }
}

/// A split of `0..<rows` into contiguous chunks that depends only on `rows`,
/// never on the thread count. Reductions sum each chunk into its own partial
/// and add the partials in chunk order, so 1, 2 or 16 threads give the same
/// bits (DESIGN.md principle 7).
public struct RowChunks: Sendable {
    /// How many chunks.
    public let count: Int
    /// Rows per chunk (the last may be shorter).
    public let size: Int

    /// At most `maxChunks` chunks of at least `minRows` rows (one chunk when
    /// `rows < 2 * minRows`). 16 chunks keep 2-16 threads busy while the
    /// partials stay small.
    public init(rows: Int, minRows: Int, maxChunks: Int = 16) {
        let n = max(1, min(maxChunks, rows / max(1, minRows)))
        size = max(1, (rows + n - 1) / n)
        count = max(1, (rows + size - 1) / size)
    }

    /// The rows of chunk `i`.
    @inline(__always)
    public func rows(_ i: Int, of total: Int) -> Range<Int> {
        let lo = min(total, i &* size)
        return lo..<min(total, lo &+ size)
    }
}

/// Column sums by fixed chunks: `body(rows, acc)` adds chunk `rows`' rows into
/// `acc` (`width` floats, zeroed) and may also write disjoint outputs of its
/// own; chunks run in parallel and their partials are then added in chunk
/// order. The result does not depend on the thread count.
public func chunkedColumnSums(_ chunks: RowChunks, rows: Int, width: Int,
                              _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    if width == 0 { return [] }
    var partial = [Float](repeating: 0, count: chunks.count * width)
    partial.withUnsafeMutableBufferPointer { pb in
        let base = UncheckedSendable(pb.baseAddress!)
        parallelFor(chunks.count) { i in
            let r = chunks.rows(i, of: rows)
            if !r.isEmpty { body(r, base.value + i &* width) }
        }
    }
    if chunks.count == 1 { return partial }
    var out = [Float](partial[0..<width])
    for i in 1..<chunks.count { for c in 0..<width { out[c] += partial[i * width + c] } }
    return out
}
