import Tensors

/// `optax.scale_by_adam`: Adam's normalised update, with bias correction.
///
/// Per leaf, with `t = count + 1` (float32, as XLA:CPU computes it under jit):
/// ```
/// mu = fma(1 - b1, g, b1 * mu)                 // (1-b1) g + b1 mu, contracted
/// nu = fma(1 - b2, g * g, b2 * nu)
/// u  = mu / (c1 * (sqrt(nu / c2 + epsRoot) + eps)),  c = 1 - pow(b, t)
/// ```
/// Inside `optax.MultiSteps` XLA contracts the other product of each moment
/// (`MomentContraction.moment`): `mu = fma(b1, mu, (1 - b1) * g)`,
/// `nu = fma(b2, nu, (1 - b2) * (g * g))`; checked bit for bit over 100
/// calls against optax in `OptaxTrajectoryTests`.
/// optax writes `u = (mu / c1) / (sqrt(nu / c2 + epsRoot) + eps)`; XLA's
/// algebraic simplifier turns `(a / b) / c` into `a / (b * c)`, and the
/// golden parameters match only that form.
public struct ScaleByAdam: GradientTransformation {
    public var b1: Double
    public var b2: Double
    public var eps: Double
    public var epsRoot: Double
    /// Which product of each moment update XLA fuses into the add.
    public var contraction: MomentContraction

    /// Which product of `(1-b) x + b m` XLA:CPU contracts into an FMA; the
    /// other is rounded first. It depends on the program around Adam.
    public enum MomentContraction: String, Sendable, Codable {
        /// `fma(1 - b, x, b * m)`: plain `optax.adamw` under jit.
        case gradient
        /// `fma(b, m, (1 - b) * x)`: adamw inside `optax.MultiSteps` (its `lax.cond` branch).
        case moment
    }

    public init(b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-8, epsRoot: Double = 0,
                contraction: MomentContraction = .gradient) {
        self.b1 = b1; self.b2 = b2; self.eps = eps; self.epsRoot = epsRoot; self.contraction = contraction
    }

    public func initialize(_ params: TensorTree) -> OptimizerState {
        .adam(count: 0, mu: params.zerosLike(), nu: params.zerosLike())
    }

    /// `1 - b^t` in float32, with XLA's float32 pow.
    public static func biasCorrection(_ b: Double, _ t: Int32) -> Float {
        1 - xlaPow(Float(b), Float(t))
    }

    /// The float32 constants of one step.
    struct Constants {
        var oneMinusB1, b1, oneMinusB2, b2, c1, c2, eps, epsRoot: Float
        var contraction: MomentContraction
    }

    func constants(countAfter t: Int32) -> Constants {
        Constants(oneMinusB1: Float(1 - b1), b1: Float(b1), oneMinusB2: Float(1 - b2), b2: Float(b2),
                  c1: ScaleByAdam.biasCorrection(b1, t), c2: ScaleByAdam.biasCorrection(b2, t),
                  eps: Float(eps), epsRoot: Float(epsRoot), contraction: contraction)
    }

    /// One element: updates the moments in place and returns Adam's update.
    @inline(__always)
    static func element(_ g: Float, _ mu: inout Float, _ nu: inout Float, _ k: Constants) -> Float {
        switch k.contraction {
        case .gradient:
            mu = (k.b1 * mu).addingProduct(k.oneMinusB1, g)
            nu = (k.b2 * nu).addingProduct(k.oneMinusB2, g * g)
        case .moment:
            mu = (k.oneMinusB1 * g).addingProduct(k.b1, mu)
            nu = (k.oneMinusB2 * (g * g)).addingProduct(k.b2, nu)
        }
        return mu / (k.c1 * ((nu / k.c2 + k.epsRoot).squareRoot() + k.eps))
    }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        guard case let .adam(count, mu, nu) = state else {
            throw OptimizerError("scale_by_adam got a \(state.label) state: re-create the state with initialize")
        }
        try checkSameLeaves(grads, mu, "gradients", "Adam moments")
        let t = safeIncrement(count)
        let k = constants(countAfter: t)
        var newMu = mu, newNu = nu
        let updates = grads.map { path, g in
            let (m, v, u, _) = adamLeaf(g.scalars, mu[path]!.scalars, nu[path]!.scalars, params: nil, weightDecay: nil, step: 0, k)
            newMu[path] = Tensor(shape: g.shape, scalars: m)
            newNu[path] = Tensor(shape: g.shape, scalars: v)
            return Tensor(shape: g.shape, scalars: u)
        }
        return (updates, .adam(count: t, mu: newMu, nu: newNu))
    }

    public var description: String { "scale_by_adam(b1 \(b1), b2 \(b2), eps \(eps), eps_root \(epsRoot))" }
}
