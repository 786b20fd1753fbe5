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
/// computes it; the EMA casts it to bf16 on its `bf16Leaves`, as optax's
/// `MultiSteps` casts its float32 accumulator to the parameters' dtype. Call
/// this on the emitting mini-step only.
/// - Returns: the new parameters, optimizer state and EMA state.
public func applyWithEMA(_ transformation: any GradientTransformation, _ grads: TensorTree, state: OptimizerState,
                         params: TensorTree, ema: EMA, emaState: OptimizerState, window: Int = 1) throws
    -> (params: TensorTree, state: OptimizerState, emaState: OptimizerState) {
    if window > 1 {
        let bf16 = transformation.bf16Leaves
        let newParams: TensorTree, newState: OptimizerState
        // The new parameters as the EMA's float32 window mean reads them.
        var read: TensorTree
        if let multi = transformation as? MultiSteps, !bf16.isEmpty {
            let (u, s) = try multi.update(grads, state: state, params: params)
            (newParams, newState) = (try applyUpdates(params, u, bf16Leaves: bf16), s)
            // Excess precision: the window mean upcasts a bf16 leaf's new value
            // to float32 explicitly, so XLA drops the rounding of `p + u` there.
            read = newParams.map { path, q in bf16.contains(path) ? zipMap(params[path]!, u[path]!) { $0 + $1 } : q }
        } else {
            (newParams, newState) = try transformation.apply(grads, state: state, params: params)
            read = newParams
        }
        let k = Float(window)
        let windowMean = read.map { path, new in zipMap(params[path]!, new) { p, q in p + (q - p) / k } }
        return (newParams, newState, try ema.advance(with: windowMean, state: emaState))
    }
    if let adamw = transformation as? AdamW, adamw.bf16Leaves == ema.bf16Leaves, case let .ema(count, averages) = emaState {
        let (d, oneMinusD) = ema.step(count: count)
        let r = try adamw.apply(grads, state: state, params: params,
                                averaging: .init(averages: averages, decay: d, oneMinusDecay: oneMinusD))
        return (r.params, r.state, .ema(count: safeIncrement(count), ema: r.averages!))
    }
    let (newParams, newState) = try transformation.apply(grads, state: state, params: params)
    return (newParams, newState, try ema.advance(with: newParams, state: emaState))
}
