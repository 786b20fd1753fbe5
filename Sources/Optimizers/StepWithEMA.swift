import Tensors

/// One optimizer step and the model EMA of the parameters it produces:
/// `transformation.apply` then `ema.advance` on the new parameters.
///
/// When the transformation is `AdamW` (the seed's optimizer without
/// clipping or accumulation), the EMA is advanced inside its pass over each leaf,
/// so the new parameters are not read again; every element goes through the
/// same float32 operations as the two separate steps, so the results are the
/// same bits. Any other transformation (clipping, MultiSteps, …) runs the
/// two steps one after the other.
///
/// `window` > 1 is the seed's EMA under gradient accumulation: its train
/// step feeds `MultiSteps(ema_v2, k)` the parameters after every mini-step,
/// so each EMA update averages the running mean of the window's k parameter
/// sets. The parameters move only on the window's last mini-step, so that
/// mean is optax's `acc + (p' - acc) / k` with `acc = p` (the k-1 earlier
/// inputs, exactly): `p + (p' - p) / k`, a true float32 division as XLA
/// computes it. Call this on the emitting mini-step only.
/// - Returns: the new parameters, optimizer state and EMA state.
public func applyWithEMA(_ transformation: any GradientTransformation, _ grads: TensorTree, state: OptimizerState,
                         params: TensorTree, ema: EMA, emaState: OptimizerState, window: Int = 1) throws
    -> (params: TensorTree, state: OptimizerState, emaState: OptimizerState) {
    if window > 1 {
        let (newParams, newState) = try transformation.apply(grads, state: state, params: params)
        let k = Float(window)
        let windowMean = newParams.map { path, new in zipMap(params[path]!, new) { p, q in p + (q - p) / k } }
        return (newParams, newState, try ema.advance(with: windowMean, state: emaState))
    }
    if let adamw = transformation as? AdamW, case let .ema(count, averages) = emaState {
        let (d, oneMinusD) = ema.step(count: count)
        let r = try adamw.apply(grads, state: state, params: params,
                                averaging: .init(averages: averages, decay: d, oneMinusDecay: oneMinusD))
        return (r.params, r.state, .ema(count: safeIncrement(count), ema: r.averages!))
    }
    let (newParams, newState) = try transformation.apply(grads, state: state, params: params)
    return (newParams, newState, try ema.advance(with: newParams, state: emaState))
}
