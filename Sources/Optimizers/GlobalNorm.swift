import Tensors

/// `optax.global_norm`: the L2 norm of all leaves together. The sum of
/// squares is accumulated in float64 (`sumOfSquares` per leaf, leaves added
/// in tree order) and the root rounded to float32 once (XLA's float32
/// reduction order is not reproduced; the two agree to about 1e-7 relative).
public func globalNorm(_ tree: TensorTree) -> Float {
    globalNorm(leafSumsOfSquares: tree.map { sumOfSquares($0.value) })
}

/// `globalNorm` from each leaf's `sumOfSquares`, in tree order.
public func globalNorm(leafSumsOfSquares sums: [Double]) -> Float {
    Float(libmSqrt(sums.reduce(0, +)))
}

/// `optax.clip_by_global_norm(maxNorm)`: when the global norm `n` of the
/// updates is not below `maxNorm`, every element becomes `(u / n) * maxNorm`.
public struct ClipByGlobalNorm: GradientTransformation {
    public var maxNorm: Double

    public init(maxNorm: Double) { self.maxNorm = maxNorm }

    public func initialize(_ params: TensorTree) -> OptimizerState { .empty }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        (ClipByGlobalNorm.clip(grads, norm: globalNorm(grads), maxNorm: maxNorm), .empty)
    }

    /// The clipped tree given its global norm: unchanged when `norm < maxNorm`,
    /// else `(u / norm) * maxNorm` per element (a true division, then a multiply).
    public static func clip(_ tree: TensorTree, norm: Float, maxNorm: Double) -> TensorTree {
        let limit = Float(maxNorm)
        if norm < limit { return tree }
        return tree.map { _, u in mapScalars(u) { ($0 / norm) * limit } }
    }

    public var description: String { "clip_by_global_norm(\(maxNorm))" }
}
