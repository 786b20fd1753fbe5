import Dispatch
import Foundation
import JSON
import JaxRandom
import Models
import SafeTensors
import Tensors
import Training

/// `bench train|infer|init|save` (issue 11): throughput and latency of the
/// train step, inference, model build + init, and saving/loading a full
/// training state, on a private model built from a fixed seed.
///
/// The benchmarks never read or change the session's state. They still run
/// as jobs on the compute queue (`mutates` stays true), so a bench waits for
/// nothing and is refused while a training job runs — two computations
/// sharing the cores would make both figures meaningless.
enum BenchCommands {
    /// The defaults are `Benchmark.Settings`'s.
    static let base = Benchmark.Settings()
    static let model = FlagKey<String>("model", default: base.model, help: "the ConvNeXt variant", kind: .choice(ConvNeXtConfig.variantNames))
    static let classes = FlagKey<Int>("classes", default: base.classes, help: "classifier classes")
    static let batch = FlagKey<Int>("batch", default: base.batch, help: "images per step")
    static let imageSize = FlagKey<Int>("image-size", default: base.imageSize, help: "input side in pixels")
    static let steps = FlagKey<Int>("steps", default: base.steps, help: "timed steps")
    static let warmup = FlagKey<Int>("warmup", default: base.warmup, help: "untimed steps first")
    static let threads = FlagKey<Int?>("threads", help: "kernel threads for the run (results do not depend on it)", shown: "the current count")
    static let seed = FlagKey<Int>("seed", default: Int(base.seed), help: "root key seed of the private model and data")
    static let gemm = FlagKey<GEMMMode>("gemm", default: .auto,
                                     help: "GEMM code: auto (the tiled Swift kernel on the thin shapes where it was measured faster, else OpenBLAS), openblas (OpenBLAS only), tiled (the tiled kernel wherever N is a multiple of 96). OpenBLAS always runs single-threaded on slices of C fixed by the shape, so the numbers never depend on --threads")
    static let dtype = FlagKey<ModelDType>("dtype", default: base.dtype,
                                           help: "the model's compute dtype; bf16's convs and Dense layers run on AVX512-BF16 (vdpbf16ps) where the CPU has it, else emulated in float32 FMAs (the same bits, slower)")
    /// `bench train` and `bench infer` take them all.
    static let flags: [any FlagDeclaration] = [model, classes, batch, imageSize, steps, warmup, threads, seed, gemm, dtype]

    static let all: [CommandSpec] = [
        CommandSpec(["bench", "train"],
                    summary: "Time whole train steps (AdamW) of a fresh model on synthetic data: img/s, phases, per-op times, peak RSS",
                    help: "Builds its own model, optimizer and data from --seed (the session is untouched), runs --warmup untimed steps, then --steps timed ones. Under mpirun every process runs the step on its own batch with the gradients summed across processes (in buckets, during backward) and the record adds processes, global_img_s (img_s times the processes), compute_s (the step less the exposed communication), comm_s (one blocking sum of every gradient alone), comm_exposed_s (what the step still waited after backward) and comm_hidden (the share of comm_s hidden behind backward). img_s counts forward+loss+backward+update; img_s_with_data adds the batch's augmentation. op_s breaks a step down by kind of kernel (stem, downsample, depthwise, layernorm, gemm, gelu, elementwise, head, statistics; with --dtype bf16 the forward GELU runs inside Conv_1's GEMM and counts as gemm), then optimizer (the update phase) and data (the batch, outside the step); other is the rest of the step (glue). All figures are medians over the timed steps.",
                    flags: flags) { invocation, context in
            let settings = try settings(invocation)
            startBench(context, "train", settings) { try Benchmark.train(settings, progress: $0) }
            return .empty
        },
        CommandSpec(["bench", "infer"],
                    summary: "Time inference forwards (logits) of a fresh model: img/s, per-op times, peak RSS",
                    help: "Like bench train, without the backward pass and optimizer (op_s as in bench train).",
                    flags: flags) { invocation, context in
            let settings = try settings(invocation)
            startBench(context, "infer", settings) { try Benchmark.infer(settings, progress: $0) }
            return .empty
        },
        CommandSpec(["bench", "init"],
                    summary: "Time `model build` + `model init` of a variant (seconds)",
                    flags: [model, classes, steps, warmup, threads, seed]) { invocation, context in
            let settings = try settings(invocation)
            startBench(context, "init", settings) { try Benchmark.initialize(settings, progress: $0) }
            return .empty
        },
        CommandSpec(["bench", "save"],
                    summary: "Time writing and reading a full training state (params + EMA + Adam moments) as safetensors in a temp dir",
                    flags: [model, classes, steps, warmup, seed]) { invocation, context in
            let settings = try settings(invocation)
            context.startJob(total: settings.warmup + settings.steps) { _, control in
                try saveBench(settings, control: control)
            }
            return .empty
        },
    ]

