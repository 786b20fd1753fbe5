import Foundation
import Optimizers
import SafeTensors
import Sessions
import Tensors
import Training

/// `optim …`, `show lr`, `show opt`, `recipe …`: the optimizer (issue 6).
enum OptimCommands {
    static let all: [CommandSpec] = [
        CommandSpec(["optim", "adamw"], summary: "Set the optimizer: optax AdamW with the recipe's decay mask, a schedule, MultiSteps and EMA",
                    help: "Without --decay-steps the learning rate is constant (--lr). With --decay-steps D it is optax's warmup_cosine_decay_schedule(--init-lr, --lr, --warmup-steps, D, --end-lr), D counting the warmup. Weight decay skips biases and every LayerNorm, DepthWise and LayerScale parameter (the seed's mask). Setting the optimizer resets its state.",
                    flags: [FlagSpec("lr", .double, "peak learning rate", default: "0.004"),
                            FlagSpec("init-lr", .double, "learning rate at step 0 of the warmup", default: "0"),
                            FlagSpec("warmup-steps", .int, "linear warmup steps", default: "0"),
                            FlagSpec("decay-steps", .int, "cosine schedule length including warmup", default: "none: constant"),
                            FlagSpec("end-lr", .double, "learning rate at the end of the cosine", default: "1e-6"),
                            FlagSpec("weight-decay", .double, "decoupled weight decay (masked)", default: "0.05"),
                            FlagSpec("b1", .double, "Adam b1", default: "0.9"), FlagSpec("b2", .double, "Adam b2", default: "0.999"),
                            FlagSpec("eps", .double, "Adam eps", default: "1e-8"),
                            FlagSpec("accumulate", .int, "MultiSteps: mini-steps per update", default: "1"),
                            FlagSpec("ema", .double, "model EMA decay (ema_v2), e.g. 0.9999", default: "none"),
                            FlagSpec("clip", .double, "clip gradients to this global norm", default: "none")]) { invocation, context in
            var c = OptimizerConfig()
            if let v = invocation.double("lr") { c.peakLearningRate = v }
            if let v = invocation.double("init-lr") { c.initLearningRate = v }
            if let v = invocation.int("warmup-steps") { c.warmupSteps = v }
            if let v = invocation.int("decay-steps") { c.decaySteps = v }
            if let v = invocation.double("end-lr") { c.endLearningRate = v }
            if let v = invocation.double("weight-decay") { c.weightDecay = v }
            if let v = invocation.double("b1") { c.b1 = v }
            if let v = invocation.double("b2") { c.b2 = v }
            if let v = invocation.double("eps") { c.eps = v }
            if let v = invocation.int("accumulate") { c.accumulate = v }
            c.emaDecay = invocation.double("ema")
            c.clipNorm = invocation.double("clip")
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
                    flags: [FlagSpec("repeat", .int, "apply it this many times", default: "1")]) { invocation, context in
            let (model, params) = try context.state.requireParameters()
            _ = try context.state.requireOptimizer()
            let url = context.workbench.url(for: invocation.argument(0)!)
            let file = try SafeTensorsFile.read(url)
            var grads = TensorTree()
            for path in params.paths {
                guard file.names.contains(path) else {
                    throw ShellError("\(url.lastPathComponent) has no gradient for \(path) (\(file.names.count) tensors in the file)")
                }
                let g = try file.tensor(path)
                guard g.shape == params[path]!.shape else {
                    throw ShellError("gradient \(path) has shape \(g.shape); the parameter has \(params[path]!.shape)")
                }
                grads[path] = g
            }
            if let extra = file.names.first(where: { $0 != "loss" && params[$0] == nil }) {
                throw ShellError("\(url.lastPathComponent) holds '\(extra)', which is not a parameter of this model")
            }
            _ = model
            let repeats = invocation.int("repeat") ?? 1
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
                    flags: [FlagSpec("at", .intList, "these optimizer steps (e.g. 0,10,100)"),
                            FlagSpec("from", .int, "first step of the plot", default: "0"),
                            FlagSpec("to", .int, "last step of the plot", default: "the schedule's end"),
                            FlagSpec("plot", .bool, "draw a line plot (the default without --at)")],
                    mutates: false) { invocation, context in
            let c = try context.state.requireOptimizer()
            let schedule = try c.schedule()
            if let at = invocation.intList("at"), !invocation.has("plot") {
                guard at.allSatisfy({ $0 >= 0 }) else { throw ShellError("--at steps must be >= 0") }
                return .table(Table(title: "learning rate: \(schedule)", columns: [.init("step"), .init("lr")],
                                    rows: at.map { [.int($0), .float(schedule($0))] }))
            }
            let from = invocation.int("from") ?? 0
            let end = max(c.decaySteps, c.warmupSteps, 10)
            let to = invocation.int("to") ?? end
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
                    help: "AdamW lr 0.004 peak, 20 warmup epochs of 300, end 1e-6, wd 0.05 masked, accumulate 4, EMA 0.9999, drop path 0.1, label smoothing 0.1, RandAugment/Mixup/CutMix/erasing. Epochs become optimizer steps with the session's batch size and the data's training-set size (ImageNet's when no data is set).") { _, context in
            var recipe = Recipe.seed
            let size = context.state.data?.splits.train.count ?? Recipe.imageNetTrainSize
            if let data = context.state.data { recipe.batchSize = data.batchSize }
            context.state.optimizer = try recipe.optimizer(datasetSize: size)
            context.state.resetOptimizerState()
            context.state.data?.augment = recipe.augment
            if let model = context.state.modelConfig { context.state.modelConfig = recipe.model(model) }
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
