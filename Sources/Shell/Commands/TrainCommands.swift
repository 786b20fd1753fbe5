import Datasets
import Foundation
import JSON
import Models
import Optimizers
import SafeTensors
import Tensors
import Training

/// `train …`, `eval`, `step …`, `status` and the training `show` commands (issue 8).
enum TrainCommands {
    static let batchFlag = FlagKey<Int?>("batch", help: "batch size (under mpirun: each process's; a step trains on N times it)",
                                      shown: "the data's (data … --batch)")
    static let fileSteps = FlagKey<Int>("steps", default: 1, help: "how many steps on it")
    static let ema = FlagKey<Bool>("ema", help: "use the EMA parameters")
    static let evalBatch = FlagKey<Int>("batch", default: 100, help: "evaluation batch size")
    static let plot = FlagKey<Bool>("plot", help: "a line plot instead of a sparkline")
    static let compare = FlagKey<[Int]?>("compare", help: "run numbers (`runs`) to draw together with the current run, e.g. --compare 1 or 1,2",
                                      completion: .runNumbers)
    static let last = FlagKey<Int>("last", default: 10, help: "how many steps")

    static let all: [CommandSpec] = [
        CommandSpec(["train", "steps"], summary: "Train N steps as a job (progress bar; Ctrl-C or `stop` ends it at a step boundary; `&` runs it in the background)",
                    arguments: [ArgumentSpec("n", .int, "how many steps")], flags: [batchFlag]) { invocation, context in
            let n = invocation.intArgument(0)!
            guard n >= 1 else { throw ShellError("N must be at least 1") }
            try startTraining(context, steps: n, batch: invocation[batchFlag], title: "train steps \(n)")
            return .empty
        },
        CommandSpec(["train", "epochs"], summary: "Train N epochs of the training split as a job",
                    arguments: [ArgumentSpec("n", .int, "how many epochs")], flags: [batchFlag]) { invocation, context in
            let n = invocation.intArgument(0)!
            guard n >= 1 else { throw ShellError("N must be at least 1") }
            let data = try context.state.requireData()
            let batch = invocation[batchFlag] ?? data.batchSize
            guard batch >= 1, batch <= data.splits.train.count else {
                throw ShellError("--batch must be 1…\(data.splits.train.count)")
            }
            // Under mpirun an epoch is counted in global batches (every rank's --batch rows).
            let global = batch * (ComputeContext.current.dataParallel?.count ?? 1)
            guard global <= data.splits.train.count else {
                throw ShellError("the global batch \(global) (--batch \(batch) on each of the ranks) exceeds the \(data.splits.train.count) training samples")
            }
            try startTraining(context, steps: n * (data.splits.train.count / global), batch: batch, title: "train epochs \(n)")
            return .empty
        },
        CommandSpec(["train", "batch"], summary: "Train N steps on the exact batch in a file (\"x\", soft \"labels\") — for checking against JAX",
                    arguments: [ArgumentSpec("file", .path, "FILE.safetensors with x [B,H,W,3] and labels [B,classes]")],
                    flags: [fileSteps]) { invocation, context in
            let url = context.workbench.url(for: invocation.argument(0)!)
            let batch = try ExchangeFiles.trainingBatch(url)
            let steps = invocation[fileSteps]
            guard steps >= 1 else { throw ShellError("--steps must be at least 1") }
            var state = context.state
            var rows: [[JSONValue]] = []
            for _ in 0..<steps {
                let m = try TrainEngine.trainStep(&state, batch: batch)
                rows.append(metricsRow(m))
            }
            context.state = state
            return .table(Table(title: "trained \(steps) step(s) on \(url.lastPathComponent)", columns: metricsColumns, rows: rows))
        },
        CommandSpec(["eval"], summary: "Top-1/top-5 and loss on the validation split, with the live or the EMA parameters",
                    flags: [ema, evalBatch]) { invocation, context in
            _ = try context.state.requireParameters()
            _ = try context.state.requireData()
            let ema = invocation[TrainCommands.ema], batch = invocation[evalBatch]
            guard batch >= 1 else { throw ShellError("--batch must be at least 1") }
            context.startJob(total: 0) { state, control in
                let m = try TrainEngine.evaluate(state, ema: ema, batchSize: batch, isCancelled: { control.isCancelled })
                state.evaluations.append(m)
                return .record(Record(title: "eval\(ema ? " (EMA)" : "") at step \(m.step)", [
                    ("top1", .double(m.top1)), ("top5", top5(m, state)), ("loss", .double(m.loss)), ("samples", .int(m.samples))]))
            }
            return .empty
        },
        CommandSpec(["step", "forward"], summary: "Start a train step: take the next batch and run the forward pass, then stop",
                    flags: [batchFlag]) { invocation, context in
            try TrainEngine.forward(&context.state, batchSize: invocation[batchFlag])
            let p = context.state.pending!
            return .group([.record(Record(title: "step \(p.step): forward done (next: step loss)", [
                ("batch", .string(p.batch.x.shape.map(String.init).joined(separator: "x"))),
                ("epoch_sample", .string("\(p.cursor.epoch):\(p.cursor.sample)")), ("mix", .string("\(p.batch.mix)")),
                ("dropout_key", KeyWords.json(p.rngs.dropout)),
                ("stochastic_depth_key", KeyWords.json(p.rngs.stochasticDepth)),
                ("dropped", .string(droppedSummary(p.blockRecords))),
            ], formats: ["dropout_key": .keyWords, "stochastic_depth_key": .keyWords]))])
        },
        CommandSpec(["step", "loss"], summary: "Continue the step: the loss and its gradient with respect to the logits") { _, context in
            try TrainEngine.loss(&context.state)
            let p = context.state.pending!
            return .record(Record(title: "step \(p.step): loss done (next: step backward)", [("loss", .float(p.loss!))]))
        },
        CommandSpec(["step", "backward"], summary: "Continue the step: every parameter's gradient (see show grads)") { _, context in
            try TrainEngine.backward(&context.state)
            let p = context.state.pending!
            return .record(Record(title: "step \(p.step): backward done (next: step update)", [
                ("gradients", .int(p.grads!.count)), ("global_norm", .float(globalNorm(p.grads!)))]))
        },
        CommandSpec(["step", "update"], summary: "Finish the step: optimizer update, EMA, and commit keys, cursor and counters") { _, context in
            let m = try TrainEngine.update(&context.state)
            return stepDone(m, context.state)
        },
        CommandSpec(["step"], summary: "Run one whole train step, or finish the step in progress",
                    help: "A train step has four stages, each a command that stops after it so you can look: `step forward` (the batch at the data cursor and the forward pass; `show activations`), `step loss` (the loss and its gradient), `step backward` (every parameter's gradient; `show grads`), `step update` (optimizer, EMA, then keys, cursor and counters commit; `show update`). `step` runs the remaining stages; `step abort` drops a step in progress.",
                    flags: [batchFlag]) { invocation, context in
            let m = try TrainEngine.trainStep(&context.state, batchSize: invocation[batchFlag])
            return stepDone(m, context.state)
        },
        CommandSpec(["step", "abort"], summary: "Drop the step in progress; nothing it computed is kept") { _, context in
            guard let p = context.state.pending else { return .message("no step in progress") }
            context.state.pending = nil
            return .message("dropped step \(p.step) at '\(p.stage.rawValue)'; the session is as it was before it")
        },
        CommandSpec(["status"], summary: "Model, data, optimizer, counters, the step in progress and the running job", mutates: false) { _, context in
            .record(status(context.state, job: context.workbench.runningJob))
        },
        CommandSpec(["show", "loss"], summary: "The training loss by step (sparkline, or --plot); --compare overlays finished runs",
                    flags: [plot, compare],
                    mutates: false) { invocation, context in
            if let runs = invocation[compare] {
                return try RunCommands.compareLoss(runs, context.state, plot: invocation[plot])
            }
            let h = context.state.history
            guard !h.isEmpty else { throw ShellError("no training steps yet: run `train steps N` or `step`") }
            return .series(Series(title: "loss (\(h.count) steps, last \(h.last!.loss))", xLabel: "step", yLabel: "loss",
                                  x: h.map { Double($0.step) }, y: h.map { Double($0.loss) }, plot: invocation[plot]))
        },
        CommandSpec(["show", "metrics"], summary: "A table of the recent steps' metrics",
                    flags: [last], mutates: false) { invocation, context in
            let h = context.state.history.suffix(max(1, invocation[last]))
            guard !h.isEmpty else { throw ShellError("no training steps yet: run `train steps N` or `step`") }
            var parts: [CommandResult] = [.table(Table(title: "metrics", columns: metricsColumns, rows: h.map(metricsRow)))]
            if !context.state.evaluations.isEmpty {
                parts.append(.table(Table(title: "evaluations", columns: [.init("step"), .init("ema"), .init("top1"), .init("top5"), .init("loss")],
                                          rows: context.state.evaluations.map { [.int($0.step), .bool($0.ema), .double($0.top1), top5($0, context.state), .double($0.loss)] })))
            }
            return .group(parts)
        },
        CommandSpec(["metrics", "export"], summary: "Write every step's metrics to a .jsonl or .csv file",
                    arguments: [ArgumentSpec("file", .path, "FILE.jsonl or FILE.csv")], mutates: false) { invocation, context in
            let url = context.workbench.url(for: invocation.argument(0)!)
            let h = context.state.history
            let text: String
            switch url.pathExtension.lowercased() {
            case "jsonl":
                text = h.map { m in JSONValue.object(zip(metricsKeys, metricsRow(m)).map { ($0, $1) }).jsonText }.joined(separator: "\n") + "\n"
            case "csv":
                text = ([metricsKeys.joined(separator: ",")] + h.map { metricsRow($0).map(csvCell).joined(separator: ",") }).joined(separator: "\n") + "\n"
            default:
                throw ShellError("metrics export writes .jsonl or .csv, not '.\(url.pathExtension)'")
            }
            try AtomicFile.write(Data(text.utf8), to: url)
            return .message("wrote \(h.count) steps to \(url.path)")
        },
        CommandSpec(["show", "grads"], summary: "Per-parameter gradient norms of the step in progress or the last step",
                    arguments: [ArgumentSpec("block", .string, "only parameters whose path contains this", optional: true)],
                    mutates: false) { invocation, context in
            var rows: [(String, Float)]
            var title: String
            if let p = context.state.pending, let g = p.grads {
                rows = g.map { ($0.key, TrainEngine.norm($0.value)) }
                title = "gradients of step \(p.step) (in progress)"
            } else if let d = context.state.lastStep {
                rows = d.parameters.map { ($0.path, $0.gradNorm) }
                title = "gradients of step \(d.step)"
            } else {
                throw ShellError("no gradients yet: run `step backward` or a train step")
            }
            if let filter = invocation.argument(0) { rows = rows.filter { $0.0.contains(filter) } }
            return .table(Table(title: title, columns: [.init("path"), .init("‖grad‖")], rows: rows.map { [.string($0.0), .float($0.1)] }))
        },
        CommandSpec(["show", "update"], summary: "The last update per parameter: ‖Δ‖, ‖w‖, their ratio, and whether weight decay applied",
                    arguments: [ArgumentSpec("block", .string, "only parameters whose path contains this", optional: true)],
                    mutates: false) { invocation, context in
            guard let d = context.state.lastStep else { throw ShellError("no update yet: run `step update` or a train step") }
            var params = d.parameters
            if let filter = invocation.argument(0) { params = params.filter { $0.path.contains(filter) } }
            let header = d.applied ? "step \(d.step): AdamW update at lr \(d.learningRate)"
                                   : "step \(d.step): MultiSteps accumulated the gradients; no update was applied"
            return .table(Table(title: header, columns: [.init("path"), .init("‖Δ‖"), .init("‖w‖"), .init("‖Δ‖/‖w‖"), .init("decay")],
                                rows: params.map { [.string($0.path), .float($0.updateNorm), .float($0.weightNorm),
                                                    $0.weightNorm > 0 ? .float($0.updateNorm / $0.weightNorm) : .null, .bool($0.decayed)] }))
        },
        CommandSpec(["show", "activations"], summary: "Per-block activation statistics of the last forward, and which samples stochastic depth dropped",
                    arguments: [ArgumentSpec("block", .string, "only blocks whose name contains this", optional: true)],
                    mutates: false) { invocation, context in
            let records: [Models.BlockRecord]
            let title: String
            if let p = context.state.pending { records = p.blockRecords; title = "step \(p.step) forward (in progress)" }
            else if let d = context.state.lastStep { records = d.blocks; title = "step \(d.step) forward" }
            else { throw ShellError("no forward pass yet: run `step forward`") }
            let shown = invocation.argument(0).map { f in records.filter { $0.block.name.contains(f) } } ?? records
            return .table(Table(title: title, columns: [.init("block"), .init("drop rate"), .init("out mean"), .init("out std"),
                                                        .init("branch |mean|"), .init("dropped samples")],
                                rows: shown.map { r in
                                    [.string(r.block.name), .double(r.block.dropPathRate), .double(r.output.mean), .double(r.output.std),
                                     .double(r.branch.meanAbs), .string(r.kept == nil ? "–" : (r.droppedSamples.isEmpty ? "none" : r.droppedSamples.map(String.init).joined(separator: ",")))]
                                }))
        },
    ]

