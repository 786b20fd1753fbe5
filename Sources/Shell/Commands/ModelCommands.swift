import Foundation
import JSON
import JaxRandom
import Models
import SafeTensors
import Tensors
import Training

/// `model …`, `params …`, `forward`, `grad`: building, initialising,
/// inspecting and exchanging ConvNeXt models (issue 5).
enum ModelCommands {
    static let variants = ConvNeXtConfig.variantNames + ["convnext"]
    static let naming = FlagKey<ParameterNaming>("naming", default: .flax, help: "parameter names: Flax paths or timm state-dict names")
    static let classes = FlagKey<Int>("classes", default: 1000, help: "output classes")
    static let imageSize = FlagKey<Int>("image-size", default: 224, help: "input height and width (FLOPs, memory and data size)")
    static let dropPath = FlagKey<Double?>("drop-path", help: "the last block's stochastic-depth rate (linspace from 0)", shown: "the variant's")
    static let headDropout = FlagKey<Double>("head-dropout", default: 0, help: "dropout before the head")
    static let depths = FlagKey<[Int]?>("depths", help: "blocks per stage (convnext only)")
    static let dims = FlagKey<[Int]?>("dims", help: "channels per stage (convnext only)")
    static let kernelSize = FlagKey<Int>("kernel-size", default: 7, help: "depthwise kernel size (odd)")
    static let summarySize = FlagKey<Int?>("image-size", help: "count MACs at this input size", shown: "the model's")
    static let out = FlagKey<String?>("out", help: "OUT.safetensors to write", kind: .path)
    static let train = FlagKey<Bool>("train", help: "train mode")
    static let dtype = FlagKey<ModelDType>("dtype", default: .f32, help: "compute dtype: f32, or bf16 as Flax's dtype=bfloat16 (params stay float32; docs/bf16.md)")
    static let gammaF32 = FlagKey<Bool>("gamma-f32", help: "with bf16: keep LayerScale γ in float32 (switches off the seed's quirk of a bf16 γ)")