    /// The settings from the flags the command declares (the others keep
    /// `Benchmark.Settings`'s defaults: Tiny, 1000 classes, batch 16, 224 px, 5 steps, 1 warm-up).
    static func settings(_ invocation: Invocation) throws -> Benchmark.Settings {
        var s = base
        let declared = invocation.spec.flags
        func set<Value>(_ key: FlagKey<Value>, _ apply: (Value) -> Void) {
            if declared.contains(key.spec) { apply(invocation[key]) }
        }
        set(model) { s.model = $0 }
        set(classes) { s.classes = $0 }
        set(batch) { s.batch = $0 }
        set(imageSize) { s.imageSize = $0 }
        set(steps) { s.steps = $0 }
        set(warmup) { s.warmup = $0 }
        set(threads) { s.threads = $0 }
        set(seed) { s.seed = Int64($0) }
        set(gemm) { s.gemm = $0 }
        set(dtype) { s.dtype = $0 }
        try s.validate()
        return s
    }

    /// Starts a bench job that reports each step and returns the report as a record.
    static func startBench(_ context: CommandContext, _ kind: String, _ settings: Benchmark.Settings,
                           _ run: @escaping @Sendable (Benchmark.Progress) throws -> Benchmark.Report) {
        // Freed activations stay in the heap (no mmap/munmap per tensor): the
        // setting the train loop is meant to run with (MemoryTuning's notes).
        // It is process-wide and stays on for the rest of the session.
        MemoryTuning.keepFreedMemory()
        context.startJob(total: settings.warmup + settings.steps) { _, control in
            let report = try run { done, total, seconds in
                let phase = done <= settings.warmup ? "warm-up" : "timed"
                control.report(completed: done, line: "\(phase) step " + String(format: "%.3f s", seconds))
                return !control.isCancelled
            }
            return .record(record(report))
        }
    }