    static let metricsKeys = ["step", "epoch", "loss", "accuracy", "lr", "grad_norm", "update_ratio", "applied", "img_s"]
    static let metricsColumns: [Table.Column] = [.init("step"), .init("epoch"), .init("loss"), .init("acc"), .init("lr"),
                                                 .init("‖g‖"), .init("Δ/w"), .init("applied"), .init("img/s")]

    static func metricsRow(_ m: StepMetrics) -> [JSONValue] {
        [.int(m.step), .int(m.epoch), .float(m.loss), .float(m.accuracy), .float(m.learningRate), .float(m.gradNorm),
         .float(m.updateRatio), .bool(m.applied), .double((m.imagesPerSecond * 10).rounded() / 10)]
    }

    /// A finished step's row, with a note when its update used lr 0.
    static func stepDone(_ m: StepMetrics, _ state: WorkbenchState) -> CommandResult {
        let table = CommandResult.table(Table(title: "step \(m.step) done", columns: metricsColumns, rows: [metricsRow(m)]))
        guard let note = TrainingNotes.zeroLearningRate([m], state.optimizer) else { return table }
        return .group([table, .message(note)])
    }

    /// Top-5 accuracy, or null (`–`) when the model has fewer than 5 classes
    /// (then every sample is trivially in its top 5).
    static func top5(_ m: EvalMetrics, _ state: WorkbenchState) -> JSONValue {
        (state.modelConfig?.classes ?? 5) < 5 ? .null : .double(m.top5)
    }

