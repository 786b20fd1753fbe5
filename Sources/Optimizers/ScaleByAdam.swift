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
///
/// A leaf in `bf16Leaves` is held in bfloat16 (a bf16 model's LayerScale γ):
/// its moments are bf16 and every operation is a bf16 operation, as optax
/// does for a bf16 leaf (`bf16Element`, docs/bf16.md).
public struct ScaleByAdam: GradientTransformation {
    public var b1: Double
    public var b2: Double
    public var eps: Double
    public var epsRoot: Double
    /// Which product of each moment update XLA fuses into the add.
    public var contraction: MomentContraction
    /// The paths of the leaves held in bfloat16.
    public var bf16Leaves: Set<String>

    /// Which product of `(1-b) x + b m` XLA:CPU contracts into an FMA; the
    /// other is rounded first. It depends on the program around Adam.
    public enum MomentContraction: String, Sendable, Codable {
        /// `fma(1 - b, x, b * m)`: plain `optax.adamw` under jit.
        case gradient
        /// `fma(b, m, (1 - b) * x)`: adamw inside `optax.MultiSteps` (its `lax.cond` branch).
        case moment
    }

    public init(b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-8, epsRoot: Double = 0,
                contraction: MomentContraction = .gradient, bf16Leaves: Set<String> = []) {
        self.b1 = b1; self.b2 = b2; self.eps = eps; self.epsRoot = epsRoot; self.contraction = contraction
        self.bf16Leaves = bf16Leaves
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

    /// The constants of one step for a leaf held in bfloat16. optax's
    /// Python-float `b1`, `b2`, `eps` (and `1 - b`) are weakly typed, so JAX
    /// makes them bf16 constants: `bf16(0.9) = 0.8984375`,
    /// `bf16(0.1) = 0.100097656`, `bf16(0.999) = 1` (!),
    /// `bf16(0.001) = 0.000999450684`, `bf16(1e-8) = 1.00117177e-08`. The
    /// bias corrections `1 - b^t` are float32, cast to bf16; XLA divides by
    /// them as a multiply by the float32 reciprocal of that bf16 value.
    struct BF16Constants {
        var b1, oneMinusB1, b2, oneMinusB2, eps, epsRoot, inverseC1, inverseC2: Float
    }

    func bf16Constants(countAfter t: Int32) -> BF16Constants {
        BF16Constants(b1: roundToBF16(Float(b1)), oneMinusB1: roundToBF16(Float(1 - b1)),
                      b2: roundToBF16(Float(b2)), oneMinusB2: roundToBF16(Float(1 - b2)),
                      eps: roundToBF16(Float(eps)), epsRoot: roundToBF16(Float(epsRoot)),
                      inverseC1: 1 / roundToBF16(ScaleByAdam.biasCorrection(b1, t)),
                      inverseC2: 1 / roundToBF16(ScaleByAdam.biasCorrection(b2, t)))
    }

    /// One element of a bf16 leaf, as XLA:CPU computes optax's bf16 ops
    /// (each one a float32 op rounded to bf16, `r`; read from the optimised
    /// HLO and checked bit for bit, `scripts/golden/make_bf16_optimizer.py`):
    /// ```
    /// mu = r(r(g * bf16(1-b1)) + r(mu * bf16(b1)))
    /// nu = r(r(r(g * g) * bf16(1-b2)) + r(nu * bf16(b2)))
    /// u  = r(r(mu * (1 / r(c1))) / r(r(sqrt(r(nu * (1 / r(c2))))) + bf16(eps)))
    /// ```
    /// (`+ bf16(epsRoot)` rounded inside the root when epsRoot is not 0.)
    /// Inputs are rounded first: a bf16 leaf's gradient and moments are bf16
    /// values (a state saved before cnx kept them in bf16 becomes one here).
    @inline(__always)
    static func bf16Element(_ g: Float, _ mu: inout Float, _ nu: inout Float, _ k: BF16Constants) -> Float {
        let g = roundToBF16(g)
        mu = roundToBF16(roundToBF16(g * k.oneMinusB1) + roundToBF16(roundToBF16(mu) * k.b1))
        nu = roundToBF16(roundToBF16(roundToBF16(g * g) * k.oneMinusB2) + roundToBF16(roundToBF16(nu) * k.b2))
        let muHat = roundToBF16(mu * k.inverseC1)
        var nuHat = roundToBF16(nu * k.inverseC2)
        if k.epsRoot != 0 { nuHat = roundToBF16(nuHat + k.epsRoot) }
        return roundToBF16(muHat / roundToBF16(roundToBF16(nuHat.squareRoot()) + k.eps))
    }

    /// Adam over a bf16 leaf: (mu', nu', u).
    func bf16Leaf(_ g: Tensor, _ mu: Tensor, _ nu: Tensor, _ k: BF16Constants) -> (Tensor, Tensor, Tensor) {
        var m = mu.scalars, v = nu.scalars
        var u = [Float](repeating: 0, count: g.count)
        for i in 0..<g.count { u[i] = Self.bf16Element(g.scalars[i], &m[i], &v[i], k) }
        return (Tensor(shape: g.shape, scalars: m), Tensor(shape: g.shape, scalars: v), Tensor(shape: g.shape, scalars: u))
    }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        guard case let .adam(count, mu, nu) = state else {
            throw OptimizerError("scale_by_adam got a \(state.label) state: re-create the state with initialize")
        }
        try checkSameLeaves(grads, mu, "gradients", "Adam moments")
        let t = safeIncrement(count)
        let k = constants(countAfter: t)
        let kb = bf16Constants(countAfter: t)
        var newMu = mu, newNu = nu
        let updates = grads.map { path, g in
            if bf16Leaves.contains(path) {
                let (m, v, u) = bf16Leaf(g, mu[path]!, nu[path]!, kb)
                newMu[path] = m
                newNu[path] = v
                return u
            }
            let (m, v, u, _) = adamLeaf(g.scalars, mu[path]!.scalars, nu[path]!.scalars, params: nil, weightDecay: nil, step: 0, k)
            newMu[path] = Tensor(shape: g.shape, scalars: m)
            newNu[path] = Tensor(shape: g.shape, scalars: v)
            return Tensor(shape: g.shape, scalars: u)
        }
        return (updates, .adam(count: t, mu: newMu, nu: newNu))
    }

    public var description: String {
        "scale_by_adam(b1 \(b1), b2 \(b2), eps \(eps), eps_root \(epsRoot)\(bf16Description(bf16Leaves)))"
    }
}
