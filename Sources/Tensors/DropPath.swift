// Stochastic depth (per-sample) and dropout (per-element) given their keep
// masks; the masks' bits come from JaxRandom. XLA:CPU compiles Flax's
// `x / keep_prob` as `x * float32(1 / float32(keep_prob))` (golden/README.md),
// so callers pass that reciprocal as `scale`:
//   y = keep ? x * scale : 0,   dx = keep ? dy * scale : 0.
// Stochastic depth is a reference oracle: the model runs it fused into
// `residualBranch*`; dropout (the head's) is the model's own.

extension Reference {
    /// Stochastic depth forward: sample `b` of `x` is `x[b] * scale` if `keep[b]`, else 0.
    public static func dropPathForward(_ x: Tensor, keep: [Bool], scale: Float) -> Tensor {
        precondition(x.rank >= 1 && keep.count == x.shape[0],
                     "dropPath: \(keep.count) keep flags for batch of shape \(x.shape)")
        let b = x.shape[0], per = b == 0 ? 0 : x.count / b
        return x.withPointer { px in
            Tensor.build(x.shape) { py in
                parallelFor(b) { n in
                    let r = px + n &* per, o = py + n &* per
                    if keep[n] { for i in 0..<per { o[i] = r[i] * scale } } else { o.update(repeating: 0, count: per) }
                }
            }
        }
    }

    /// Stochastic depth backward: the same mask and scale applied to `dy`.
    public static func dropPathBackward(_ dy: Tensor, keep: [Bool], scale: Float) -> Tensor {
        dropPathForward(dy, keep: keep, scale: scale)
    }
}

/// Dropout forward: `y[i] = keep[i] ? x[i] * scale : 0`, one flag per element.
public func dropoutForward(_ x: Tensor, keep: [Bool], scale: Float) -> Tensor {
    precondition(keep.count == x.count, "dropout: \(keep.count) keep flags for \(x.count) elements")
    return Tensor(shape: x.shape, scalars: (0..<x.count).map { keep[$0] ? x.scalars[$0] * scale : 0 })
}

/// Dropout backward: the same mask and scale applied to `dy`.
public func dropoutBackward(_ dy: Tensor, keep: [Bool], scale: Float) -> Tensor {
    dropoutForward(dy, keep: keep, scale: scale)
}