    static func csvCell(_ v: JSONValue) -> String {
        if case .bool(let b) = v { return b ? "true" : "false" }
        if case .string(let s) = v { return s }
        return v.jsonText
    }

    static func droppedSummary(_ records: [Models.BlockRecord]) -> String {
        let drops = records.filter { !$0.droppedSamples.isEmpty }
        if drops.isEmpty { return "no sample dropped by stochastic depth" }
        return drops.map { "\($0.block.name): \($0.droppedSamples.map(String.init).joined(separator: ","))" }.joined(separator: "; ")
    }

    static func status(_ s: WorkbenchState, job: Job?) -> Record {
        var fields: [(String, JSONValue)] = []
        if let c = s.modelConfig {
            fields.append(("model", .string("\(c.variantName.map { "convnext_\($0)" } ?? "custom \(c.depths)x\(c.dims)"), \(c.classes) classes, \(c.imageSize)px, \(s.params == nil ? "not initialised" : "initialised")")))
            fields.append(("dtype", .string(c.dtypeDescription)))
        } else { fields.append(("model", "none (model build tiny)")) }
        if let d = s.data {
            fields.append(("data", .string("\(d.splits.name): \(d.splits.train.count) train, \(d.splits.val.count) val, batch \(d.batchSize)")))
        } else { fields.append(("data", "none (data synthetic)")) }
        if let o = s.optimizer {
            fields.append(("optimizer", .string("adamw lr \(o.peakLearningRate)\(o.accumulate > 1 ? ", accumulate \(o.accumulate)" : "")\(o.emaDecay.map { ", ema \($0)" } ?? "")")))
        } else { fields.append(("optimizer", "none (optim adamw)")) }
        fields.append(("run", .string(s.runLog.finished.isEmpty ? "\(s.runLog.current)" : "\(s.runLog.current) (\(s.runLog.finished.count) finished: `runs`)")))
        fields.append(("steps", .int(s.counters.miniSteps)))
        fields.append(("updates", .int(s.counters.optimizerSteps)))
        fields.append(("cursor", .string("epoch \(s.counters.cursor.epoch), sample \(s.counters.cursor.sample)")))
        if let last = s.history.last { fields.append(("last_loss", .float(last.loss))) }
        if let e = s.evaluations.last { fields.append(("last_eval", .string("top1 \(TextRenderer.number(e.top1)) at step \(e.step)\(e.ema ? " (EMA)" : "")"))) }
        if let p = s.pending { fields.append(("step_in_progress", .string("step \(p.step) at '\(p.stage.rawValue)'"))) }
        if let job { fields.append(("job", .string("\(job.progressText) \(job.line)"))) }
        if let world = ComputeContext.current.dataParallel {
            let batch = s.data.map { ": batch \($0.batchSize) on each, \($0.batchSize * world.count) a step" } ?? ""
            fields.append(("processes", .string("\(world.count) (mpirun)\(batch)")))
        }
        return Record(title: "status", fields)
    }

