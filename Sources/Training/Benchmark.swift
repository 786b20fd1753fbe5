#if canImport(Glibc)
import Glibc
#endif
import Datasets
import Dispatch
import Foundation
import JaxRandom
import Models
import Optimizers
import Tensors

/// Throughput benchmarks of the train step, inference and model build/init
/// (issue 11, `cnx bench …`).
///
/// Each run builds its own model, parameters, optimizer and data from a fixed
/// seed in a private `WorkbenchState`; it never reads or writes the session's
/// state. Every step is timed by phase with a monotonic clock:
/// - train: `data` (render + the recipe's train augmentation of a synthetic
///   batch), `forward`, `loss`, `backward`, `update` (AdamW and the step's
///   metrics), i.e. the four stages of `TrainEngine` run back to back;
/// - infer: `data` (eval transform), `forward` (`ConvNeXt.logits`);
/// - init: `build` (`ConvNeXt(config:)`), `init` (`initialize(paramsKey:)`).
/// Images per second count the model phases only (no `data`), as the
/// PyTorch reference does with a fixed random batch; `withData` adds it.
public enum Benchmark {
    /// What to measure.
    public struct Settings: Sendable, Equatable {
        /// A variant name (`atto` … `large`).
        public var model = "tiny"
        public var classes = 1000
        public var batch = 16
        public var imageSize = 224
        /// Timed steps (after the warm-up).
        public var steps = 5
        /// Untimed steps first (page faults, caches, lazily made state).
        public var warmup = 1
        /// Threads for the run's kernels and sampling; nil keeps the caller's
        /// (`ComputeContext.current`).
        public var threads: Int?
        /// Which GEMM code runs; nil keeps the caller's.
        public var gemm: GEMMMode?
        /// The root key's seed (parameters, dropout, data).
        public var seed: Int64 = 42
        /// The model's compute dtype (docs/bf16.md).
        public var dtype: ModelDType = .f32

        public init() {}

        /// The run's compute context: the caller's, with `threads` and
        /// `gemm` where given, and a profiler of its own (so its per-op
        /// times hold only this run's kernels).
        public func context() -> ComputeContext {
            var c = ComputeContext.current
            if let threads { c.threads = threads }
            if let gemm { c.gemmKernel = gemm.kernel }
            c.profiler = OpProfile()
            return c
        }

        /// Checks the numbers; throws one line naming the bad one.
        public func validate() throws {
            if !(1...4096).contains(batch) { throw WorkbenchError("bench: --batch must be 1…4096, got \(batch)") }
            if !(1...100_000).contains(steps) { throw WorkbenchError("bench: --steps must be 1…100000, got \(steps)") }
            if !(0...100_000).contains(warmup) { throw WorkbenchError("bench: --warmup must be 0…100000, got \(warmup)") }
            if let t = threads, !(1...1024).contains(t) { throw WorkbenchError("bench: --threads must be 1…1024, got \(t)") }
            if !(2...ModelLimits.classes.upperBound).contains(classes) {
                throw WorkbenchError("bench: --classes must be 2…\(ModelLimits.classes.upperBound), got \(classes)")
            }
            if !(8...1024).contains(imageSize) {
                throw WorkbenchError("bench: --image-size must be 8…1024 (the synthetic images' range), got \(imageSize)")
            }
        }
    }

    /// The per-step seconds of one phase of the step.
    public struct Phase: Sendable, Equatable {
        public var name: String
        public var seconds: [Double]
        /// Whether the phase counts towards the step time (and images per second).
        public var inStep: Bool
    }

    /// What a run measured.
    public struct Report: Sendable {
        /// `train`, `infer` or `init`.
        public var kind: String
        public var settings: Settings
        /// Kernel and OpenBLAS threads during the run.
        public var threads: Int
        public var blasThreads: Int
        /// The GEMM code and threading during the run.
        public var gemm: GEMMMode
        public var parameters: Int
        /// Images per step (the batch; 0 for `init`).
        public var images: Int
        /// The timed steps' phases, in order.
        public var phases: [Phase]
        /// Per-step seconds in each kind of kernel (`OpKind`, from
        /// `OpProfile`) during the timed steps' model phases; empty for `init`.
        /// What is left of a step is `optimizer` (the update phase) and
        /// glue outside the kernels.
        public var ops: [Phase] = []
        /// Process CPU seconds (user + system, all threads) of each timed
        /// step's in-step phases: on a shared machine this moves much less
        /// with the load than wall time does.
        public var cpuSeconds: [Double]
        /// The process's peak resident memory after the run (VmHWM), and
        /// whether the peak was reset before it (so it is this run's peak,
        /// floored at what the process held when it started).
        public var peakResidentBytes: Int?
        public var peakWasReset: Bool
        /// Under mpirun: the processes, each running the step on its own batch.
        public var processes = 1
        /// Under mpirun: seconds each timed step's backward waited, after its
        /// last layer, for the gradient sums still in flight (the exposed communication).
        public var communicationExposed: [Double] = []
        /// Under mpirun: the median seconds of one blocking sum of every
        /// gradient across the processes, alone (what the step would wait
        /// with no overlap).
        public var communicationAlone: Double?

