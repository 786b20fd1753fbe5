#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The kinds of work a ConvNeXt step is made of, for `cnx bench`'s per-op
/// time breakdown (issue 11).
public enum OpKind: String, CaseIterable, Sendable {
    /// The 4x4/4 patchify conv (`patchConv*` with stride 4).
    case stem
    /// The 2x2/2 downsample convs (`patchConv*` with stride 2).
    case downsample
    /// The 7x7 depthwise convs.
    case depthwise
    /// Every LayerNorm (block, stage and head), forward and backward.
    case layerNorm = "layernorm"
    /// Dense layers (the 1x1 convs and the head): the GEMMs and their bias.
    case gemm
    /// GELU forward and backward.
    case gelu
    /// LayerScale, stochastic depth, dropout and the residual adds.
    case elementwise
    /// Global average pool and the softmax cross-entropy.
    case head
    /// Per-block activation statistics (`show activations`).
    case statistics
}

/// Wall-clock seconds spent in each `OpKind` while profiling is on.
///
/// Kernels wrap their bodies in `OpProfile.time(_:_:)`; when profiling is
/// off that costs one relaxed atomic load. The totals are wall time of the
/// calling thread, so they add up to the step's time (less what runs outside
/// the kernels): call the kernels from one thread while profiling, as the
/// train step does.
public enum OpProfile {
    private static let on = Atomic<Bool>(false)
    private static let totals = Mutex<[Double]>([Double](repeating: 0, count: OpKind.allCases.count))

    /// Zeroes the totals and starts accumulating.
    public static func start() {
        totals.withLock { $0 = [Double](repeating: 0, count: OpKind.allCases.count) }
        on.store(true, ordering: .relaxed)
    }

    /// Stops accumulating and returns the seconds per kind since `start()`.
    public static func stop() -> [OpKind: Double] {
        on.store(false, ordering: .relaxed)
        let t = totals.withLock { $0 }
        var out: [OpKind: Double] = [:]
        for (i, kind) in OpKind.allCases.enumerated() { out[kind] = t[i] }
        return out
    }

    /// Runs `body`, adding its wall time to `kind` when profiling is on.
    @inline(__always)
    public static func time<R>(_ kind: OpKind, _ body: () throws -> R) rethrows -> R {
        guard on.load(ordering: .relaxed) else { return try body() }
        let t0 = seconds()
        let result = try body()
        let dt = seconds() - t0
        let index = OpKind.allCases.firstIndex(of: kind)!
        totals.withLock { $0[index] += dt }
        return result
    }

    /// A monotonic clock in seconds.
    private static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
