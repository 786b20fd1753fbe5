import Tensors

/// `optax.global_norm`: the L2 norm of all leaves together. The sum of
/// squares is accumulated in float64 (`sumOfSquares` per leaf, leaves added
/// in tree order) and the root rounded to float32 once (XLA's float32
/// reduction order is not reproduced; the two agree to about 1e-7 relative).
///
/// A leaf in `bf16Leaves` is squared and summed in float32 like the others
/// (XLA drops the bf16 rounding of the squares, whose only consumer is the
/// float32 sum), but `jnp.sum` returns its sum in the leaf's dtype: the
/// leaf's sum of squares is rounded to bf16 before the leaves are added.
public func globalNorm(_ tree: TensorTree, bf16Leaves: Set<String> = []) -> Float {
    globalNorm(leafSumsOfSquares: tree.map { path, t in
        let sum = sumOfSquares(t)
        return bf16Leaves.contains(path) ? Double(roundToBF16(Float(sum))) : sum
    })
}

/// `globalNorm` from each leaf's `sumOfSquares`, in tree order.
public func globalNorm(leafSumsOfSquares sums: [Double]) -> Float {
    Float(libmSqrt(sums.reduce(0, +)))
}

/// `optax.clip_by_global_norm(maxNorm)`: when the global norm `n` of the
/// updates is not below `maxNorm`, every element becomes `(u / n) * maxNorm`.
/// A leaf in `bf16Leaves` is scaled with bf16 ops, as XLA computes
/// `(t / n.astype(bf16)) * maxNorm` there:
/// `r(r(u * (1 / r(n))) * bf16(maxNorm))` (the division a multiply by the
/// float32 reciprocal; the HLO and the results of optax under jit agree).
public struct ClipByGlobalNorm: GradientTransformation {
    public var maxNorm: Double
    /// The paths of the leaves held in bfloat16.
    public var bf16Leaves: Set<String>

    public init(maxNorm: Double, bf16Leaves: Set<String> = []) {
        self.maxNorm = maxNorm
        self.bf16Leaves = bf16Leaves
    }

    public func initialize(_ params: TensorTree) -> OptimizerState { .empty }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        let norm = globalNorm(grads, bf16Leaves: bf16Leaves)
        return (ClipByGlobalNorm.clip(grads, norm: norm, maxNorm: maxNorm, bf16Leaves: bf16Leaves), .empty)
    }

    /// The clipped tree given its global norm: unchanged when `norm < maxNorm`,
    /// else `(u / norm) * maxNorm` per element (a true division, then a
    /// multiply), or the bf16 form above on `bf16Leaves`.
    public static func clip(_ tree: TensorTree, norm: Float, maxNorm: Double, bf16Leaves: Set<String> = []) -> TensorTree {
        let limit = Float(maxNorm)
        if norm < limit { return tree }
        let inverseBF16 = 1 / roundToBF16(norm), limitBF16 = roundToBF16(limit)
        return tree.map { path, u in
            bf16Leaves.contains(path) ? mapScalars(u) { roundToBF16(roundToBF16(roundToBF16($0) * inverseBF16) * limitBF16) }
                                      : mapScalars(u) { ($0 / norm) * limit }
        }
    }

    public var description: String { "clip_by_global_norm(\(maxNorm)\(bf16Description(bf16Leaves)))" }
}
