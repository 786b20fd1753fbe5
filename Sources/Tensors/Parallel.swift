#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Thread settings for the kernels.
public enum Threads {
    /// How many ways kernels split their work. Defaults to the number of
    /// active processors; `cnx` sets it from `--threads`. Setting it also sets
    /// OpenBLAS's thread count, so GEMMs (called from one thread) use the same
    /// number of cores as the `parallelFor` fan-out.
    nonisolated(unsafe) public static var count: Int = max(1, ProcessInfoCPU.activeProcessorCount) {
        didSet {
            if count < 1 { count = 1 }
            BLASThreads.set(count)
        }
    }
}

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

/// Runs `body(i)` for `i` in `0..<n`, spread over `Threads.count` threads.
///
/// Iterations must write disjoint memory; that is the contract that makes
/// laundering the non-escaping body into a `@Sendable` closure sound
/// (`../shared/notes/swift-kernels.md`, "Swift 6 strict concurrency").
public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    if n <= 0 { return }
    if n == 1 || Threads.count <= 1 {
        for i in 0..<n { body(i) }
        return
    }
    withoutActuallyEscaping(body) { escaping in
        let sendable = unsafeBitCast(escaping, to: (@Sendable (Int) -> Void).self)
        DispatchQueue.concurrentPerform(iterations: n, execute: sendable)
    }
}

/// Splits `0..<total` into at most `Threads.count` contiguous chunks and runs
/// `body(range)` for each in parallel. Chunks write disjoint memory.
public func parallelChunks(_ total: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    if total <= 0 { return }
    let ways = max(1, min(Threads.count, total / max(1, minChunk)))
    if ways == 1 { body(0..<total); return }
    let step = (total + ways - 1) / ways
    parallelFor(ways) { w in
        let lo = w * step
        let hi = min(total, lo + step)
        if lo < hi { body(lo..<hi) }
    }
}
