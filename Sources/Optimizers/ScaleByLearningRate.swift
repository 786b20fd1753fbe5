import Tensors

/// `optax.scale_by_learning_rate(schedule)`: `u * -lr(count)`; the count
/// advances on every update. `apply` fuses the last step with the parameter
/// update, `p = fma(-lr, u, p)`, as XLA does inside the jitted train step.
public struct ScaleByLearningRate: GradientTransformation {
    public var schedule: Schedule

    public init(_ schedule: Schedule) { self.schedule = schedule }

    public func initialize(_ params: TensorTree) -> OptimizerState { .count(0) }

    private func count(_ state: OptimizerState) throws -> Int32 {
        guard case .count(let c) = state else {
            throw OptimizerError("scale_by_learning_rate got a \(state.label) state: re-create the state with initialize")
        }
        return c
    }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        let c = try count(state)
        let step = -schedule(Int(c))
        return (grads.map { _, u in mapScalars(u) { step * $0 } }, .count(safeIncrement(c)))
    }

    public func apply(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (params: TensorTree, state: OptimizerState) {
        let c = try count(state)
        try checkSameLeaves(grads, params, "updates", "parameters")
        let step = -schedule(Int(c))
        let p = params.map { path, p in zipMap(p, grads[path]!) { p, u in p.addingProduct(step, u) } }
        return (p, .count(safeIncrement(c)))
    }

    public var description: String { "scale_by_learning_rate(\(schedule))" }
}