    /// The report as a record: medians first, then min/max, phases, memory and load.
    static func record(_ r: Benchmark.Report) -> Record {
        let s = r.settings
        func round(_ x: Double, _ digits: Double = 1000) -> JSONValue { .double((x * digits).rounded() / digits) }
        var fields: [(String, JSONValue)] = [
            ("bench", .string(r.kind)), ("model", .string(s.model)), ("classes", .int(s.classes)),
        ]
        if s.dtype != .f32 {
            fields += [("dtype", .string(s.dtype.rawValue)), ("bf16_gemm", .string(BF16GEMMEngine.standard.rawValue)),
                       ("note", .string(CPUCheck.bf16Note))]
        }
        if r.images > 0 { fields += [("batch", .int(s.batch))] }
        fields += [("image_size", .int(s.imageSize)), ("steps", .int(s.steps)), ("warmup", .int(s.warmup)),
                   ("threads", .int(r.threads)), ("blas_threads", .int(r.blasThreads)),
                   ("gemm", .string(r.gemm.rawValue)), ("blas_kernels", .string(BLASThreads.kernels)),
                   ("kernels", .string(KernelTarget.level)),
                   ("parameters", .int(r.parameters))]
        if r.images > 0 {
            let ips = r.imagesPerSecond, ipsData = r.imagesPerSecondWithData
            fields += [("img_s", round(Benchmark.median(ips), 100)), ("img_s_min", round(ips.min()!, 100)),
                       ("img_s_max", round(ips.max()!, 100)), ("img_s_with_data", round(Benchmark.median(ipsData), 100))]
        }
        let step = r.stepSeconds
        if r.processes > 1, let alone = r.communicationAlone {
            // Under mpirun: every process ran the step on its own batch; the
            // steps are in lockstep (each waits for the gradient sums).
            let exposed = Benchmark.median(r.communicationExposed)
            fields += [("processes", .int(r.processes)),
                       ("global_img_s", round(Benchmark.median(r.imagesPerSecond) * Double(r.processes), 100)),
                       ("compute_s", round(Benchmark.median(step) - exposed, 1e4)),
                       ("comm_s", round(alone, 1e4)), ("comm_exposed_s", round(exposed, 1e4)),
                       ("comm_hidden", round(alone > 0 ? max(0, alone - exposed) / alone : 1, 1000))]
        }
        fields += [("step_s", round(Benchmark.median(step), 1e4)), ("step_s_min", round(step.min()!, 1e4)),
                   ("step_s_max", round(step.max()!, 1e4))]
        let cpu = r.cpuSeconds
        fields.append(("cpu_s", round(Benchmark.median(cpu), 1e4)))
        if r.images > 0 { fields.append(("img_per_cpu_s", round(Benchmark.median(r.imagesPerCPUSecond), 100))) }
        fields.append(("phase_s", .object(r.phases.map { ($0.name, round(Benchmark.median($0.seconds), 1e6)) })))
        fields.append(("phase_share", .object(r.phases.filter(\.inStep).map {
            ($0.name, round(Benchmark.median($0.seconds) / max(Benchmark.median(step), 1e-12), 1000))
        })))
        if !r.ops.isEmpty {
            // Median seconds per kind of kernel, then the optimizer (the
            // update phase, train only) and the data phase (outside the
            // step); `other` is the median step less the kernels and the
            // optimizer (glue, allocation, the loss's bookkeeping).
            var medians = r.ops.map { ($0.name, Benchmark.median($0.seconds)) }
            if let update = r.phases.first(where: { $0.name == "update" }) {
                medians.append(("optimizer", Benchmark.median(update.seconds)))
            }
            let other = Benchmark.median(step) - medians.reduce(0) { $0 + $1.1 }
            var parts = medians.map { ($0.0, round($0.1, 1e6)) }
            if let data = r.phases.first(where: { $0.name == "data" }) {
                parts.append(("data", round(Benchmark.median(data.seconds), 1e6)))
            }
            fields.append(("op_s", .object(parts + [("other", round(other, 1e6))])))
        }
        fields += memoryAndLoad(peak: r.peakResidentBytes, reset: r.peakWasReset)
        return Record(title: "bench \(r.kind): convnext_\(s.model)\(r.images > 0 ? ", batch \(s.batch)" : ""), \(s.imageSize)px, median of \(s.steps)", fields)
    }