    /// Starts `train steps`: a job that runs whole steps, publishing a snapshot
    /// and checking for cancellation after each.
    static func startTraining(_ context: CommandContext, steps: Int, batch: Int?, title: String) throws {
        // Check everything before the job starts, so a missing piece is one clear error.
        let (model, _) = try context.state.requireParameters()
        _ = try context.state.requireOptimizer()
        let data = try context.state.requireData()
        if context.state.pending != nil {
            throw ShellError("a stepped step is in progress: finish it with `step` or drop it with `step abort` first")
        }
        let size = batch ?? data.batchSize
        guard size >= 1, size <= data.splits.train.count else { throw ShellError("--batch must be 1…\(data.splits.train.count)") }
        let long = ComputeEstimate.trainingWarning(model, steps: steps, batch: size)
        context.startJob(total: steps, notice: long) { state, control in
            var done = 0
            var lastGood = state
            let start = Date()
            // Batches are built ahead on another thread, from the same keys and cursor.
            let builder = data.builder(imageSize: model.config.imageSize, dataKey: try state.dataKey())
            // (Data-parallel steps build their own rows of the global batch: no prefetch.)
            let loader = ComputeContext.current.dataParallel == nil
                ? try? DataLoader(builder: builder, batchSize: size, start: state.counters.cursor, prefetch: 2) : nil
            defer { loader?.cancel() }
            // Under mpirun: gradients reduced only on MultiSteps' applying mini-step,
            // and every rank agrees after each step on failures and Ctrl-C (`MPIStepAgreement`).
            let replicas = ComputeContext.current.dataParallel
            var localAccumulator = false
            var stopped = false
            defer {
                // Stopping mid-window: leave the global accumulator, as one process would hold it.
                if let replicas, localAccumulator { DataParallel.averageAccumulator(&state, replicas) }
            }
            while done < steps && !stopped && (replicas != nil || !control.isCancelled) {
                var failure: String? = nil
                var metrics: StepMetrics? = nil
                do {
                    metrics = try TrainEngine.trainStep(&state, batchSize: size, loader: loader,
                                                        reduction: .onApply(localAccumulator: localAccumulator))
                } catch {
                    failure = "\(error)"
                }
                if let replicas {
                    let agreed = MPIStepAgreement.afterStep(failure: failure, cancelled: control.isCancelled,
                                                           state: state, step: done + 1, replicas)
                    failure = agreed.failure
                    stopped = agreed.stop
                } else {
                    stopped = control.isCancelled
                }
                if let failure {
                    state = lastGood
                    if let replicas, localAccumulator { DataParallel.averageAccumulator(&state, replicas) }
                    localAccumulator = false
                    throw ShellError("\(failure) (\(done) of \(steps) steps done)")
                }
                guard let m = metrics else { break }
                if replicas != nil { localAccumulator = !m.applied && (state.optimizer?.accumulate ?? 1) > 1 }
                done += 1
                lastGood = state
                control.publish(state)
                control.report(completed: done, line: "loss=\(TextRenderer.float(m.loss)) lr=\(TextRenderer.float(m.learningRate)) \(String(format: "%.1f", m.imagesPerSecond)) img/s")
            }
            let seconds = Date().timeIntervalSince(start)
            let recent = state.history.suffix(done)
            let loss = recent.isEmpty ? Float.nan : recent.map(\.loss).reduce(0, +) / Float(recent.count)
            var fields: [(String, JSONValue)] = [
                ("steps", .int(done)), ("total_steps", .int(state.counters.miniSteps)),
                ("mean_loss", .float(loss)), ("last_loss", state.history.last.map { .float($0.loss) } ?? .null),
                ("seconds", .double((seconds * 10).rounded() / 10)),
                ("img_s", .double(((Double(done * size * (ComputeContext.current.replicas?.count ?? 1)) / max(seconds, 1e-9)) * 10).rounded() / 10)),
            ]
            if let ended = TrainingNotes.scheduleEnded(state) { fields.append(("note", .string(ended))) }
            if let long { fields.append(("warning", .string(long))) }
            if let zero = TrainingNotes.zeroLearningRate(recent, state.optimizer) { fields.append(("lr_0", .string(zero))) }
            if stopped && done < steps {
                fields.insert(("stopped", .string("stopped by request after step \(state.counters.miniSteps) (\(done) of \(steps)); the state is consistent — continue with `train steps N`")), at: 0)
            }
            return .record(Record(title: stopped && done < steps ? "\(title): stopped" : "\(title): done", fields))
        }
    }
}
