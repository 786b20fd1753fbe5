import Tensors

/// `optax.adamw` (see `AdamW`). `contraction` is `.moment` for an adamw that
/// runs inside `MultiSteps` (XLA fuses Adam's moments differently there; see
/// `ScaleByAdam`).
public func adamw(_ schedule: Schedule, b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-8,
                  epsRoot: Double = 0, weightDecay: Double = 1e-4, mask: ParameterMask = .all,
                  contraction: ScaleByAdam.MomentContraction = .gradient, bf16Leaves: Set<String> = []) -> AdamW {
    AdamW(adam: ScaleByAdam(b1: b1, b2: b2, eps: eps, epsRoot: epsRoot, contraction: contraction, bf16Leaves: bf16Leaves),
          weightDecay: weightDecay, mask: mask, schedule: schedule)
}

/// `optax.adamw`, declared as one transformation:
/// `chain(scale_by_adam(b1, b2, eps, eps_root), masked(add_decayed_weights(weight_decay), mask),
/// scale_by_learning_rate(schedule))`, as optax builds it (without a mask the
/// decay is not wrapped in `masked`). Its state is that chain's state, and
/// `update` runs the chain; `apply` is one pass per leaf that reads g, mu, nu,
/// p once and writes mu, nu, p once. Each element goes through exactly the
/// float32 operations of the chain followed by the fused `p = fma(-lr, u, p)`
/// (tested bit for bit against `chain`):
/// ```
/// u  = adam(g, mu, nu)                  // see ScaleByAdam.element
/// u  = fma(wd, p, u)     if decayed     // add_decayed_weights
/// p' = fma(-lr(count), u, p)            // scale_by_learning_rate + apply_updates
/// ```
/// The leaves in `adam.bf16Leaves` (a bf16 model's γ) go through the chain's
/// bf16 operations instead, one scalar loop per leaf (`bf16Step`).
///
/// The seed uses `adamw(warmupCosineDecay(0, 0.004, ...), weightDecay: 0.05, mask: .seedDecay)`.
public struct AdamW: GradientTransformation {
    public var adam: ScaleByAdam
    public var weightDecay: Double
    public var mask: ParameterMask
    public var schedule: Schedule

    public init(adam: ScaleByAdam, weightDecay: Double, mask: ParameterMask, schedule: Schedule) {
        self.adam = adam
        self.weightDecay = weightDecay
        self.mask = mask
        self.schedule = schedule
    }

    /// The optax chain this transformation is.
    public var chain: Chain {
        let decay = AddDecayedWeights(weightDecay: weightDecay, bf16Leaves: adam.bf16Leaves)
        return Chain([adam, mask == .all ? decay : Masked(decay, mask: mask),
                      ScaleByLearningRate(schedule, bf16Leaves: adam.bf16Leaves)])
    }

    /// The paths of the leaves held in bfloat16 (`adam.bf16Leaves`).
    public var bf16Leaves: Set<String> { adam.bf16Leaves }

