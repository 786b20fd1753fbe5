/// The seed's ConvNeXt-T training recipe (`configs/imagenet_convnext_t_v1_tpu.py`
/// of NobuoTsukamoto/jax_examples, as `../shared/golden/README.md` describes it),
/// as values that can be scaled to a dataset's size. Every value says where it
/// comes from (`entries`).
///
/// Epoch-based settings become optimizer steps through
/// `stepsPerEpoch = ceil(datasetSize / (batchSize * accumulationSteps))`:
/// the schedule counts optimizer updates, which happen once per
/// `accumulationSteps` mini-batches because adamw sits inside `MultiSteps`.
/// For ImageNet (1,281,167 images) that is 313, so warmup is 6,260 and decay
/// 93,900 steps, the seed's numbers.
public struct Recipe: Sendable, Equatable, Codable {
    // Optimizer and schedule.
    public var peakLearningRate = 0.004
    public var initLearningRate = 0.0
    public var endLearningRate = 1e-6
    public var warmupEpochs = 20.0
    public var epochs = 300.0
    public var weightDecay = 0.05
    public var decayExclude = ParameterMask.seedExclude
    public var b1 = 0.9
    public var b2 = 0.999
    public var eps = 1e-8
    public var clipNorm: Double? = nil
    // Batching.
    public var batchSize = 1024
    public var accumulationSteps = 4
    // Model.
    public var emaDecay: Double? = 0.9999
    public var dropPathRate = 0.1
    public var imageSize = 224
    // Labels and augmentation.
    public var labelSmoothing = 0.1
    public var randAugmentLayers = 2
    public var randAugmentMagnitude = 9.0
    public var randAugmentMagnitudeStd = 0.5
    public var randAugmentCutoutConst = 40.0
    public var randAugmentTranslateConst = 250.0
    public var randAugmentExcludeOps = ["Cutout"]
    public var mixupAlpha = 0.8
    public var cutmixAlpha = 1.0
    public var mixupCutmixProb = 1.0
    public var mixupCutmixSwitchProb = 0.5
    public var randomErasingProb = 0.25
    public var randomErasingMinArea = 0.02
    public var randomErasingMaxArea = 1.0 / 3.0
    public var randomErasingMinAspect = 0.3
    public var randomErasingMinCount = 1
    public var randomErasingMaxCount = 1
    public var randomErasingTrials = 10
    public var seed = 42

    public init() {}

    /// The seed recipe.
    public static let seed = Recipe()

    /// ImageNet-1k's training-set size, the dataset the seed recipe was written for.
    public static let imageNetTrainSize = 1_281_167

    /// Optimizer steps per epoch: `ceil(datasetSize / (batchSize * accumulationSteps))`.
    public func stepsPerEpoch(datasetSize: Int) throws -> Int {
        guard datasetSize > 0 else { throw OptimizerError("dataset size must be > 0, got \(datasetSize)") }
        guard batchSize > 0, accumulationSteps > 0 else {
            throw OptimizerError("batch size and accumulation steps must be > 0 (got \(batchSize) x \(accumulationSteps))")
        }
        let perStep = batchSize * accumulationSteps
        return (datasetSize + perStep - 1) / perStep
    }

    /// Warmup and decay lengths in optimizer steps.
    public func scheduleSteps(datasetSize: Int) throws -> (warmup: Int, decay: Int) {
        let spe = Double(try stepsPerEpoch(datasetSize: datasetSize))
        return (Int((warmupEpochs * spe).rounded(.down)), Int((epochs * spe).rounded(.down)))
    }

    /// `warmup_cosine_decay_schedule(init, peak, warmup, decay, end)` scaled to the dataset.
    public func schedule(datasetSize: Int) throws -> Schedule {
        let (w, d) = try scheduleSteps(datasetSize: datasetSize)
        return try .warmupCosineDecay(initValue: initLearningRate, peakValue: peakLearningRate,
                                      warmupSteps: w, decaySteps: d, endValue: endLearningRate)
    }

    /// The optimizer: `[clip_by_global_norm] -> adamw(schedule, masked decay)`, inside
    /// `MultiSteps(accumulationSteps)` when accumulating.
    public func optimizer(datasetSize: Int) throws -> any GradientTransformation {
        var tx: any GradientTransformation = adamw(try schedule(datasetSize: datasetSize), b1: b1, b2: b2, eps: eps,
                                                   weightDecay: weightDecay, mask: .excluding(decayExclude),
                                                   contraction: accumulationSteps > 1 ? .moment : .gradient)
        if let clipNorm { tx = Chain([ClipByGlobalNorm(maxNorm: clipNorm), tx]) }
        return accumulationSteps > 1 ? try MultiSteps(tx, everyK: accumulationSteps) : tx
    }