    static let all: [CommandSpec] = [
        CommandSpec(["model", "build"], summary: "Build a ConvNeXt: a named variant, or `convnext` with --depths and --dims",
                    help: "Variants: \(ConvNeXtConfig.variants.map { "\($0.name) \($0.depths)x\($0.dims)" }.joined(separator: ", ")). Building replaces the model; its parameters are cleared until `model init` or `params import`. Building, `model init` and `params import` each start a new training run: steps, data cursor, metrics, evaluations, a step in progress and the optimizer and EMA state start over (one line says what ended; `runs` keeps finished runs). --dtype bf16 computes as Flax's dtype=bfloat16 does on XLA:CPU (docs/bf16.md); its convs and Dense layers run on AVX512-BF16 (vdpbf16ps) where the CPU has it, else emulated in float32 FMAs (the same bits, slower), and the command says which.",
                    arguments: [ArgumentSpec("variant", .choice(variants), "atto femto pico nano tiny small base large, or convnext")],
                    flags: [classes, imageSize, dropPath, headDropout, depths, dims, kernelSize, dtype, gammaF32]) { invocation, context in
            let config = try buildConfig(invocation)
            let model = try ConvNeXt(config: config)
            let ended = context.state.endRun()
            context.state.modelConfig = config
            context.state.params = nil
            return .record(Record(title: "model built", RunCommands.noted(ended, [
                ("variant", .string(config.variantName.map { "convnext_\($0)" } ?? "custom")),
                ("depths", .array(config.depths.map { .int($0) })), ("dims", .array(config.dims.map { .int($0) })),
                ("classes", .int(config.classes)), ("image_size", .int(config.imageSize)),
                ("drop_path", .double(config.dropPathRate)), ("head_dropout", .double(config.headDropout)),
                ("parameters", .int(model.parameterCount)), ("gmacs_per_image", .double(Double(model.macsPerImage()) / 1e9)),
                ("dtype", .string(config.dtypeDescription)),
                ("next", .string("model init (uses the params key: rng show)")),
            ] + (ComputeEstimate.warning(model, data: context.state.data).map { [("warning", .string($0))] } ?? [])
              + (config.dtype == .bf16 ? [("note", .string(CPUCheck.bf16Note))] : []))))
        },
        CommandSpec(["model", "init"], summary: "Initialise the parameters from the params key, exactly as Flax would",
                    help: "Starts a new training run: steps, data cursor, metrics, evaluations and the optimizer state start over; a run that took steps is kept for `runs`.") { _, context in
            let model = try context.state.requireModel()
            try MemoryBudget.checkParameters(model)
            let key = try context.state.keys.draw(KeyTree.params).key
            let start = Date()
            let params = model.initialize(paramsKey: key)
            let ended = context.state.endRun()
            context.state.params = params
            context.state.markRunStart()
            return .record(Record(title: "parameters initialised", RunCommands.noted(ended, [
                ("params_key", KeyWords.json(key)),
                ("arrays", .int(params.count)), ("parameters", .int(params.scalarCount)),
                ("seconds", .double(Date().timeIntervalSince(start))),
            ]), formats: ["params_key": .keyWords]))
        },
        CommandSpec(["model", "summary"], summary: "Every layer: path, output shape, parameters and MACs per image, with totals",
                    flags: [summarySize],
                    mutates: false) { invocation, context in
            let model = try context.state.requireModel()
            let size = invocation[summarySize] ?? model.config.imageSize
            guard size >= 1 else { throw ShellError("--image-size must be at least 1") }
            let rows = model.layerSummary(imageSize: size)
            let table = Table(title: "ConvNeXt \(model.config.variantName ?? "custom") at \(size)x\(size)",
                              columns: [.init("path"), .init("kind"), .init("output"), .init("params"), .init("MACs")],
                              rows: rows.map { [.string($0.path), .string($0.kind),
                                                .string($0.outputShape.map(String.init).joined(separator: "x")),
                                                .int($0.parameters), .int($0.macs)] },
                              footer: [.string("total"), .string(""), .string(""),
                                       .int(model.parameterCount), .int(model.macsPerImage(imageSize: size))])
            return .group([.table(table), .message(String(format: "%.2fM parameters, %.3f GMACs per image", Double(model.parameterCount) / 1e6, Double(model.macsPerImage(imageSize: size)) / 1e9)
                                                   + "; dtype \(model.config.dtypeDescription)")])
        },
        CommandSpec(["params", "export"], summary: "Write the parameters to a safetensors file (Flax or timm names)",
                    arguments: [ArgumentSpec("file", .path, "FILE.safetensors")], flags: [naming], mutates: false) { invocation, context in
            let (model, params) = try context.state.requireParameters()
            let url = context.workbench.url(for: invocation.argument(0)!)
            let naming = invocation[ModelCommands.naming]
            try model.saveParameters(params, naming: naming, to: url)
            return .message("wrote \(params.count) tensors (\(TextRenderer.thousands(params.scalarCount)) parameters, \(naming.rawValue) names) to \(url.path)")
        },
        CommandSpec(["params", "import"], summary: "Load parameters from a safetensors file, validated against the model",
                    help: "Every tensor must be present with the right shape; on any problem the live parameters stay as they were. A successful import starts a new training run, as `model init` does.",
                    arguments: [ArgumentSpec("file", .path, "FILE.safetensors")], flags: [naming]) { invocation, context in
            let model = try context.state.requireModel()
            let url = context.workbench.url(for: invocation.argument(0)!)
            let naming = invocation[ModelCommands.naming]
            let params = try model.loadParameters(from: url, naming: naming)
            let ended = context.state.endRun()
            context.state.params = params
            context.state.markRunStart()
            let imported = "imported \(params.count) tensors (\(TextRenderer.thousands(params.scalarCount)) parameters, \(naming.rawValue) names) from \(url.path)"
            return .message(ended.map { "\(imported)\n\($0)" } ?? imported)
        },
        CommandSpec(["forward"], summary: "Run the model on \"x\" from a safetensors file and write \"logits\"",
                    help: "--train applies stochastic depth and dropout with the keys now named dropout and stochastic_depth as the apply rngs, like model.apply(..., rngs={...}); it consumes nothing.",
                    arguments: [ArgumentSpec("input", .path, "IN.safetensors holding x [B,H,W,3] (NHWC)")],
                    flags: batchFileFlags, mutates: false, computes: true) { invocation, context in
            let b = try batchInputs(invocation, context, needLabels: false)
            let (logits, _) = b.model.forward(b.x, params: b.params, train: b.train, rngs: b.rngs)
            let out = try writeOutput([("logits", logits)], invocation, context)
            return .record(Record(title: "forward (\(b.train ? "train" : "eval"))", [
                ("logits", .string(logits.shape.map(String.init).joined(separator: "x"))),
                ("first", .array(logits.scalars.prefix(6).map { .float($0) })), ("written", .string(out.path)),
            ]))
        },
        CommandSpec(["grad"], summary: "Loss and the gradient of every parameter for \"x\" and soft \"labels\" from a file",
                    help: "Writes \"loss\" and one tensor per parameter path. --train as for forward.",
                    arguments: [ArgumentSpec("input", .path, "IN.safetensors holding x [B,H,W,3] and labels [B,classes]")],
                    flags: batchFileFlags, mutates: false, computes: true) { invocation, context in
            let b = try batchInputs(invocation, context, needLabels: true)
            let r = b.model.valueAndGradient(b.x, labels: b.labels!, params: b.params, train: b.train, rngs: b.rngs)
            let out = try writeOutput([("loss", Tensor(scalar: r.loss))] + r.grads.map { ($0, $1) }, invocation, context)
            return .record(Record(title: "grad (\(b.train ? "train" : "eval"))", [
                ("loss", .float(r.loss)), ("gradients", .int(r.grads.count)), ("written", .string(out.path)),
            ]))
        },
        CommandSpec(["show", "droppath"], summary: "Every block's stochastic-depth rate (stage, index), as a table and a sparkline",
                    mutates: false) { _, context in
            let model = try context.state.requireModel()
            let blocks = model.blocks
            let rows: [[JSONValue]] = blocks.map {
                [.string($0.name), .int($0.stage + 1), .int($0.index + 1), .double($0.dropPathRate),
                 .double(Double(1 - Float($0.dropPathRate)))]
            }
            let spark = Series(title: "drop-path rate by block", xLabel: "block", yLabel: "rate",
                               x: blocks.map { Double($0.globalIndex) }, y: blocks.map(\.dropPathRate), plot: false)
            return .group([.table(Table(title: "stochastic depth (linspace 0 … \(model.config.dropPathRate) over \(blocks.count) blocks)",
                                        columns: [.init("block"), .init("stage"), .init("index"), .init("drop rate"), .init("keep prob")],
                                        rows: rows)),
                           .series(spark)])
        },
        CommandSpec(["show", "layerscale"], summary: "LayerScale γ per block (mean |γ|, min, max, sparkline) with mean |γ| by block, or one block's full vector",
                    arguments: [ArgumentSpec("block", .string, "a block name (e.g. BottleneckConvNeXtBlock_01_01) or its 1-based number", optional: true)],
                    mutates: false) { invocation, context in
            let (model, params) = try context.state.requireParameters()
            let blocks = model.blocks
            let view = model.params(params)
            func gamma(_ b: ConvNeXt.BlockInfo) -> Tensor { view.stages[b.stage].blocks[b.index].gamma }
            if let which = invocation.argument(0) {
                let block: ConvNeXt.BlockInfo
                if let n = Int(which), n >= 1, n <= blocks.count {
                    block = blocks[n - 1]
                } else if let b = blocks.first(where: { $0.name == which || $0.name.hasSuffix(which) }) {
                    block = b
                } else {
                    throw ShellError("no block '\(which)'\(Suggestion.hint(which, blocks.map(\.name))): give 1…\(blocks.count) or a name like \(blocks[0].name)")
                }
                let gamma = gamma(block).scalars
                let path = model.layout.stages[block.stage].blocks[block.index].gamma.path
                return .group([.record(Record(title: "\(path) (\(gamma.count) channels)", [
                    ("values", .array(gamma.map { .float($0) }))])),
                               .series(Series(title: "γ by channel", xLabel: "channel", yLabel: "γ",
                                              x: gamma.indices.map(Double.init), y: gamma.map(Double.init), plot: false))])
            }
            let meanAbs = blocks.map { b in
                let g = gamma(b).scalars
                return g.reduce(0.0) { $0 + Double(abs($1)) } / Double(g.count)
            }
            let rows: [[JSONValue]] = zip(blocks, meanAbs).map { b, mean in
                let g = gamma(b).scalars
                return [.string(b.name), .double(mean), .float(g.min()!), .float(g.max()!),
                        .string(Plot.sparkline(g.map(Double.init), width: 24))]
            }
            // The blocks' mean |γ| as a series too: a sparkline here, a chart in a notebook.
            return .group([.table(Table(title: "LayerScale γ per block (init \(model.config.layerScaleInit))",
                                        columns: [.init("block"), .init("mean |γ|"), .init("min"), .init("max"), .init("channels")],
                                        rows: rows)),
                           .series(Series(title: "mean |γ| by block", xLabel: "block", yLabel: "mean |γ|",
                                          x: blocks.indices.map { Double($0 + 1) }, y: meanAbs, plot: false))])
        },
    ]