        /// Seconds of each timed step: the sum of its in-step phases.
        public var stepSeconds: [Double] {
            (0..<settings.steps).map { i in phases.filter(\.inStep).reduce(0) { $0 + $1.seconds[i] } }
        }

        /// Seconds of each timed step with every phase (data included).
        public var stepSecondsWithData: [Double] {
            (0..<settings.steps).map { i in phases.reduce(0) { $0 + $1.seconds[i] } }
        }

        /// Images per second of each timed step (empty for `init`).
        public var imagesPerSecond: [Double] {
            images == 0 ? [] : stepSeconds.map { Double(images) / max($0, 1e-12) }
        }

        /// Images per CPU-second of each timed step (empty for `init`).
        public var imagesPerCPUSecond: [Double] {
            images == 0 ? [] : cpuSeconds.map { Double(images) / max($0, 1e-12) }
        }

        public var imagesPerSecondWithData: [Double] {
            images == 0 ? [] : stepSecondsWithData.map { Double(images) / max($0, 1e-12) }
        }
    }

    /// Called after every step (warm-up included) with the steps done, the
    /// total and that step's seconds; returns false to stop the run.
    public typealias Progress = (_ done: Int, _ total: Int, _ seconds: Double) -> Bool

    /// Times `settings.steps` whole train steps (after `warmup`), by stage.
    public static func train(_ settings: Settings, progress: Progress = { _, _, _ in true }) throws -> Report {
        try settings.validate()
        let context = settings.context()
        return try context.run {
            let reset = ProcessMemory.resetPeak()
            let (model, params) = try build(settings, train: true)
            var state = WorkbenchState()
            state.keys = KeyTree(seed: settings.seed)
            state.modelConfig = model.config
            state.params = params
            state.optimizer = OptimizerConfig()
            let builder = try dataBuilder(settings, dataKey: try state.dataKey())
            var phases = ["data", "forward", "loss", "backward", "update"].map { Phase(name: $0, seconds: [], inStep: $0 != "data") }
            var ops = [Phase].forOps()
            var cpu: [Double] = []
            var exposedSeconds: [Double] = []
            let total = settings.warmup + settings.steps
            for i in 0..<total {
                var t = [now()]
                let batch = padLabels(builder.batch(.train, epoch: 0, index: i, size: settings.batch), classes: settings.classes)
                t.append(now())
                let c0 = cpuNow()
                context.profiler?.reset()
                try TrainEngine.forward(&state, batch: batch)
                t.append(now())
                try TrainEngine.loss(&state)
                t.append(now())
                try TrainEngine.backward(&state, reduction: .everyMiniStep)
                t.append(now())
                let exposed = state.pending?.communicationWait ?? 0
                let opSeconds = context.profiler?.secondsByKind() ?? [:]
                try TrainEngine.update(&state)
                t.append(now())
                let c1 = cpuNow()
                if i >= settings.warmup {
                    for p in phases.indices { phases[p].seconds.append(t[p + 1] - t[p]) }
                    cpu.append(c1 - c0)
                    ops.record(opSeconds)
                    exposedSeconds.append(exposed)
                }
                if !progress(i + 1, total, t[5] - t[0]) { throw stopped(i + 1, total) }
            }
            var r = report("train", settings, model, images: settings.batch, phases: phases, cpu: cpu, reset: reset)
            r.ops = ops
            if let replicas = context.dataParallel {
                r.processes = replicas.count
                r.communicationExposed = exposedSeconds
                r.communicationAlone = allreduceSeconds(params.scalarCount, replicas, times: max(settings.steps, 3))
            }
            return r
        }
    }

