import Foundation
import JSON
import Models
import Optimizers
import SafeTensors
import Tensors
import Training

/// `optim …`, `show lr`, `show opt`, `recipe …`: the optimizer (issue 6).
enum OptimCommands {
    /// `optim adamw`'s defaults are `OptimizerConfig`'s.
    static let base = OptimizerConfig()
    static let lr = FlagKey<Double>("lr", default: base.peakLearningRate, help: "peak learning rate")
    static let initLR = FlagKey<Double>("init-lr", default: base.initLearningRate, help: "learning rate at step 0 of the warmup")
    static let warmupSteps = FlagKey<Int>("warmup-steps", default: base.warmupSteps, help: "linear warmup steps")
    static let decaySteps = FlagKey<Int?>("decay-steps", help: "cosine schedule length including warmup", shown: "none: constant")
    static let endLR = FlagKey<Double>("end-lr", default: base.endLearningRate, help: "learning rate at the end of the cosine")
    static let weightDecay = FlagKey<Double>("weight-decay", default: base.weightDecay, help: "decoupled weight decay (masked)")
    static let b1 = FlagKey<Double>("b1", default: base.b1, help: "Adam b1")
    static let b2 = FlagKey<Double>("b2", default: base.b2, help: "Adam b2")
    static let eps = FlagKey<Double>("eps", default: base.eps, help: "Adam eps")
    static let accumulate = FlagKey<Int>("accumulate", default: base.accumulate, help: "MultiSteps: mini-steps per update")
    static let ema = FlagKey<Double?>("ema", help: "model EMA decay (ema_v2), e.g. 0.9999", shown: "none")
    static let clip = FlagKey<Double?>("clip", help: "clip gradients to this global norm", shown: "none")
    static let repeats = FlagKey<Int>("repeat", default: 1, help: "apply it this many times")
    static let at = FlagKey<[Int]?>("at", help: "these optimizer steps (e.g. 0,10,100)")
    static let from = FlagKey<Int>("from", default: 0, help: "first step of the plot")
    static let to = FlagKey<Int?>("to", help: "last step of the plot", shown: "the schedule's end")
    static let plot = FlagKey<Bool>("plot", help: "draw a line plot (the default without --at)")

