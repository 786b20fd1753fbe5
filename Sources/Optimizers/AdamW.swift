import Tensors

/// `optax.adamw`: `chain(scale_by_adam(b1, b2, eps, eps_root),
/// masked(add_decayed_weights(weight_decay), mask), scale_by_learning_rate(schedule))`,
/// as optax builds it (without a mask the decay is not wrapped in `masked`).
///
/// The seed uses `adamw(warmupCosineDecay(0, 0.004, ...), weightDecay: 0.05, mask: .seedDecay)`.
/// `contraction` is `.moment` for an adamw that runs inside `MultiSteps`
/// (XLA fuses Adam's moments differently there; see `ScaleByAdam`).
public func adamw(_ schedule: Schedule, b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-8,
                  epsRoot: Double = 0, weightDecay: Double = 1e-4, mask: ParameterMask = .all,
                  contraction: ScaleByAdam.MomentContraction = .gradient) -> Chain {
    let decay = AddDecayedWeights(weightDecay: weightDecay)
    return Chain([
        ScaleByAdam(b1: b1, b2: b2, eps: eps, epsRoot: epsRoot, contraction: contraction),
        mask == .all ? decay : Masked(decay, mask: mask),
        ScaleByLearningRate(schedule),
    ])
}

/// The adamw chain as one pass per leaf: reads g, mu, nu, p once and writes
/// mu, nu, p once. Each element goes through exactly the float32 operations
/// of the unfused chain followed by the fused `p = fma(-lr, u, p)`:
/// ```
/// u  = adam(g, mu, nu)                  // see ScaleByAdam.element
/// u  = fma(wd, p, u)     if decayed     // add_decayed_weights
/// p' = fma(-lr(count), u, p)            // scale_by_learning_rate + apply_updates
/// ```
struct FusedAdamW {
    let adam: ScaleByAdam
    let weightDecay: Float
    let mask: ParameterMask
    let schedule: Schedule
    let masked: Bool

    /// Recognises `chain(scaleByAdam, [masked] addDecayedWeights, scaleByLearningRate)`.
    init?(_ chain: Chain) {
        let t = chain.transformations
        guard t.count == 3, let adam = t[0] as? ScaleByAdam, let lr = t[2] as? ScaleByLearningRate else { return nil }
        if let d = t[1] as? AddDecayedWeights {
            weightDecay = Float(d.weightDecay); mask = .all; masked = false
        } else if let m = t[1] as? Masked, let d = m.inner as? AddDecayedWeights {
            weightDecay = Float(d.weightDecay); mask = m.mask; masked = true
        } else {
            return nil
        }
        self.adam = adam
        self.schedule = lr.schedule
    }

    /// The model EMA to advance in the same pass: the stored averages and
    /// the update's `d` and `1 - d` (see `EMA.advance`).
    struct Averaging {
        var averages: TensorTree
        var decay: Float
        var oneMinusDecay: Float
    }

    func apply(_ grads: TensorTree, states: [OptimizerState], params: TensorTree) throws -> (params: TensorTree, state: OptimizerState) {
        let r = try apply(grads, states: states, params: params, averaging: nil)
        return (r.params, r.state)
    }

    /// The fused step, and with `averaging` the new EMA averages of the new parameters.
    func apply(_ grads: TensorTree, states: [OptimizerState], params: TensorTree,
               averaging: Averaging?) throws -> (params: TensorTree, state: OptimizerState, averages: TensorTree?) {
        guard case let .adam(count, mu, nu) = states[0], case let .count(lrCount) = states[2] else {
            throw OptimizerError("adamw state does not match the chain: re-create the state with initialize")
        }
        try checkSameLeaves(grads, params, "gradients", "parameters")
        try checkSameLeaves(grads, mu, "gradients", "Adam moments")
        let t = safeIncrement(count)
        let k = adam.constants(countAfter: t)
        let step = -schedule(Int(lrCount))
        let wd = weightDecay
        if let averaging { try checkSameLeaves(params, averaging.averages, "parameters", "EMA parameters") }
        var newMu = mu, newNu = nu
        var newAverages = averaging?.averages
        let newParams = params.map { path, p in
            let g = grads[path]!, m = mu[path]!, v = nu[path]!
            let ema = averaging.map { (average: $0.averages[path]!.scalars, decay: $0.decay, oneMinusDecay: $0.oneMinusDecay) }
            let (outMu, outNu, outP, outEMA) = adamLeaf(g.scalars, m.scalars, v.scalars, params: p.scalars,
                                                        weightDecay: mask.contains(path) ? wd : nil, step: step, k, ema: ema)
            newMu[path] = Tensor(shape: p.shape, scalars: outMu)
            newNu[path] = Tensor(shape: p.shape, scalars: outNu)
            if let outEMA { newAverages?[path] = Tensor(shape: p.shape, scalars: outEMA) }
            return Tensor(shape: p.shape, scalars: outP)
        }
        let decayState: OptimizerState = masked ? .masked(.empty) : .empty
        return (newParams, .chain([.adam(count: t, mu: newMu, nu: newNu), decayState, .count(safeIncrement(lrCount))]), newAverages)
    }
}