    /// Times `settings.steps` inference forwards (`ConvNeXt.logits`) after `warmup`.
    public static func infer(_ settings: Settings, progress: Progress = { _, _, _ in true }) throws -> Report {
        try settings.validate()
        let context = settings.context()
        return try context.run {
            let reset = ProcessMemory.resetPeak()
            let (model, params) = try build(settings, train: false)
            let builder = try dataBuilder(settings, dataKey: try KeyTree(seed: settings.seed).key(KeyTree.data))
            var phases = [Phase(name: "data", seconds: [], inStep: false), Phase(name: "forward", seconds: [], inStep: true)]
            var ops = [Phase].forOps()
            var cpu: [Double] = []
            let total = settings.warmup + settings.steps
            for i in 0..<total {
                let t0 = now()
                let batch = builder.batch(.val, epoch: 0, index: i, size: settings.batch)
                let t1 = now(), c0 = cpuNow()
                context.profiler?.reset()
                let logits = model.logits(batch.x, params: params)
                let opSeconds = context.profiler?.secondsByKind() ?? [:]
                let t2 = now(), c1 = cpuNow()
                precondition(logits.shape == [settings.batch, settings.classes], "logits shape \(logits.shape)")
                if i >= settings.warmup {
                    phases[0].seconds.append(t1 - t0)
                    phases[1].seconds.append(t2 - t1)
                    cpu.append(c1 - c0)
                    ops.record(opSeconds)
                }
                if !progress(i + 1, total, t2 - t0) { throw stopped(i + 1, total) }
            }
            var r = report("infer", settings, model, images: settings.batch, phases: phases, cpu: cpu, reset: reset)
            r.ops = ops
            return r
        }
    }

    /// Times `ConvNeXt(config:)` and `initialize(paramsKey:)` of the variant
    /// (what `model build` + `model init` do), `steps` times after `warmup`.
    public static func initialize(_ settings: Settings, progress: Progress = { _, _, _ in true }) throws -> Report {
        try settings.validate()
        let context = settings.context()
        return try context.run {
            let reset = ProcessMemory.resetPeak()
            let config = try ConvNeXtConfig.variant(settings.model, classes: settings.classes, imageSize: settings.imageSize)
            try MemoryBudget.checkParameters(try ConvNeXt(config: config), "bench init")
            let key = try KeyTree(seed: settings.seed).key(KeyTree.params)
            var phases = [Phase(name: "build", seconds: [], inStep: true), Phase(name: "init", seconds: [], inStep: true)]
            var model: ConvNeXt?
            var cpu: [Double] = []
            let total = settings.warmup + settings.steps
            for i in 0..<total {
                let t0 = now(), c0 = cpuNow()
                let m = try ConvNeXt(config: config)
                let t1 = now()
                let params = m.initialize(paramsKey: key)
                let t2 = now(), c1 = cpuNow()
                precondition(params.count > 0)
                model = m
                if i >= settings.warmup {
                    phases[0].seconds.append(t1 - t0)
                    phases[1].seconds.append(t2 - t1)
                    cpu.append(c1 - c0)
                }
                if !progress(i + 1, total, t2 - t0) { throw stopped(i + 1, total) }
            }
            return report("init", settings, model!, images: 0, phases: phases, cpu: cpu, reset: reset)
        }
    }

    /// The median of `values` (the mean of the middle two for an even count).
    /// The median seconds of `times` blocking in-place sums of `count`
    /// floats across the replicas (one bucket-free allreduce of every gradient).
    static func allreduceSeconds(_ count: Int, _ replicas: ReplicaGroup, times: Int) -> Double {
        var buffer = [Float](repeating: 1, count: count)
        var seconds: [Double] = []
        for _ in 0..<times {
            let t0 = now()
            buffer.withUnsafeMutableBufferPointer { replicas.sumInPlace($0) }
            seconds.append(now() - t0)
        }
        return median(seconds)
    }

