import Datasets
import Models
import Optimizers

/// The seed's ConvNeXt-T training recipe (`configs/imagenet_convnext_t_v1_tpu.py`
/// of NobuoTsukamoto/jax_examples, as `../shared/golden/README.md` describes it),
/// held in the configurations it sets — the optimizer's, the augmentations' and
/// the model's — so no value is written twice, plus the few settings that only
/// the recipe has (epochs, the batch size, the seed). Every value says where it
/// comes from (`entries`).
///
/// Epoch-based settings become optimizer steps through
/// `stepsPerEpoch = ceil(datasetSize / (batchSize * optimizer.accumulate))`:
/// the schedule counts optimizer updates, which happen once per `accumulate`
/// mini-batches because adamw sits inside `MultiSteps`. For ImageNet
/// (1,281,167 images) that is 313, so warmup is 6,260 and decay 93,900 steps,
/// the seed's numbers.
public struct Recipe: Sendable, Equatable, Codable {
    /// AdamW (lr 0.004 peak, 0 at the start, 1e-6 at the end; wd 0.05 with the
    /// seed's decay mask), MultiSteps 4 and EMA v2 0.9999. Its warmup and decay
    /// steps are left at 0: `optimizer(datasetSize:)` fills them from the epochs.
    public var optimizer: OptimizerConfig = {
        var o = OptimizerConfig()
        o.accumulate = 4
        o.emaDecay = 0.9999
        return o
    }()
    /// Label smoothing, RandAugment, Mixup/CutMix and random erasing: timm's
    /// ConvNeXt pipeline, whose values the seed's config repeats.
    public var augment = AugmentConfig.convnext
    /// The model's stochastic-depth rate.
    public var dropPathRate = 0.1
    /// The training image size.
    public var imageSize = 224
    public var warmupEpochs = 20.0
    public var epochs = 300.0
    /// The global batch (per optimizer mini-step).
    public var batchSize = 1024
    public var seed = 42

    public init() {}

    /// The seed recipe.
    public static let seed = Recipe()

    /// ImageNet-1k's training-set size, the dataset the seed recipe was written for.
    public static let imageNetTrainSize = 1_281_167

    /// The seed's RandAugment is TensorFlow's (`cutout_const 40`, `translate_const
    /// 250`, Cutout excluded); cnx runs timm's `rand-m9-mstd0.5-inc1` with the
    /// same layers, magnitude and std (`augment.randAugment`). Shown by `recipe
    /// show`, used by nothing.
    public static let seedTFRandAugmentConstants = "cutout 40, translate 250, exclude Cutout (TF RandAugment; cnx runs timm's)"

    /// Optimizer steps per epoch: `ceil(datasetSize / (batchSize * accumulate))`.
    public func stepsPerEpoch(datasetSize: Int) throws -> Int {
        guard datasetSize > 0 else { throw OptimizerError("dataset size must be > 0, got \(datasetSize)") }
        guard batchSize > 0, optimizer.accumulate > 0 else {
            throw OptimizerError("batch size and accumulation steps must be > 0 (got \(batchSize) x \(optimizer.accumulate))")
        }
        let perStep = batchSize * optimizer.accumulate
        return (datasetSize + perStep - 1) / perStep
    }

    /// Warmup and decay lengths in optimizer steps.
    public func scheduleSteps(datasetSize: Int) throws -> (warmup: Int, decay: Int) {
        let spe = Double(try stepsPerEpoch(datasetSize: datasetSize))
        return (Int((warmupEpochs * spe).rounded(.down)), Int((epochs * spe).rounded(.down)))
    }

    /// The optimizer settings for a training set of `datasetSize` images: `optimizer`
    /// with its warmup and decay steps from the epochs.
    public func optimizer(datasetSize: Int) throws -> OptimizerConfig {
        let (warmup, decay) = try scheduleSteps(datasetSize: datasetSize)
        var o = optimizer
        o.warmupSteps = warmup
        o.decaySteps = max(decay, warmup + 1)
        return o
    }

    /// `model` with the recipe's drop-path rate and dtype: bfloat16, with the
    /// seed's bf16 LayerScale γ (docs/bf16.md).
    public func model(_ model: ConvNeXtConfig) -> ConvNeXtConfig {
        var m = model
        m.dropPathRate = dropPathRate
        m.dtype = .bf16
        m.bf16LayerScale = true
        return m
    }

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
        let o = optimizer, ra = augment.randAugment, mix = augment.mix, er = augment.erasing
        var e: [Entry] = [
            Entry(name: "optimizer", value: "adamw (b1 \(f(o.b1)), b2 \(f(o.b2)), eps \(o.eps))", source: "\(cfg): optimizer; optax.adamw defaults"),
            Entry(name: "lr.peak", value: "\(o.peakLearningRate)", source: "\(cfg): learning_rate"),
            Entry(name: "lr.init", value: "\(o.initLearningRate)", source: "default config: initial_learning_rate"),
            Entry(name: "lr.end", value: "\(o.endLearningRate)", source: "\(cfg): end_learning_rate"),
            Entry(name: "lr.schedule", value: "warmup_cosine_decay", source: "default config: optimizer_schedule"),
            Entry(name: "warmup_epochs", value: f(warmupEpochs), source: "\(cfg): warmup_epochs"),
            Entry(name: "epochs", value: f(epochs), source: "\(cfg): num_epochs"),
            Entry(name: "weight_decay", value: "\(o.weightDecay)", source: "\(cfg): weight_decay"),
            Entry(name: "weight_decay.exclude", value: o.decayExclude.joined(separator: ","), source: "seed optimizer.py decay mask (golden/README.md)"),
            Entry(name: "clip_norm", value: o.clipNorm.map { "\($0)" } ?? "none", source: "not in the seed recipe (optional)"),
            Entry(name: "batch_size", value: "\(batchSize)", source: golden),
            Entry(name: "accumulate", value: "\(o.accumulate)", source: "\(golden): optax.MultiSteps(every_k_schedule)"),
            Entry(name: "ema", value: o.emaDecay.map { "ema_v2 \($0)" } ?? "none", source: "\(cfg): model_ema v2, model_ema_decay"),
            Entry(name: "drop_path", value: "\(dropPathRate)", source: "\(cfg): init_stochastic_depth_rate"),
            Entry(name: "dtype", value: "bfloat16", source: "\(cfg): model dtype (params float32, LayerScale γ bfloat16)"),
            Entry(name: "image_size", value: "\(imageSize)", source: "default config: image_size"),
            Entry(name: "label_smoothing", value: "\(augment.labelSmoothing)", source: "\(cfg): mixup_and_cutmix_label_smoothing"),
            Entry(name: "randaug", value: "layers \(ra.ops), magnitude \(f(ra.magnitude)), std \(ra.magnitudeStd)", source: "\(cfg): randaug_num_layers, randaug_magnitude, randaug_magnitude_std"),
            Entry(name: "randaug.seed_only", value: Self.seedTFRandAugmentConstants, source: "\(cfg): randaug_cutout_const, randaug_translate_const, randaug_exclude_ops"),
            Entry(name: "mixup_cutmix", value: "mixup alpha \(mix.mixupAlpha), cutmix alpha \(mix.cutmixAlpha), prob \(mix.probability), switch \(mix.switchProbability)",
                  source: "\(cfg): mixup_and_cutmix_*"),
            Entry(name: "random_erasing", value: "prob \(er.probability), area \(er.minArea)-\(er.maxArea), min aspect \(er.minAspect), count 1, trials 10",
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
