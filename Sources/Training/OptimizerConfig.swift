import Optimizers

/// The optimizer a session trains with, as `optim adamw` sets it: optax's
/// AdamW with the recipe's decay mask, a learning-rate schedule, optional
/// global-norm clipping, MultiSteps accumulation and a model EMA.
///
/// A value (saved with sessions); `transformation()` builds the optax-shaped
/// chain from it.
public struct OptimizerConfig: Codable, Sendable, Equatable {
    /// Peak learning rate (the constant rate when there is no schedule).
    public var peakLearningRate = 0.004
    /// The rate at step 0 of the warmup.
    public var initLearningRate = 0.0
    /// Linear warmup steps (optimizer steps), 0 for none.
    public var warmupSteps = 0
    /// Total schedule steps including warmup (optax's `decay_steps`); 0 = constant after warmup is not
    /// allowed, so 0 means a constant rate `peakLearningRate` with no warmup.
    public var decaySteps = 0
    /// The rate the cosine decays to.
    public var endLearningRate = 1e-6
    public var weightDecay = 0.05
    public var b1 = 0.9
    public var b2 = 0.999
    public var eps = 1e-8
    /// Module-name words whose parameters get no weight decay (the seed's rule).
    public var decayExclude = ParameterMask.seedExclude
    /// MultiSteps: mini-steps per optimizer update (1 = none).
    public var accumulate = 1
    /// Model EMA decay (ema_v2), nil for none.
    public var emaDecay: Double? = nil
    /// Global-norm clipping, nil for none.
    public var clipNorm: Double? = nil

    public init() {}

    /// Checks every value; throws one line naming the bad one.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw WorkbenchError("optim adamw: \(message)") } }
        try check(peakLearningRate.isFinite && peakLearningRate >= 0, "--lr must be a finite number >= 0")
        try check(initLearningRate.isFinite && initLearningRate >= 0, "--init-lr must be >= 0")
        try check(endLearningRate.isFinite && endLearningRate >= 0, "--end-lr must be >= 0")
        try check(warmupSteps >= 0, "--warmup-steps must be >= 0")
        try check(decaySteps >= 0, "--decay-steps must be >= 0")
        try check(warmupSteps == 0 || decaySteps > warmupSteps, "--warmup-steps needs --decay-steps larger than it (decay steps count the warmup, as in optax)")
        try check(weightDecay.isFinite && weightDecay >= 0, "--weight-decay must be >= 0")
        try check(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1, "--b1 and --b2 must be in [0, 1)")
        try check(eps > 0, "--eps must be > 0")
        try check(accumulate >= 1, "--accumulate must be at least 1")
        if let d = emaDecay { try check(d > 0 && d < 1, "--ema must be in (0, 1)") }
        if let c = clipNorm { try check(c > 0, "--clip must be > 0") }
    }

    /// The learning rate as a function of the optimizer step.
    public func schedule() throws -> Schedule {
        if decaySteps == 0 { return .constant(peakLearningRate) }
        return try .warmupCosineDecay(initValue: initLearningRate, peakValue: peakLearningRate,
                                      warmupSteps: warmupSteps, decaySteps: decaySteps, endValue: endLearningRate)
    }

    /// The weight-decay rule: the seed's `create_decay_mask_fn` over `decayExclude`.
    public var decayMask: ParameterMask { .excluding(decayExclude) }

    /// `[clip_by_global_norm] → adamw(schedule, mask)`, wrapped in `MultiSteps` when accumulating.
    /// `decayMask` replaces the rule by its flags for a model's parameters
    /// (`DeclaredOptimizer`); the rule itself when nil. `bf16Leaves`: the
    /// parameters the model holds in bfloat16, which every step computes on
    /// with optax's bf16 operations.
    public func transformation(decayMask: ParameterMask? = nil, bf16Leaves: Set<String> = []) throws -> any GradientTransformation {
        var steps: [any GradientTransformation] = []
        if let clipNorm { steps.append(ClipByGlobalNorm(maxNorm: clipNorm, bf16Leaves: bf16Leaves)) }
        let adam = adamw(try schedule(), b1: b1, b2: b2, eps: eps, weightDecay: weightDecay,
                         mask: decayMask ?? self.decayMask, contraction: accumulate > 1 ? .moment : .gradient,
                         bf16Leaves: bf16Leaves)
        let inner: any GradientTransformation = steps.isEmpty ? adam : Chain(steps + [adam])
        return accumulate > 1 ? try MultiSteps(inner, everyK: accumulate) : inner
    }

    /// The model EMA, if configured (`bf16Leaves`: the parameters held in bfloat16).
    public func ema(bf16Leaves: Set<String> = []) -> EMA? {
        emaDecay.map { EMA(decay: $0, kind: .v2, bf16Leaves: bf16Leaves) }
    }

    /// The model EMA for a float32 model, if configured.
    public var ema: EMA? { ema() }
}