    static func memoryAndLoad(peak: Int?, reset: Bool) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = []
        if let peak { fields.append(("peak_rss_mib", .double((Double(peak) / 1_048_576).rounded()))) }
        fields.append(("peak_rss_reset", .bool(reset)))
        if let load = ProcessMemory.loadAverages() { fields.append(("load_avg", .array(load.map { .double($0) }))) }
        return fields
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Writes and reads back a full training state of the variant: params,
    /// EMA and Adam's two moments (4 trees of the parameter shapes), in one
    /// safetensors file in a fresh temp dir that is removed afterwards.
    static func saveBench(_ s: Benchmark.Settings, control: JobControl) throws -> CommandResult {
        let reset = ProcessMemory.resetPeak()
        let config = try ConvNeXtConfig.variant(s.model, classes: s.classes)
        let model = try ConvNeXt(config: config)
        // Four parameter-sized trees, the encoded file and its read-back copy.
        try MemoryBudget.check(6 * MemoryBudget.parameterBytes(model), "bench save of \(model.parameterCount) parameters",
                               hint: "use a smaller --model or --classes")
        let params = model.initialize(paramsKey: try KeyTree(seed: s.seed).key(KeyTree.params))
        // EMA starts as the parameters; the moments are filled so no page is
        // a shared zero page (values do not matter to the timing).
        var tensors: [(String, Tensor)] = []
        for (path, t) in params {
            tensors.append(("params/" + path, t))
            tensors.append(("ema/" + path, Tensor(shape: t.shape, scalars: t.scalars.map { $0 * 0.5 })))
            tensors.append(("mu/" + path, Tensor(shape: t.shape, scalars: t.scalars.map { $0 * 0.1 })))
            tensors.append(("nu/" + path, Tensor(shape: t.shape, scalars: t.scalars.map { $0 * $0 })))
        }
        let bytes = tensors.reduce(0) { $0 + $1.1.count * 4 }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("state.safetensors")
        var writes: [Double] = [], encodes: [Double] = [], reads: [Double] = []
        let values = tensors.map { ($0.0, SafeTensorsValue.float32($0.1)) }
        let total = s.warmup + s.steps
        for i in 0..<total {
            // What SafeTensorsFile.write does, in its two parts: encode the
            // bytes in memory, then the atomic write (temp file, fsync, rename).
            let t0 = now()
            let data = try SafeTensorsFile.encode(values, metadata: ["bench": "state"], source: url.path)
            let te = now()
            try AtomicFile.write(data, to: url)
            let t1 = now()
            let file = try SafeTensorsFile.read(url)
            var count = 0
            for name in file.names { count += try file.tensor(name).count }
            let t2 = now()
            guard count * 4 == bytes else { throw ShellError("bench save: read back \(count * 4) bytes of \(bytes)") }
            if i >= s.warmup { writes.append(t1 - t0); encodes.append(te - t0); reads.append(t2 - t1) }
            control.report(completed: i + 1, line: String(format: "write %.2f s, read %.2f s", t1 - t0, t2 - t1))
            if control.isCancelled { throw ShellError("bench save stopped after \(i + 1) of \(total) rounds") }
        }
        let mb = Double(bytes) / 1e6
        func r(_ x: Double) -> JSONValue { .double((x * 1e4).rounded() / 1e4) }
        var fields: [(String, JSONValue)] = [
            ("bench", "save"), ("model", .string(s.model)), ("classes", .int(s.classes)), ("steps", .int(s.steps)),
            ("warmup", .int(s.warmup)), ("arrays", .int(params.count)), ("parameters", .int(params.scalarCount)),
            ("tensors", .int(tensors.count)), ("mb", .double((mb * 10).rounded() / 10)),
            ("write_s", r(Benchmark.median(writes))), ("write_s_min", r(writes.min()!)), ("write_s_max", r(writes.max()!)),
            ("encode_s", r(Benchmark.median(encodes))),
            ("read_s", r(Benchmark.median(reads))), ("read_s_min", r(reads.min()!)), ("read_s_max", r(reads.max()!)),
            ("write_mb_s", .double((mb / Benchmark.median(writes)).rounded())),
            ("read_mb_s", .double((mb / Benchmark.median(reads)).rounded())),
        ]
        fields += memoryAndLoad(peak: ProcessMemory.peakResidentBytes(), reset: reset)
        return .record(Record(title: "bench save: convnext_\(s.model) params + EMA + Adam moments (\(Int(mb.rounded())) MB), median of \(s.steps)", fields))
    }
}
