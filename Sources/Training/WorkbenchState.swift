import Datasets
import JaxRandom
import Models
import Optimizers
import Tensors

/// Everything a live session holds: the key tree, the model, its parameters,
/// the optimizer and its state, the data, the counters and the metric history.
///
/// A value: copying it is a snapshot, free until written (tensors are
/// copy-on-write). The shell keeps the live one on its compute queue and
/// publishes copies for inspection; sessions save and load it whole.
public struct WorkbenchState: Sendable {
    /// The session's named PRNG keys (`rng …`).
    public var keys = KeyTree(seed: 42)
    /// The model's configuration (`model build`).
    public var modelConfig: ConvNeXtConfig? { didSet { declareOptimizer() } }
    /// The model's parameters by Flax path (`model init`, `params import`).
    public var params: TensorTree?
    /// The optimizer settings (`optim adamw`).
    public var optimizer: OptimizerConfig? { didSet { declareOptimizer() } }
    /// `optimizer` declared for the model, made when either changes (DeclaredOptimizer.swift).
    public private(set) var declaredOptimizer: DeclaredOptimizer?
    /// The optimizer's state (Adam moments, MultiSteps accumulators, counts);
    /// made on the first step after parameters or settings change.
    public var optimizerState: OptimizerState?
    /// The model EMA's state (count and the stored average), when `--ema` is set.
    public var emaState: OptimizerState?
    /// The data (`data synthetic`, `data imagefolder`).
    public var data: DataSetup?
    /// Steps, updates and the data cursor.
    public var counters = TrainCounters()
    /// Every train step's metrics, in order.
    public var history: [StepMetrics] = []
    /// Every evaluation, in order.
    public var evaluations: [EvalMetrics] = []
    /// What the last completed step did (grads, updates, activations).
    public var lastStep: StepDetail?
    /// A train step taken in stages (`step forward`, …) and not yet completed.
    public var pending: PendingStep?
    /// The current run's number, the finished runs, and how the current one
    /// started (RunHistory.swift).
    public var runLog = RunLog()

    public init() {}

    /// The built model, or an error saying how to build one.
    public func requireModel() throws -> ConvNeXt {
        guard let config = modelConfig else {
            throw WorkbenchError("no model yet: build one with `model build tiny` (or `model build convnext --depths 1,1,2,1 --dims 16,32,48,64`)")
        }
        return try ConvNeXt(config: config)
    }

    /// The model and its parameters, or an error saying what is missing.
    public func requireParameters() throws -> (model: ConvNeXt, params: TensorTree) {
        let model = try requireModel()
        guard let params else {
            throw WorkbenchError("the model has no parameters yet: run `model init` (or `params import FILE`)")
        }
        return (model, params)
    }

    /// The optimizer settings, or an error saying how to set them.
    public func requireOptimizer() throws -> OptimizerConfig {
        guard let optimizer else {
            throw WorkbenchError("no optimizer yet: set one with `optim adamw` (e.g. `optim adamw --lr 0.004 --warmup-steps 20 --decay-steps 300`)")
        }
        return optimizer
    }

    /// The optimizer declared for the model: the one made when the model or the
    /// settings last changed. Throws what `requireOptimizer` throws, or the
    /// settings' own error when they do not make a chain.
    public func requireDeclaredOptimizer() throws -> DeclaredOptimizer {
        let config = try requireOptimizer()
        if let declaredOptimizer, declaredOptimizer.config == config { return declaredOptimizer }
        return try DeclaredOptimizer(config: config, model: try requireModel())
    }

    /// Re-declares the optimizer after the model or its settings changed
    /// (nil while either is missing or the settings make no chain).
    private mutating func declareOptimizer() {
        guard let optimizer, let modelConfig, let model = try? ConvNeXt(config: modelConfig) else {
            declaredOptimizer = nil
            return
        }
        declaredOptimizer = try? DeclaredOptimizer(config: optimizer, model: model)
    }

    /// The data, or an error saying how to add it.
    public func requireData() throws -> DataSetup {
        guard let data else {
            throw WorkbenchError("no data yet: add some with `data synthetic` (the embedded set) or `data imagefolder DIR`")
        }
        return data
    }

    /// The data-order and augmentation key (`data` in the key tree:
    /// `split(root, 5)[4]`, or `split(root, 4)[3]` in sessions saved before
    /// the seed's training keys).
    public func dataKey() throws -> PRNGKey {
        try keys.key(KeyTree.data)
    }

    /// Forgets training progress tied to the current parameters or optimizer
    /// settings: optimizer and EMA state (and so the schedule's step count), a
    /// pending step. Called when either is replaced.
    public mutating func resetOptimizerState() {
        optimizerState = nil
        emaState = nil
        pending = nil
        counters.optimizerSteps = 0
    }
}

/// A workbench-level problem, in one line with what to do.
public struct WorkbenchError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