    static let all: [CommandSpec] = [
        CommandSpec(["optim", "adamw"], summary: "Set the optimizer: optax AdamW with the recipe's decay mask, a schedule, MultiSteps and EMA",
                    help: "Without --decay-steps the learning rate is constant (--lr). With --decay-steps D it is optax's warmup_cosine_decay_schedule(--init-lr, --lr, --warmup-steps, D, --end-lr), D counting the warmup. Weight decay skips biases and every LayerNorm, DepthWise and LayerScale parameter (the seed's mask). Setting the optimizer resets its state.",
                    flags: [lr, initLR, warmupSteps, decaySteps, endLR, weightDecay, b1, b2, eps, accumulate, ema, clip]) { invocation, context in
            var c = base
            c.peakLearningRate = invocation[lr]
            c.initLearningRate = invocation[initLR]
            c.warmupSteps = invocation[warmupSteps]
            if let v = invocation[decaySteps] { c.decaySteps = v }
            c.endLearningRate = invocation[endLR]
            c.weightDecay = invocation[weightDecay]
            c.b1 = invocation[b1]
            c.b2 = invocation[b2]
            c.eps = invocation[eps]
            c.accumulate = invocation[accumulate]
            c.emaDecay = invocation[ema]
            c.clipNorm = invocation[clip]
            try c.validate()
            _ = try c.transformation()
            context.state.optimizer = c
            context.state.resetOptimizerState()
            return .record(describe(c, context.state))
        },
        CommandSpec(["optim", "show"], summary: "The optimizer chain, its settings, and which parameters are decayed", mutates: false) { _, context in
            let c = try context.state.requireOptimizer()
            return .record(describe(c, context.state))
        },
        CommandSpec(["optim", "step"], summary: "Apply a gradient tree from a file through the optimizer (MultiSteps, EMA), N times",
                    help: "The file holds one tensor per parameter path (as `grad --out` writes them; a \"loss\" tensor is ignored). The way to see what AdamW does to given gradients and to check it against optax.",
                    arguments: [ArgumentSpec("grads", .path, "GRADS.safetensors")],
                    flags: [repeats]) { invocation, context in
            let (_, params) = try context.state.requireParameters()
            _ = try context.state.requireOptimizer()
            let grads = try ExchangeFiles.gradients(context.workbench.url(for: invocation.argument(0)!), for: params)
            let repeats = invocation[OptimCommands.repeats]
            guard repeats >= 1 else { throw ShellError("--repeat must be at least 1") }
            var rows: [[JSONValue]] = []
            var state = context.state
            for i in 1...repeats {
                try state.counters.checkRoomForStep()
                let r = try TrainEngine.applyGradients(&state, grads, step: state.counters.optimizerSteps + 1)
                rows.append([.int(i), .bool(r.applied), .float(r.learningRate), .float(r.updateRatio)])
            }
            context.state = state
            return .table(Table(title: "optim step × \(repeats)", columns: [.init("call"), .init("applied"), .init("lr"), .init("update/param")], rows: rows))
        },
        CommandSpec(["show", "lr"], summary: "The learning-rate schedule: values at steps, or a plot with warmup and end marked",
                    flags: [at, from, to, plot],
                    mutates: false) { invocation, context in
            let c = try context.state.requireOptimizer()
            let schedule = try c.schedule()
            if let at = invocation[OptimCommands.at], !invocation[plot] {
                guard at.allSatisfy({ $0 >= 0 }) else { throw ShellError("--at steps must be >= 0") }
                return .table(Table(title: "learning rate: \(schedule)", columns: [.init("step"), .init("lr")],
                                    rows: at.map { [.int($0), .float(schedule($0))] }))
            }
            let from = invocation[OptimCommands.from]
            let end = max(c.decaySteps, c.warmupSteps, 10)
            let to = invocation[OptimCommands.to] ?? end
            guard from >= 0, to > from else { throw ShellError("need 0 <= --from < --to, got \(from) and \(to)") }
            let n = min(to - from + 1, 400)
            let xs = (0..<n).map { from + ($0 * (to - from)) / max(n - 1, 1) }
            let marks = schedule.landmarks.filter { $0.step >= from && $0.step <= to }
                .map { Series.Mark(x: Double($0.step), label: "\($0.name) \(TextRenderer.float(schedule($0.step)))") }
            return .series(Series(title: "learning rate: \(schedule)", xLabel: "optimizer step", yLabel: "lr",
                                  x: xs.map(Double.init), y: xs.map { Double(schedule($0)) }, marks: marks))
        },
        CommandSpec(["show", "opt"], summary: "Adam moments (mu, nu) per parameter, or for one path",
                    arguments: [ArgumentSpec("path", .string, "a parameter path (or a unique part of one)", optional: true)],
                    mutates: false) { invocation, context in
            guard let s = context.state.optimizerState else {
                throw ShellError("no optimizer state yet: it is made on the first step after `optim adamw` (train, step or optim step)")
            }
            var mu: [String: Tensor] = [:], nu: [String: Tensor] = [:]
            var counts: [(String, JSONValue)] = []
            for (name, leaf) in s.flattened() {
                switch leaf {
                case .count(let c): counts.append((name, .int(Int(c))))
                case .tensor(let t):
                    if let r = name.range(of: "mu/") { mu[String(name[r.upperBound...])] = t }
                    if let r = name.range(of: "nu/") { nu[String(name[r.upperBound...])] = t }
                }
            }
            var paths = mu.keys.sorted()
            if let want = invocation.argument(0) {
                paths = paths.filter { $0 == want || $0.contains(want) }
                guard !paths.isEmpty else { throw ShellError("no parameter matches '\(want)'; see `model summary` for paths") }
            }
            let rows: [[JSONValue]] = paths.map { p in
                let m = mu[p]!.scalars, v = nu[p]!.scalars
                return [.string(p), .double(meanAbs(m)), .float(m.map(abs).max() ?? 0), .double(meanAbs(v)), .float(v.max() ?? 0)]
            }
            return .group([.record(Record(title: "optimizer counters", counts)),
                           .table(Table(title: "Adam moments", columns: [.init("path"), .init("mean |mu|"), .init("max |mu|"), .init("mean nu"), .init("max nu")], rows: rows))])
        },
        CommandSpec(["recipe", "seed"], summary: "Set optimizer, augmentations and drop path to the seed ConvNeXt-T recipe, scaled to the data",
                    help: "AdamW lr 0.004 peak, 20 warmup epochs of 300, end 1e-6, wd 0.05 masked, accumulate 4, EMA 0.9999, drop path 0.1, label smoothing 0.1, RandAugment/Mixup/CutMix/erasing, model dtype bfloat16 (`model build … --dtype f32` after it for float32; on a CPU without avx512_bf16 its GEMMs run emulated: the same bits, slower). Epochs become optimizer steps with the session's batch size and the data's training-set size (ImageNet's when no data is set).") { _, context in
            var recipe = Recipe.seed
            let size = context.state.data?.splits.train.count ?? Recipe.imageNetTrainSize
            if let data = context.state.data { recipe.batchSize = data.batchSize }
            context.state.optimizer = try recipe.optimizer(datasetSize: size)
            context.state.resetOptimizerState()
            context.state.data?.augment = recipe.augment
            // The recipe's model: its drop path, and dtype bfloat16 (float32 params, the seed's bf16 γ).
            if let model = context.state.modelConfig {
                let config = recipe.model(model)
                context.state.modelConfig = config
                if model.dtype != .bf16 {
                    if let params = context.state.params { context.state.params = try ConvNeXt(config: config).heldParameters(params) }
                    return .group([.table(recipeTable(recipe, datasetSize: size)), .message("model dtype set to bfloat16 as the recipe's; \(CPUCheck.bf16Note)")])
                }
            }
            return .table(recipeTable(recipe, datasetSize: size))
        },
        CommandSpec(["recipe", "show"], summary: "Every value of the seed recipe and where it comes from", mutates: false) { _, context in
            var recipe = Recipe.seed
            if let data = context.state.data { recipe.batchSize = data.batchSize }
            return .table(recipeTable(recipe, datasetSize: context.state.data?.splits.train.count ?? Recipe.imageNetTrainSize))
        },
    ]

