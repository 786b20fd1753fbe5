import Optimizers
import Tensors

/// The guard behind NaN/Inf recovery: after an update, every parameter,
/// optimizer-state tensor (Adam moments, MultiSteps accumulators) and EMA
/// tensor must be finite. A too-large learning rate can leave the loss and
/// gradients finite and still overflow the parameters; the update is then
/// refused and the state stays at the last finite one.
public enum FiniteState {
    /// The first non-finite tensor, named as a person finds it (`params/…`,
    /// `optimizer/mu/…`, `ema/…`), or nil when all are finite.
    public static func firstNonFinite(params: TensorTree?, optimizerState: OptimizerState?,
                                      emaState: OptimizerState?) -> String? {
        if let params, let bad = params.first(where: { !isFinite($0.value) }) { return "params/\(bad.key)" }
        for (label, state) in [("optimizer", optimizerState), ("ema", emaState)] {
            guard let state else { continue }
            for (name, leaf) in state.flattened() {
                if case .tensor(let t) = leaf, !isFinite(t) { return "\(label)/\(name)" }
            }
        }
        return nil
    }

    /// Throws when an update's result holds a non-finite value, naming the
    /// first such tensor; the caller has not yet replaced anything.
    static func check(params: TensorTree, optimizerState: OptimizerState, emaState: OptimizerState?, step: Int) throws {
        if let bad = firstNonFinite(params: params, optimizerState: optimizerState, emaState: emaState) {
            throw WorkbenchError("step \(step): the update made \(bad) non-finite; rolled back to the state before this step (lower the learning rate, or add --clip)")
        }
    }

    /// Whether every element is finite (a sum of squares in Double is finite
    /// exactly when they are: float32 squares cannot overflow it).
    static func isFinite(_ t: Tensor) -> Bool { sumOfSquares(t).isFinite }
}