    static func buildConfig(_ invocation: Invocation) throws -> ConvNeXtConfig {
        let name = invocation.argument(0)!
        let classes = invocation[ModelCommands.classes]
        let size = invocation[imageSize]
        var config: ConvNeXtConfig
        if name == "convnext" {
            guard let depths = invocation[ModelCommands.depths], let dims = invocation[ModelCommands.dims] else {
                throw ShellError("`model build convnext` needs --depths and --dims, e.g. --depths 1,1,2,1 --dims 16,32,48,64")
            }
            config = ConvNeXtConfig(depths: depths, dims: dims, classes: classes, imageSize: size,
                                    dropPathRate: invocation[dropPath] ?? 0)
        } else {
            if invocation[depths] != nil || invocation[dims] != nil {
                throw ShellError("--depths and --dims go with `model build convnext`; a named variant fixes them")
            }
            config = try ConvNeXtConfig.variant(name, classes: classes, imageSize: size,
                                                dropPathRate: invocation[dropPath])
        }
        config.headDropout = invocation[headDropout]
        config.kernelSize = invocation[kernelSize]
        config.dtype = invocation[dtype]
        if invocation[gammaF32] {
            guard config.dtype == .bf16 else { throw ShellError("--gamma-f32 goes with --dtype bf16 (a float32 model's γ is float32 already)") }
            config.bf16LayerScale = false
        }
        try config.validate()
        return config
    }