    public static func median(_ values: [Double]) -> Double {
        precondition(!values.isEmpty, "median of nothing")
        let s = values.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    // MARK: - Pieces

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Process CPU time, user + system, of all threads (getrusage), in seconds.
    static func cpuNow() -> Double {
        var ru = rusage()
        getrusage(__rusage_who_t(0), &ru)  // RUSAGE_SELF
        let user = Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) * 1e-6
        return user + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) * 1e-6
    }

    static func stopped(_ done: Int, _ total: Int) -> WorkbenchError {
        WorkbenchError("bench stopped after \(done) of \(total) steps; nothing was measured (the session is unchanged)")
    }

    /// The variant at the settings' classes and size, with parameters from the seed's params key.
    static func build(_ s: Settings, train: Bool) throws -> (ConvNeXt, TensorTree) {
        var config = try ConvNeXtConfig.variant(s.model, classes: s.classes, imageSize: s.imageSize)
        config.dtype = s.dtype
        let model = try ConvNeXt(config: config)
        try checkMemory(model, s, train: train)
        return (model, model.initialize(paramsKey: try KeyTree(seed: s.seed).key(KeyTree.params)))
    }

    /// Refuses runs that would not fit in the available memory: parameters
    /// (and for train gradients, moments and new copies), activations, and
    /// the synthetic images kept for every step. Checked before anything is allocated.
    static func checkMemory(_ model: ConvNeXt, _ s: Settings, train: Bool) throws {
        let images = 2 * max(Double(s.classes), Double(s.batch) * Double(s.warmup + s.steps)) * Double(s.imageSize * s.imageSize * 3)
        let need = (train ? MemoryBudget.trainBytes(model, batch: s.batch) : MemoryBudget.inferBytes(model, batch: s.batch)) + images
        try MemoryBudget.check(need, "bench \(train ? "train" : "infer") (\(s.model), batch \(s.batch), \(s.imageSize) px, \(s.warmup + s.steps) steps)",
                               hint: "use a smaller --batch, --image-size, --classes or --steps")
    }

    /// Synthetic images (up to 20 classes) at the image size, one distinct
    /// batch per step, with the recipe's default augmentation.
    static func dataBuilder(_ s: Settings, dataKey: PRNGKey) throws -> BatchBuilder {
        let classes = min(s.classes, SyntheticDataset.allClassNames.count)
        let count = max(classes, s.batch * (s.warmup + s.steps))
        let splits = try SyntheticDataset.splits(classes: classes, size: s.imageSize, trainCount: count, valCount: count,
                                                 key: PRNGKey(seed: s.seed))
        return BatchBuilder(data: splits, imageSize: s.imageSize, augment: .convnext, dataKey: dataKey)
    }

    /// Zero-pads soft labels `[B, c]` to the model's `[B, classes]` (the
    /// synthetic set has at most 20 classes; the extra classes get no mass).
    static func padLabels(_ batch: Batch, classes: Int) -> Batch {
        let b = batch.labels.shape[0], c = batch.labels.shape[1]
        if c == classes { return batch }
        var scalars = [Float](repeating: 0, count: b * classes)
        for i in 0..<b {
            for j in 0..<c { scalars[i * classes + j] = batch.labels.scalars[i * c + j] }
        }
        var out = batch
        out.labels = Tensor(shape: [b, classes], scalars: scalars)
        return out
    }

    static func report(_ kind: String, _ s: Settings, _ model: ConvNeXt, images: Int, phases: [Phase], cpu: [Double], reset: Bool) -> Report {
        let context = ComputeContext.current
        return Report(kind: kind, settings: s, threads: context.threads, blasThreads: BLASThreads.count,
               gemm: GEMMMode(kernel: context.gemmKernel),
               parameters: model.parameterCount, images: images, phases: phases, cpuSeconds: cpu,
               peakResidentBytes: ProcessMemory.peakResidentBytes(), peakWasReset: reset)
    }
}

extension [Benchmark.Phase] {
    /// One empty series per `OpKind`, in its order.
    static func forOps() -> [Benchmark.Phase] {
        OpKind.allCases.map { Benchmark.Phase(name: $0.rawValue, seconds: [], inStep: false) }
    }

    /// Appends one step's seconds per kind.
    mutating func record(_ seconds: [OpKind: Double]) {
        for (i, kind) in OpKind.allCases.enumerated() { self[i].seconds.append(seconds[kind] ?? 0) }
    }
}

/// The GEMM code a bench runs with (`bench --gemm`).
public enum GEMMMode: String, Sendable, CaseIterable {
    /// The default: the tiled Swift GEMM where it was measured faster, else
    /// OpenBLAS on slices of C fixed by the shape.
    case auto
    /// OpenBLAS only, on the same slices.
    case openBLAS = "openblas"
    /// The tiled Swift GEMM wherever it applies (N a multiple of 96).
    case tiled

    /// The kernel choice this mode sets.
    var kernel: GEMMKernel {
        switch self {
        case .auto: return .automatic
        case .openBLAS: return .openBLAS
        case .tiled: return .tiled
        }
    }

    /// The mode that a kernel choice amounts to.
    init(kernel: GEMMKernel) {
        switch kernel {
        case .automatic: self = .auto
        case .openBLAS: self = .openBLAS
        case .tiled: self = .tiled
        }
    }
}

/// The process's resident memory, from `/proc/self` (Linux).
public enum ProcessMemory {
    /// Peak resident set size (`VmHWM` in /proc/self/status), in bytes.
    public static func peakResidentBytes() -> Int? { statusField("VmHWM:") }

    /// Resets the peak to the current resident size (writes 5 to
    /// /proc/self/clear_refs, Linux 4.0+). Returns whether it worked.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    /// The 1, 5 and 15 minute load averages (/proc/loadavg).
    public static func loadAverages() -> [Double]? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        let parts = text.split(separator: " ").prefix(3).compactMap { Double($0) }
        return parts.count == 3 ? parts : nil
    }

    static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            // "VmHWM:\t  123456 kB"
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}
