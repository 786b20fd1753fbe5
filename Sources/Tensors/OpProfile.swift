#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Wall-clock seconds by kind of work, for `cnx bench`'s per-op breakdown.
///
/// One profiler belongs to one run (a `ComputeContext`'s `profiler`), so its
/// totals never include another command's time. The kinds are the caller's
/// vocabulary (the model's `OpKind` in `Models`); callers wrap work in
/// `time(_:_:)`, which costs one task-local read when the bound context has
/// no profiler. The totals are wall time of the calling thread, so they add
/// up to the step's time (less what runs outside the kernels).
public final class OpProfile: Sendable {
    private let totals = Mutex<[String: Double]>([:])

    public init() {}

    /// Zeroes the totals.
    public func reset() { totals.withLock { $0 = [:] } }

    /// The seconds per kind since the last `reset()` (or since creation).
    public func seconds() -> [String: Double] { totals.withLock { $0 } }

    /// Adds `seconds` to `kind`.
    public func add(_ kind: String, seconds: Double) {
        totals.withLock { $0[kind, default: 0] += seconds }
    }

    /// Runs `body`, adding its wall time to `kind` in the bound context's
    /// profiler, if it has one.
    @inline(__always)
    public static func time<R>(_ kind: String, _ body: () throws -> R) rethrows -> R {
        guard let profiler = ComputeContext.current.profiler else { return try body() }
        let t0 = now()
        let result = try body()
        profiler.add(kind, seconds: now() - t0)
        return result
    }

    /// A monotonic clock in seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
