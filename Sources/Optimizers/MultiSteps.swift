import Tensors

/// `optax.MultiSteps(inner, every_k_schedule=k)` with `use_grad_mean=True`:
/// gradient accumulation.
///
/// Each call folds the gradients into a running mean,
/// `acc = acc + (g - acc) / (miniStep + 1)`. On the k-th call (`miniStep == k-1`)
/// the inner transformation is applied to `acc`, `acc` is reset to zeros,
/// `miniStep` goes back to 0 and `gradientStep` advances; on the other calls
/// the update is zero and only `miniStep` advances. The inner state (and so
/// the learning-rate schedule's count) moves only on emitting calls.
///
/// optax resets the accumulator as `(1 - emit) * acc`, which leaves `-0` where
/// `acc` was negative; cnx stores `+0`. The next call gives the same bits
/// either way (`±0 + (g - ±0) / 1 == g`, and `+0` for `g == ±0`), so only a
/// saved accumulator right after an update differs, in the sign of its zeros.
///
/// In JAX the two branches are a `lax.cond`, so the emitted updates are
/// computed apart from `apply_updates`: `apply` returns `p + u` with `u`
/// already rounded (no fused multiply-add across the branch), and `p + 0` on
/// the other calls.
///
/// The accumulator is float32 for every leaf (optax's `accumulator_dtype`
/// defaults to float32), also for a bf16 parameter, whose bf16 gradient is
/// folded in float32; the inner transformation gets the accumulator cast
/// to the gradients' dtype (`tree.cast_like`): rounded to bf16 for the
/// inner transformation's `bf16Leaves`.
public struct MultiSteps: GradientTransformation {
    public var inner: any GradientTransformation
    public var everyK: Int

    public init(_ inner: any GradientTransformation, everyK: Int) throws {
        guard everyK >= 1 else { throw OptimizerError("MultiSteps needs every_k >= 1, got \(everyK)") }
        self.inner = inner
        self.everyK = everyK
    }

    /// The inner transformation's bf16 leaves.
    public var bf16Leaves: Set<String> { inner.bf16Leaves }

    public func initialize(_ params: TensorTree) -> OptimizerState {
        .multiSteps(miniStep: 0, gradientStep: 0, acc: params.zerosLike(), inner: inner.initialize(params))
    }

    /// Whether the next call emits an inner update.
    public func emitsNext(_ state: OptimizerState) -> Bool {
        guard case let .multiSteps(mini, _, _, _) = state else { return false }
        return Int(mini) >= everyK - 1
    }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        guard case let .multiSteps(mini, gradStep, acc, innerState) = state else {
            throw OptimizerError("MultiSteps got a \(state.label) state: re-create the state with initialize")
        }
        try checkSameLeaves(grads, acc, "gradients", "accumulated gradients")
        // acc + (g - acc) / (n + 1): a true division by the (non-constant) count.
        let divisor = Float(mini) + 1
        let newAcc = acc.map { path, a in Self.fold(a, grads[path]!, divisor: divisor) }
        if Int(mini) < everyK - 1 {
            return (grads.zerosLike(),
                    .multiSteps(miniStep: safeIncrement(mini), gradientStep: gradStep, acc: newAcc, inner: innerState))
        }
        let (u, s) = try inner.update(roundingLeaves(newAcc, inner.bf16Leaves), state: innerState, params: params)
        return (u, .multiSteps(miniStep: 0, gradientStep: safeIncrement(gradStep), acc: acc.zerosLike(), inner: s))
    }

    /// The running mean's step, `acc + (g - acc) / divisor` element-wise
    /// (`divisor` = the mini-step + 1). Data-parallel training folds each
    /// rank's gradient with it before averaging across ranks.
    public static func fold(_ acc: Tensor, _ g: Tensor, divisor: Float) -> Tensor {
        zipMap(acc, g) { a, g in a + (g - a) / divisor }
    }

    public var description: String { "multi_steps(every \(everyK), \(inner))" }
}