    /// The model EMA (`ema_v2`), if the recipe keeps one.
    public var ema: EMA? { emaDecay.map { EMA(decay: $0, kind: .v2) } }

    /// One line of `recipe show`: a setting, its value, and where it comes from.
    public struct Entry: Sendable, Equatable, Codable {
        public var name: String
        public var value: String
        public var source: String
    }

    /// Every setting with its value and source; step counts are included when
    /// `datasetSize` is given.
    public func entries(datasetSize: Int? = nil) throws -> [Entry] {
        let cfg = "seed config imagenet_convnext_t_v1_tpu.py"
        let golden = "golden/README.md (seed recipe)"
        func f(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)" }
        var e: [Entry] = [
            Entry(name: "optimizer", value: "adamw (b1 \(f(b1)), b2 \(f(b2)), eps \(eps))", source: "\(cfg): optimizer; optax.adamw defaults"),
            Entry(name: "lr.peak", value: "\(peakLearningRate)", source: "\(cfg): learning_rate"),
            Entry(name: "lr.init", value: "\(initLearningRate)", source: "default config: initial_learning_rate"),
            Entry(name: "lr.end", value: "\(endLearningRate)", source: "\(cfg): end_learning_rate"),
            Entry(name: "lr.schedule", value: "warmup_cosine_decay", source: "default config: optimizer_schedule"),
            Entry(name: "warmup_epochs", value: f(warmupEpochs), source: "\(cfg): warmup_epochs"),
            Entry(name: "epochs", value: f(epochs), source: "\(cfg): num_epochs"),
            Entry(name: "weight_decay", value: "\(weightDecay)", source: "\(cfg): weight_decay"),
            Entry(name: "weight_decay.exclude", value: decayExclude.joined(separator: ","), source: "seed optimizer.py decay mask (golden/README.md)"),
            Entry(name: "clip_norm", value: clipNorm.map { "\($0)" } ?? "none", source: "not in the seed recipe (optional)"),
            Entry(name: "batch_size", value: "\(batchSize)", source: golden),
            Entry(name: "accumulate", value: "\(accumulationSteps)", source: "\(golden): optax.MultiSteps(every_k_schedule)"),
            Entry(name: "ema", value: emaDecay.map { "ema_v2 \($0)" } ?? "none", source: "\(cfg): model_ema v2, model_ema_decay"),
            Entry(name: "drop_path", value: "\(dropPathRate)", source: "\(cfg): init_stochastic_depth_rate"),
            Entry(name: "image_size", value: "\(imageSize)", source: "default config: image_size"),
            Entry(name: "label_smoothing", value: "\(labelSmoothing)", source: "\(cfg): mixup_and_cutmix_label_smoothing"),
            Entry(name: "randaug", value: "layers \(randAugmentLayers), magnitude \(f(randAugmentMagnitude)), std \(randAugmentMagnitudeStd), cutout \(f(randAugmentCutoutConst)), translate \(f(randAugmentTranslateConst)), exclude \(randAugmentExcludeOps.joined(separator: ","))",
                  source: "\(cfg): randaug_*"),
            Entry(name: "mixup_cutmix", value: "mixup alpha \(mixupAlpha), cutmix alpha \(cutmixAlpha), prob \(mixupCutmixProb), switch \(mixupCutmixSwitchProb)",
                  source: "\(cfg): mixup_and_cutmix_*"),
            Entry(name: "random_erasing", value: "prob \(randomErasingProb), area \(randomErasingMinArea)-\(randomErasingMaxArea), min aspect \(randomErasingMinAspect), count \(randomErasingMinCount)-\(randomErasingMaxCount), trials \(randomErasingTrials)",
                  source: "\(cfg): random_erasing_*"),
            Entry(name: "seed", value: "\(seed)", source: "default config: seed"),
        ]
        if let datasetSize {
            let spe = try stepsPerEpoch(datasetSize: datasetSize)
            let (w, d) = try scheduleSteps(datasetSize: datasetSize)
            e += [
                Entry(name: "dataset_size", value: "\(datasetSize)", source: "the dataset"),
                Entry(name: "steps_per_epoch", value: "\(spe)", source: "ceil(dataset_size / (batch_size * accumulate))"),
                Entry(name: "warmup_steps", value: "\(w)", source: "warmup_epochs * steps_per_epoch"),
                Entry(name: "decay_steps", value: "\(d)", source: "epochs * steps_per_epoch"),
            ]
        }
        return e
    }
}
