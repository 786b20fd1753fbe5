import Tensors

/// `optax.scale_by_learning_rate(schedule)`: `u * -lr(count)`; the count
/// advances on every update. `apply` fuses the last step with the parameter
/// update, `p = fma(-lr, u, p)`, as XLA does inside the jitted train step.
///
/// On a leaf in `bf16Leaves` optax casts the float32 step to the leaf's
/// dtype (`jnp.array(step_size, dtype=g.dtype) * g`) and `apply_updates`
/// adds in bf16: `u' = r(bf16(-lr) * u)`, `p' = r(p + u')` (no fused
/// multiply-add: the rounding between the two ops prevents it).
public struct ScaleByLearningRate: GradientTransformation {
    public var schedule: Schedule
    /// The paths of the leaves held in bfloat16.
    public var bf16Leaves: Set<String>

    public init(_ schedule: Schedule, bf16Leaves: Set<String> = []) {
        self.schedule = schedule
        self.bf16Leaves = bf16Leaves
    }

    public func initialize(_ params: TensorTree) -> OptimizerState { .count(0) }

    private func count(_ state: OptimizerState) throws -> Int32 {
        guard case .count(let c) = state else {
            throw OptimizerError("scale_by_learning_rate got a \(state.label) state: re-create the state with initialize")
        }
        return c
    }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        let c = try count(state)
        let step = -schedule(Int(c)), stepBF16 = roundToBF16(step)
        let updates = grads.map { path, u in
            bf16Leaves.contains(path) ? mapScalars(u) { roundToBF16(stepBF16 * roundToBF16($0)) } : mapScalars(u) { step * $0 }
        }
        return (updates, .count(safeIncrement(c)))
    }

    public func apply(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (params: TensorTree, state: OptimizerState) {
        let c = try count(state)
        try checkSameLeaves(grads, params, "updates", "parameters")
        let step = -schedule(Int(c)), stepBF16 = roundToBF16(step)
        let p = params.map { path, p in
            if bf16Leaves.contains(path) {
                return zipMap(p, grads[path]!) { p, u in roundToBF16(roundToBF16(p) + roundToBF16(stepBF16 * roundToBF16(u))) }
            }
            return zipMap(p, grads[path]!) { p, u in p.addingProduct(step, u) }
        }
        return (p, .count(safeIncrement(c)))
    }

    public var description: String { "scale_by_learning_rate(\(schedule)\(bf16Description(bf16Leaves)))" }
}
