import Datasets
import Dispatch
import Foundation
import JaxRandom
import Models
import Optimizers
import Tensors

/// The recipe's train step, in stages, over a `WorkbenchState`.
///
/// One step: split the dropout and stochastic-depth keys (index 0 used now,
/// index 1 carried), take the next batch at the data cursor, forward in train
/// mode, mean soft-label cross-entropy, backward, the optimizer chain
/// (through MultiSteps when accumulating), the EMA, then commit keys, cursor,
/// counters and metrics together. `trainStep` runs the four stages back to
/// back; the shell's `step …` commands run them one at a time.
public enum TrainEngine {
    /// Stage 1: take the batch and run the forward pass.
    ///
    /// The batch is `given`, or the one at the data cursor: from `loader` when
    /// it has prefetched exactly that batch (same bytes, built ahead on
    /// another thread), else built here.
    public static func forward(_ state: inout WorkbenchState, batchSize: Int? = nil, batch given: Batch? = nil,
                               loader: DataLoader? = nil) throws {
        if let pending = state.pending {
            throw WorkbenchError("step \(pending.step) is already at '\(pending.stage.rawValue)': continue it with `step`, or drop it with `step abort`")
        }
        let (model, params) = try state.requireParameters()
        _ = try state.requireOptimizer()
        let start = DispatchTime.now().uptimeNanoseconds
        try state.counters.checkRoomForStep()
        let batch: Batch
        var cursorAfter = state.counters.cursor
        var cursor = state.counters.cursor
        // Data-parallel: `batchSize` is this replica's; the step trains on the
        // global batch of every replica's rows (see `DataParallel`).
        let replicas = ComputeContext.current.dataParallel
        var shard: BatchShard? = nil
        if let given {
            try model.validateInput(given.x)
            guard given.labels.shape == [given.x.shape[0], model.config.classes] else {
                throw WorkbenchError("labels have shape \(given.labels.shape); expected [\(given.x.shape[0]), \(model.config.classes)]")
            }
            try SoftLabels.validate(given.labels)
            batch = given
        } else {
            let data = try state.requireData()
            let size = batchSize ?? data.batchSize
            let global = size * (replicas?.count ?? 1)
            try checkBatch(global, perReplica: size, model: model, data: data)
            let n = data.splits.train.count
            if let problem = cursor.problem(samples: n) {
                throw WorkbenchError("the data cursor (epoch \(cursor.epoch), sample \(cursor.sample)) is unusable: \(problem); reload the data with `data synthetic …` or `data imagefolder …`")
            }
            cursor = cursor.start(batchSize: global, samples: n)
            cursorAfter = cursor.advanced(batchSize: global, samples: n)
            let builder = data.builder(imageSize: model.config.imageSize, dataKey: try state.dataKey())
            if let replicas {
                let rows = (replicas.rank * size)..<((replicas.rank + 1) * size)
                batch = builder.batch(at: cursor, size: global, rows: rows)
                shard = BatchShard(offset: rows.lowerBound, size: size, global: global)
            } else if let loader, loader.batchSize == size, let (ready, at) = loader.next(), at == cursor {
                batch = ready
            } else {
                batch = builder.batch(at: cursor, size: size)
            }
        }
        var keys = state.keys
        let (dropout, sd) = try keys.advanceTrainStep()
        // The model is applied with both step keys: one draw each (`rng show` counts it).
        try keys.draw(KeyTree.stepKeyName(KeyTree.dropout))
        try keys.draw(KeyTree.stepKeyName(KeyTree.stochasticDepth))
        let rngs = ApplyRNGs(dropout: dropout, stochasticDepth: sd, shard: shard)
        let (logits, cache) = model.forward(batch.x, params: params, train: true, rngs: rngs)
        state.pending = PendingStep(stage: .forward, batch: batch, cursor: cursor, cursorAfter: cursorAfter,
                                    keysAfter: keys, rngs: rngs, logits: logits, cache: cache,
                                    seconds: elapsed(since: start), step: state.counters.miniSteps + 1)
    }