    public func initialize(_ params: TensorTree) -> OptimizerState { chain.initialize(params) }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        try chain.update(grads, state: state, params: params)
    }

    public func apply(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (params: TensorTree, state: OptimizerState) {
        let r = try apply(grads, state: state, params: params, averaging: nil)
        return (r.params, r.state)
    }

    public var description: String { chain.description }

    /// The model EMA to advance in the same pass: the stored averages and
    /// the update's `d` and `1 - d` (see `EMA.advance`).
    struct Averaging {
        var averages: TensorTree
        var decay: Float
        var oneMinusDecay: Float
    }

    /// The fused step, and with `averaging` the new EMA averages of the new parameters.
    func apply(_ grads: TensorTree, state: OptimizerState, params: TensorTree,
               averaging: Averaging?) throws -> (params: TensorTree, state: OptimizerState, averages: TensorTree?) {
        guard case let .chain(states) = state, states.count == 3,
              case let .adam(count, mu, nu) = states[0], case let .count(lrCount) = states[2] else {
            throw OptimizerError("adamw state does not match the chain: re-create the state with initialize")
        }
        try checkSameLeaves(grads, params, "gradients", "parameters")
        try checkSameLeaves(grads, mu, "gradients", "Adam moments")
        let t = safeIncrement(count)
        let k = adam.constants(countAfter: t)
        let step = -schedule(Int(lrCount))
        let wd = Float(weightDecay)
        if let averaging { try checkSameLeaves(params, averaging.averages, "parameters", "EMA parameters") }
        var newMu = mu, newNu = nu
        var newAverages = averaging?.averages
        let kb = adam.bf16Constants(countAfter: t)
        let newParams = params.map { path, p in
            let g = grads[path]!, m = mu[path]!, v = nu[path]!
            if adam.bf16Leaves.contains(path) {
                let r = bf16Step(g, m, v, p, kb, decayed: mask.contains(path), step: step,
                                 average: averaging.map { ($0.averages[path]!, $0.decay, $0.oneMinusDecay) })
                newMu[path] = r.mu
                newNu[path] = r.nu
                if let average = r.average { newAverages?[path] = average }
                return r.params
            }
            let ema = averaging.map { (average: $0.averages[path]!.scalars, decay: $0.decay, oneMinusDecay: $0.oneMinusDecay) }
            let (outMu, outNu, outP, outEMA) = adamLeaf(g.scalars, m.scalars, v.scalars, params: p.scalars,
                                                        weightDecay: mask.contains(path) ? wd : nil, step: step, k, ema: ema)
            newMu[path] = Tensor(shape: p.shape, scalars: outMu)
            newNu[path] = Tensor(shape: p.shape, scalars: outNu)
            if let outEMA { newAverages?[path] = Tensor(shape: p.shape, scalars: outEMA) }
            return Tensor(shape: p.shape, scalars: outP)
        }
        let decayState: OptimizerState = mask == .all ? .empty : .masked(.empty)
        return (newParams, .chain([.adam(count: t, mu: newMu, nu: newNu), decayState, .count(safeIncrement(lrCount))]), newAverages)
    }

    /// The step on a leaf held in bfloat16: the chain's bf16 ops element by
    /// element (`ScaleByAdam.bf16Element`, then `AddDecayedWeights`,
    /// `ScaleByLearningRate` and `applyUpdates` on a bf16 leaf, then the
    /// EMA's bf16 update of the new value when `average` is given):
    /// ```
    /// u  = r(u + r(p * bf16(wd)))          if decayed
    /// p' = r(p + r(bf16(-lr) * u))
    /// ```
    func bf16Step(_ g: Tensor, _ mu: Tensor, _ nu: Tensor, _ p: Tensor, _ k: ScaleByAdam.BF16Constants,
                  decayed: Bool, step: Float, average: (Tensor, Float, Float)?)
        -> (params: Tensor, mu: Tensor, nu: Tensor, average: Tensor?) {
        let wd = roundToBF16(Float(weightDecay)), stepBF16 = roundToBF16(step)
        var m = mu.scalars, v = nu.scalars, out = p.scalars
        var e = average?.0.scalars ?? []
        for i in 0..<out.count {
            let pi = roundToBF16(out[i])
            var u = ScaleByAdam.bf16Element(g.scalars[i], &m[i], &v[i], k)
            if decayed { u = roundToBF16(u + roundToBF16(pi * wd)) }
            out[i] = roundToBF16(pi + roundToBF16(stepBF16 * u))
            if let (_, d, oneMinusD) = average { e[i] = EMA.bf16Element(out[i], e[i], d: d, oneMinusD: oneMinusD) }
        }
        return (Tensor(shape: p.shape, scalars: out), Tensor(shape: p.shape, scalars: m), Tensor(shape: p.shape, scalars: v),
                average == nil ? nil : Tensor(shape: p.shape, scalars: e))
    }
}