    static func recipeTable(_ recipe: Recipe, datasetSize: Int) -> Table {
        let entries = (try? recipe.entries(datasetSize: datasetSize)) ?? []
        return Table(title: "seed recipe (ConvNeXt-T, NobuoTsukamoto/jax_examples)", columns: [.init("setting"), .init("value"), .init("source")],
                     rows: entries.map { [.string($0.name), .string($0.value), .string($0.source)] })
    }

    static func meanAbs(_ v: [Float]) -> Double { v.isEmpty ? 0 : v.reduce(0.0) { $0 + Double(abs($1)) } / Double(v.count) }

    static func describe(_ c: OptimizerConfig, _ state: WorkbenchState) -> Record {
        var fields: [(String, JSONValue)] = [
            ("chain", .string((try? c.transformation().description) ?? "?")),
            ("schedule", .string((try? c.schedule().description) ?? "?")),
            ("weight_decay", .double(c.weightDecay)), ("no_decay_for", .string(c.decayExclude.joined(separator: ", "))),
            ("accumulate", .int(c.accumulate)), ("ema", c.emaDecay.map { .double($0) } ?? .null),
            ("clip", c.clipNorm.map { .double($0) } ?? .null),
        ]
        if let model = try? state.requireModel() {
            let mask = ParameterMask.excluding(c.decayExclude)
            let specs = model.parameterSpecs()
            let decayed = specs.filter { mask.contains($0.path) }
            fields.append(("decayed", .string("\(decayed.count) of \(specs.count) arrays, \(TextRenderer.thousands(decayed.reduce(0) { $0 + $1.count })) parameters")))
            fields.append(("decayed_examples", .array(decayed.prefix(3).map { .string($0.path) })))
            fields.append(("not_decayed_examples", .array(specs.filter { !mask.contains($0.path) }.prefix(3).map { .string($0.path) })))
        }
        return Record(title: "optimizer", fields)
    }
}