    /// `forward`'s and `grad`'s flags.
    static let batchFileFlags: [any FlagDeclaration] = [out, train]

    /// What `forward` and `grad` run on: the live model and parameters, the
    /// batch file's x (and labels), and the apply rngs with --train.
    static func batchInputs(_ invocation: Invocation, _ context: CommandContext, needLabels: Bool) throws
        -> (model: ConvNeXt, params: TensorTree, x: Tensor, labels: Tensor?, rngs: ApplyRNGs?, train: Bool) {
        let (model, params) = try context.state.requireParameters()
        let (x, labels) = try ExchangeFiles.batchInputs(context.workbench.url(for: invocation.argument(0)!), model: model, needLabels: needLabels)
        return (model, params, x, labels, try applyRNGs(invocation, context.state), invocation[train])
    }

    /// Writes `tensors` to --out with the pass's mode as metadata; returns the file.
    static func writeOutput(_ tensors: [(String, Tensor)], _ invocation: Invocation, _ context: CommandContext) throws -> URL {
        let out = try outURL(invocation, context)
        let dtype = context.state.modelConfig?.dtype.jaxName ?? "float32"
        try SafeTensorsFile.write(tensors, metadata: ["mode": invocation[train] ? "train" : "eval", "dtype": dtype], to: out)
        return out
    }

    static func applyRNGs(_ invocation: Invocation, _ state: WorkbenchState) throws -> ApplyRNGs? {
        guard invocation[train] else { return nil }
        return ApplyRNGs(dropout: try state.keys.key(KeyTree.dropout),
                         stochasticDepth: try state.keys.key(KeyTree.stochasticDepth))
    }

    static func outURL(_ invocation: Invocation, _ context: CommandContext) throws -> URL {
        guard let out = invocation[ModelCommands.out] else {
            throw ShellError("'\(invocation.spec.name)' needs --out OUT.safetensors")
        }
        return context.workbench.url(for: out)
    }
}