    /// Stage 2: the loss and its gradient with respect to the logits.
    public static func loss(_ state: inout WorkbenchState) throws {
        guard var p = state.pending, p.stage == .forward else { throw stageError(state, want: "loss") }
        let start = DispatchTime.now().uptimeNanoseconds
        let model = try state.requireModel()
        let (l, d) = model.loss(logits: p.logits, labels: p.batch.labels)
        // The global batch's loss; the gradient stays this replica's (its rows' mean).
        p.loss = ComputeContext.current.dataParallel.map { DataParallel.mean(l, $0) } ?? l
        p.dLogits = d
        p.stage = .loss
        p.seconds += elapsed(since: start)
        state.pending = p
    }

    /// Stage 3: the gradient of every parameter.
    ///
    /// Data-parallel, the gradients are summed across replicas in buckets
    /// while backward runs (`GradientBuckets`). With `.onApply` under
    /// MultiSteps, a mini-step that does not apply keeps its rank's own
    /// gradient (no communication); the applying one folds its gradient into
    /// the rank's accumulator as each layer finishes and averages that, so
    /// gradients cross the network once per window.
    public static func backward(_ state: inout WorkbenchState, reduction: GradientReduction = .everyMiniStep) throws {
        guard var p = state.pending, p.stage == .loss, let cache = p.cache, let d = p.dLogits else {
            throw stageError(state, want: "backward")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let (model, params) = try state.requireParameters()
        p.savedRecords = cache.blockRecords
        // Hand the backward the only reference to the activations (it frees
        // them block by block): drop the pending step's copies first.
        p.cache = nil
        state.pending = nil
        var buckets: GradientBuckets? = nil
        var folded: (mini: Int32, step: Int32, inner: OptimizerState)? = nil
        if let replicas = ComputeContext.current.dataParallel {
            var local = false
            var fold: ((String, Tensor) -> Tensor)? = nil
            if case let .onApply(localAccumulator) = reduction,
               let multi = (try? state.requireDeclaredOptimizer())?.transformation as? MultiSteps, multi.everyK > 1 {
                let optState = state.optimizerState ?? multi.initialize(params)
                if !multi.emitsNext(optState) {
                    local = true
                } else if localAccumulator, case let .multiSteps(mini, step, acc, inner) = optState {
                    // Fold this gradient into the rank's accumulator (MultiSteps'
                    // own arithmetic) and send the result: one sum per window.
                    let divisor = Float(mini) + 1
                    fold = { path, g in MultiSteps.fold(acc[path]!, g, divisor: divisor) }
                    folded = (mini, step, inner)
                }
            }
            if !local {
                buckets = GradientBuckets(shapes: params.tensors.map { (path: $0.key, shape: $0.value.shape) },
                                          replicas: replicas, transform: fold)
            }
            p.gradsAreLocal = local
        }
        let grads = model.backward(dLogits: d, params: params, cache: consume cache, ready: buckets.map { b in { b.add($0) } })
        // Data-parallel: every replica gets the global batch's mean gradient.
        p.grads = buckets?.finish() ?? grads
        if let buckets { p.communicationWait = Double(buckets.waitNanoseconds) / 1e9 }
        if let f = folded, let mean = p.grads {
            // The averaged accumulator is the accumulator and the gradient: MultiSteps
            // folds it into itself (a + (a − a)/k = a) and applies it.
            state.optimizerState = .multiSteps(miniStep: f.mini, gradientStep: f.step, acc: mean, inner: f.inner)
        }
        p.dLogits = nil
        p.stage = .backward
        p.seconds += elapsed(since: start)
        state.pending = p
    }

    /// Stage 4: the optimizer update and EMA; commits the step.
    /// - Throws: when the loss or a gradient is not finite — the step is
    ///   dropped and the parameters stay as they were before it.
    @discardableResult
    public static func update(_ state: inout WorkbenchState) throws -> StepMetrics {
        guard let p = state.pending, p.stage == .backward, let grads = p.grads, let loss = p.loss else {
            throw stageError(state, want: "update")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        if !loss.isFinite {
            state.pending = nil
            throw WorkbenchError("step \(p.step): the loss is \(loss); stopped and kept the parameters from before this step (lower the learning rate, or check the data)")
        }
        // Collectives first (every replica reaches them), then what may fail on one replica alone.
        var accuracy = accuracy(p.logits, p.batch.labels)
        var images = p.batch.x.shape[0]
        if let replicas = ComputeContext.current.dataParallel {
            // Counts are exact: the global batch's accuracy, as one process would compute it.
            let counts = replicas.sum([Int64(correct(p.logits, p.batch.labels)), Int64(images)])
            accuracy = Float(counts[0]) / Float(max(counts[1], 1))
            images = Int(counts[1])
        }
        var next = state
        let applied: Applied
        do {
            applied = try applyGradients(&next, grads, step: p.step)
        } catch {
            state.pending = nil  // a failed update drops the step; nothing else moved
            throw error
        }
        // Commit everything together.
        next.keys = p.keysAfter
        next.counters.cursor = p.cursorAfter
        next.counters.miniSteps += 1
        next.pending = nil
        let seconds = p.seconds + elapsed(since: start)
        let metrics = StepMetrics(step: p.step, epoch: p.cursor.epoch, loss: loss,
                                  accuracy: accuracy, learningRate: applied.learningRate,
                                  gradNorm: applied.gradNorm, updateRatio: applied.updateRatio,
                                  applied: applied.applied, imagesPerSecond: Double(images) / max(seconds, 1e-9),
                                  seconds: seconds)
        next.history.append(metrics)
        next.lastStep = StepDetail(step: p.step, parameters: applied.parameters, blocks: p.blockRecords,
                                   applied: applied.applied, learningRate: applied.learningRate)
        state = next
        return metrics
    }

    /// What one pass of gradients through the optimizer did.
    public struct Applied: Sendable {
        public var applied: Bool
        public var learningRate: Float
        public var gradNorm: Float
        public var updateRatio: Float
        public var parameters: [StepDetail.Parameter]
    }

    /// Runs `grads` through the optimizer chain (MultiSteps, clipping, AdamW)
    /// and the EMA, replacing the parameters and optimizer state. Used by the
    /// train step and by `optim step`.
    /// - Throws: when a gradient is not finite (nothing changes), or on a tree mismatch.
    public static func applyGradients(_ state: inout WorkbenchState, _ grads: TensorTree, step: Int) throws -> Applied {
        let (_, params) = try state.requireParameters()
        let config = try state.requireOptimizer()
        // Each gradient's sum of squares, once: finite exactly when every
        // element is, and the source of the per-leaf and global norms.
        let gradSquares = grads.map { sumOfSquares($0.value) }
        if let badIndex = gradSquares.firstIndex(where: { !$0.isFinite }) {
            let bad = Array(grads)[badIndex]
            state.pending = nil
            throw WorkbenchError("step \(step): the gradient of \(bad.key) is not finite; stopped and kept the parameters from before this step (lower the learning rate, or add --clip)")
        }
        let declared = try state.requireDeclaredOptimizer()
        let transformation = declared.transformation
        let optState = state.optimizerState ?? transformation.initialize(params)
        let applies = (transformation as? MultiSteps)?.emitsNext(optState) ?? true
        let lr = applies ? try config.schedule()(state.counters.optimizerSteps) : 0
        // The optimizer step, and the EMA of its result in the same pass when it applies.
        // A bf16 model's γ is a bf16 leaf of the declared chain and EMA: its update is bf16 ops.
        var newParams: TensorTree, newOptState: OptimizerState
        var emaState = state.emaState
        if applies, let ema = declared.ema {
            (newParams, newOptState, emaState) = try applyWithEMA(transformation, grads, state: optState, params: params,
                                                                  ema: ema, emaState: emaState ?? ema.initialize(params),
                                                                  window: config.accumulate)
        } else {
            (newParams, newOptState) = try transformation.apply(grads, state: optState, params: params)
        }
        let mask = declared.decayMask
        var details: [StepDetail.Parameter] = []
        var updateSq = 0.0, weightSq = 0.0
        let gradSquare = Dictionary(uniqueKeysWithValues: zip(grads.map(\.key), gradSquares))
        for (path, old) in params {
            let u = applies ? differenceNorm(newParams[path]!, old) : 0, w = norm(old)
            updateSq += Double(u) * Double(u)
            weightSq += Double(w) * Double(w)
            let g = Float(gradSquare[path]!.squareRoot())
            details.append(.init(path: path, gradNorm: g, updateNorm: u, weightNorm: w, decayed: mask.contains(path)))
        }
        // Roll back (nothing assigned yet) when the update made anything non-finite.
        try FiniteState.check(params: newParams, optimizerState: newOptState, emaState: emaState, step: step)
        state.params = newParams
        state.optimizerState = newOptState
        state.emaState = emaState
        if applies { state.counters.optimizerSteps += 1 }
        return Applied(applied: applies, learningRate: lr, gradNorm: globalNorm(leafSumsOfSquares: gradSquares),
                       updateRatio: weightSq > 0 ? Float((updateSq / weightSq).squareRoot()) : 0, parameters: details)
    }

    /// One whole train step (the four stages); finishes a pending stepped step instead if there is one.
    @discardableResult
    public static func trainStep(_ state: inout WorkbenchState, batchSize: Int? = nil, batch: Batch? = nil,
                                 loader: DataLoader? = nil, reduction: GradientReduction = .everyMiniStep) throws -> StepMetrics {
        if state.pending == nil { try forward(&state, batchSize: batchSize, batch: batch, loader: loader) }
        if state.pending?.stage == .forward { try loss(&state) }
        if state.pending?.stage == .loss { try backward(&state, reduction: reduction) }
        return try update(&state)
    }

    /// Top-1/top-5 and loss on the whole validation split, with the live or the EMA parameters.
    public static func evaluate(_ state: WorkbenchState, ema: Bool, batchSize: Int = 100,
                                isCancelled: () -> Bool = { false }) throws -> EvalMetrics {
        let (model, live) = try state.requireParameters()
        let data = try state.requireData()
        var params = live
        if ema {
            guard let emaState = state.emaState, let average = EMA.average(emaState) else {
                throw WorkbenchError("no EMA parameters yet: set `optim adamw --ema 0.9999` and train, or evaluate without --ema")
            }
            params = model.heldParameters(average)  // a bf16 model computes with a bf16 γ
        }
        try checkClasses(model: model, data: data)
        guard batchSize >= 1 else { throw WorkbenchError("the evaluation batch size must be at least 1, got \(batchSize)") }
        try MemoryBudget.check(MemoryBudget.inferBytes(model, batch: batchSize), "evaluation at batch \(batchSize)",
                               hint: "use a smaller --batch")
        let builder = data.builder(imageSize: model.config.imageSize, dataKey: try state.dataKey())
        let batches = builder.batchesPerEpoch(.val, batchSize: batchSize)
        var top1 = 0, top5 = 0, samples = 0
        var lossSum = 0.0
        // Data-parallel: replica r evaluates batches r, r+N, …; counts are summed exactly.
        let replicas = ComputeContext.current.dataParallel
        for i in 0..<batches where i % (replicas?.count ?? 1) == (replicas?.rank ?? 0) {
            if isCancelled() { throw WorkbenchError("evaluation stopped after \(samples) samples") }
            let batch = builder.batch(.val, epoch: 0, index: i, size: batchSize)
            let logits = model.logits(batch.x, params: params)
            top1 += topKCorrect(logits: logits, targets: batch.targets, k: 1)
            top5 += topKCorrect(logits: logits, targets: batch.targets, k: min(5, model.config.classes))
            lossSum += Double(softmaxCrossEntropyForward(logits: logits, labels: batch.labels).loss) * Double(batch.targets.count)
            samples += batch.targets.count
        }
        if let replicas {
            let counts = replicas.sum([Int64(top1), Int64(top5), Int64(samples)])
            (top1, top5, samples) = (Int(counts[0]), Int(counts[1]), Int(counts[2]))
            var sums = [lossSum]
            sums.withUnsafeMutableBufferPointer { replicas.sumInPlace($0) }
            lossSum = sums[0]
        }
        guard samples > 0 else { throw WorkbenchError("the validation split is empty") }
        return EvalMetrics(step: state.counters.miniSteps, ema: ema, top1: Double(top1) / Double(samples),
                           top5: Double(top5) / Double(samples), loss: lossSum / Double(samples), samples: samples)
    }

    /// Refuses batches that cannot work: too large for the data, or for memory.
    /// `perReplica`: the rows one process computes (data-parallel), else `size`.
    static func checkBatch(_ size: Int, perReplica: Int? = nil, model: ConvNeXt, data: DataSetup) throws {
        try checkClasses(model: model, data: data)
        guard size >= 1 else { throw WorkbenchError("batch size must be at least 1, got \(size)") }
        let n = data.splits.train.count
        if let rows = perReplica, rows != size, size > n {
            // Data-parallel: `size` is the global batch, every process's rows.
            let processes = size / rows
            throw WorkbenchError("the global batch \(size) (--batch \(rows) on each of \(processes) processes) exceeds the \(n) training samples: use --batch \(n / processes) or less")
        }
        guard size <= n else {
            throw WorkbenchError("batch size \(size) exceeds the \(n) training samples: use --batch \(n) or less")
        }
        let rows = perReplica ?? size
        try MemoryBudget.check(MemoryBudget.trainBytes(model, batch: rows), "a train step at batch \(rows)",
                               hint: "use a smaller --batch, or MultiSteps (optim adamw --accumulate K)")
    }

    /// The data's labels must fit the classifier: one logit per class.
    static func checkClasses(model: ConvNeXt, data: DataSetup) throws {
        let have = data.splits.train.classes, want = model.config.classes
        guard have == want else {
            throw WorkbenchError("the data has \(have) classes but the model has \(want): rebuild it with `--classes \(have)` (`model build VARIANT --classes \(have)`), or load data with \(want) classes")
        }
    }

    static func stageError(_ state: WorkbenchState, want: String) -> WorkbenchError {
        guard let p = state.pending else {
            return WorkbenchError("no step in progress: start one with `step forward` (or run a whole one with `step`)")
        }
        let next: [PendingStep.Stage: String] = [.forward: "loss", .loss: "backward", .backward: "update"]
        return WorkbenchError("step \(p.step) is at '\(p.stage.rawValue)'; the next stage is `step \(next[p.stage]!)`, not `step \(want)`")
    }

    static func elapsed(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The L2 norm of a tensor, accumulated in Double.
    public static func norm(_ t: Tensor) -> Float {
        Float(sumOfSquares(t).squareRoot())
    }

    /// `norm(difference(a, b))` without the intermediate tensor: the same
    /// float32 differences, accumulated in Double.
    static func differenceNorm(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.count == b.count, "differenceNorm of \(a.shape) and \(b.shape)")
        return Float(sumOfSquaredDifferences(a, b).squareRoot())
    }

    /// Accuracy against the argmax of the (possibly mixed, smoothed) labels.
    static func accuracy(_ logits: Tensor, _ labels: Tensor) -> Float {
        Float(correct(logits, labels)) / Float(max(logits.shape[0], 1))
    }

    /// How many rows' logit argmax is the labels' argmax.
    static func correct(_ logits: Tensor, _ labels: Tensor) -> Int {
        let b = logits.shape[0], n = logits.shape[1]
        var correct = 0
        for i in 0..<b {
            let row = logits.scalars[(i * n)..<((i + 1) * n)], lab = labels.scalars[(i * n)..<((i + 1) * n)]
            if row.indices.max(by: { row[$0] < row[$1] }) == lab.indices.max(by: { lab[$0] < lab[$1] }) { correct += 1 }
        }
        return correct
    }
}

/// When a data-parallel step sums gradients across replicas.
public enum GradientReduction: Sendable, Equatable {
    /// Every mini-step (stepped `step …` commands: `show grads` shows the global gradient).
    case everyMiniStep
    /// Under MultiSteps, only on the applying mini-step (`train`); `localAccumulator`:
    /// the accumulator holds this replica's own gradients since the last reduction.
    case onApply(localAccumulator: Bool)
}

/// Available memory, for refusing batches that won't fit.
enum MemoryInfo {
    /// `MemAvailable` from /proc/meminfo, in bytes.
    static func availableBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}
