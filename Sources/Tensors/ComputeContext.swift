/// How compute runs: the thread count (kernels and random sampling alike),
/// the GEMM code, and an optional profiler. A value, owned by whoever runs
/// the compute — the workbench (from `cnx --threads`), a bench run (from
/// `bench --threads/--gemm`), a test — and bound for the extent of that
/// work with `run(_:)`. Nothing here is process-wide: two contexts bound on
/// two threads never see each other's settings or times.
///
/// Kernels read the bound context (`ComputeContext.current`) where they fan
/// out or pick a GEMM; outside any `run` they get `ComputeContext.standard`.
/// Results never depend on `threads` (work is cut by partitions fixed by the
/// shapes, `RowChunks`), only the speed does.
public struct ComputeContext: Sendable {
    /// How many threads kernels and samplers spread their work over (>= 1).
    public var threads: Int {
        didSet { threads = max(1, threads) }
    }
    /// Which code computes GEMMs (`gemm(...)`'s default).
    public var gemmKernel: GEMMKernel
    /// The shapes `.automatic` gives to the tiled GEMM; nil: none. The
    /// model sets its own measured rule where the caller has not set one
    /// (`ConvNeXt.compute`).
    public var tiledGEMMRule: TiledGEMMRule?
    /// Where kernel times go (`OpProfile.time`); nil: not profiled.
    public var profiler: OpProfile?
    /// The data-parallel job this compute is part of (`mpirun`), or nil:
    /// train steps then take their shard of the global batch and sum
    /// gradients across replicas, and `eval` shards the validation set.
    public var replicas: ReplicaGroup?

    /// Every active processor, the automatic GEMM choice, no profiler.
    public static let standard = ComputeContext()

    /// A context; by default every active processor, the automatic GEMM choice, no profiler.
    /// - Parameter threads: nil for every active processor.
    public init(threads: Int? = nil, gemmKernel: GEMMKernel = .automatic, tiledGEMMRule: TiledGEMMRule? = nil,
                profiler: OpProfile? = nil) {
        self.threads = max(1, threads ?? ProcessInfoCPU.activeProcessorCount)
        self.gemmKernel = gemmKernel
        self.tiledGEMMRule = tiledGEMMRule
        self.profiler = profiler
    }

    /// The context bound on this thread by the innermost `run`, if any.
    @TaskLocal static var bound: ComputeContext?

    /// The context the calling code runs under: the innermost `run`'s, or the default.
    public static var current: ComputeContext { bound ?? .standard }

    /// Runs `body` with this context bound on the calling thread (and any
    /// task it awaits); the previous binding comes back afterwards. Work
    /// handed to another thread takes the context along explicitly
    /// (`ComputeContext.current.run { … }` there; see `DataLoader`).
    public func run<R>(_ body: () throws -> R) rethrows -> R {
        try Self.$bound.withValue(self, operation: body)
    }

    /// This context without its profiler (for helper threads whose time is
    /// not the step's).
    public var unprofiled: ComputeContext {
        var c = self
        c.profiler = nil
        return c
    }
}
