import Tensors

/// `optax.add_decayed_weights`: `u + weightDecay * p`, computed as one fused
/// multiply-add (as XLA contracts it); on a leaf in `bf16Leaves` two bf16
/// ops, `r(u + r(p * bf16(weightDecay)))`.
public struct AddDecayedWeights: GradientTransformation {
    public var weightDecay: Double
    /// The paths of the leaves held in bfloat16.
    public var bf16Leaves: Set<String>

    public init(weightDecay: Double, bf16Leaves: Set<String> = []) {
        self.weightDecay = weightDecay
        self.bf16Leaves = bf16Leaves
    }

    public func initialize(_ params: TensorTree) -> OptimizerState { .empty }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        let wd = Float(weightDecay), wdBF16 = roundToBF16(wd)
        let updates = try grads.map { path, u in
            guard let p = params[path], p.shape == u.shape else {
                throw OptimizerError("add_decayed_weights: no parameter '\(path)' shaped \(u.shape)")
            }
            if bf16Leaves.contains(path) {
                return zipMap(u, p) { u, p in roundToBF16(u + roundToBF16(roundToBF16(p) * wdBF16)) }
            }
            return zipMap(u, p) { u, p in u.addingProduct(wd, p) }
        }
        return (updates, .empty)
    }

    public var description: String { "add_decayed_weights(\(weightDecay)\(bf16Description(bf16Leaves)))" }
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

    public var bf16Leaves: Set<String> { inner.bf16Leaves }

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
