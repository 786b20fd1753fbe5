import Tensors

/// `optax.add_decayed_weights`: `u + weightDecay * p`, computed as one fused
/// multiply-add (as XLA contracts it).
public struct AddDecayedWeights: GradientTransformation {
    public var weightDecay: Double

    public init(weightDecay: Double) { self.weightDecay = weightDecay }

    public func initialize(_ params: TensorTree) -> OptimizerState { .empty }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        let wd = Float(weightDecay)
        let updates = try grads.map { path, u in
            guard let p = params[path], p.shape == u.shape else {
                throw OptimizerError("add_decayed_weights: no parameter '\(path)' shaped \(u.shape)")
            }
            return zipMap(u, p) { u, p in u.addingProduct(wd, p) }
        }
        return (updates, .empty)
    }

    public var description: String { "add_decayed_weights(\(weightDecay))" }
}

/// `optax.masked(inner, mask)`: `inner` sees only the masked-in leaves; the
/// others pass through unchanged.
public struct Masked: GradientTransformation {
    public var inner: any GradientTransformation
    public var mask: ParameterMask

    public init(_ inner: any GradientTransformation, mask: ParameterMask) {
        self.inner = inner
        self.mask = mask
    }

    func select(_ tree: TensorTree) -> TensorTree {
        var out = TensorTree()
        for (path, t) in tree where mask.contains(path) { out[path] = t }
        return out
    }

    public func initialize(_ params: TensorTree) -> OptimizerState { .masked(inner.initialize(select(params))) }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        guard case .masked(let innerState) = state else {
            throw OptimizerError("masked got a \(state.label) state: re-create the state with initialize")
        }
        let (u, s) = try inner.update(select(grads), state: innerState, params: select(params))
        var out = grads
        for (path, t) in u { out[path] = t }
        return (out, .masked(s))
    }

    public var description: String { "masked(\(inner), \(mask))" }
}
