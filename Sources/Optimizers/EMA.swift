import Tensors

/// Exponential moving averages of parameters, fed with the parameters after
/// each step (the "updates" of this transformation are parameters).
///
/// * `.v2` is the seed's `model_ema.py` (`ema_v2` in the reference):
///   `d = min(decay, (1 + count) / (10 + count))` in float32, so the average
///   warms up (0.1, 0.1818, 0.25, ... for counts 0, 1, 2).
/// * `.plain` is `optax.ema(decay)`: `d = decay` always.
///
/// Both store the un-debiased average `ema = fma(1 - d, p, d * ema)`
/// (XLA's contraction of `(1-d) p + d ema`) starting from zeros, and output
/// `ema / (1 - d^count')` when `debias` is on (`count' = count + 1`; `.v2`
/// uses the current `d`, as the seed does; `.plain` is optax's bias
/// correction). The seed evaluates with the stored average, not the output.
///
/// A leaf in `bf16Leaves` (a bf16 model's γ) keeps a bf16 average, as in
/// JAX: its state starts as `zeros_like(params)` (bf16), and both `d`
/// (ema_v2's is a weakly typed float32, optax.ema's a Python float) and
/// `1 - d` become bf16 constants, so the update is bf16 ops:
/// `ema = r(r(bf16(1 - d) * r(p)) + r(bf16(d) * ema))` (checked bit for bit
/// against the seed's `ema_v2`, plain and inside `MultiSteps`, whose
/// float32 window mean is cast to bf16 first). Once `d > 0.998046875`
/// (ema_v2's warm-up passes it after 4,598 updates), `bf16(d) = 1`: γ's
/// average stops decaying, and each update adds `r(bf16(1 - d) * p)`, which
/// is lost whenever it is below half an ulp of the average.
public struct EMA: GradientTransformation {
    public enum Kind: String, Sendable, Codable { case plain, v2 }

    public var decay: Double
    public var kind: Kind
    public var debias: Bool
    /// The paths of the leaves held in bfloat16.
    public var bf16Leaves: Set<String>

    public init(decay: Double, kind: Kind = .v2, debias: Bool = true, bf16Leaves: Set<String> = []) {
        self.decay = decay
        self.kind = kind
        self.debias = debias
        self.bf16Leaves = bf16Leaves
    }

    public func initialize(_ params: TensorTree) -> OptimizerState { .ema(count: 0, ema: params.zerosLike()) }

    /// The decay used by the update that follows `count` updates.
    public func decayUsed(count: Int32) -> Float {
        switch kind {
        case .plain: return Float(decay)
        case .v2:
            let c = Float(count)
            return min(Float(decay), (1 + c) / (10 + c))
        }
    }

    /// The stored average in a state.
    public static func average(_ state: OptimizerState) -> TensorTree? {
        guard case let .ema(_, ema) = state else { return nil }
        return ema
    }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        let nextState = try advance(with: grads, state: state)
        // advance checked the state; its count picks the decay the debiasing uses.
        guard case let .ema(count, _) = state, case let .ema(next, newEMA) = nextState else {
            throw OptimizerError("EMA got a \(state.label) state: re-create the state with initialize")
        }
        guard debias else { return (newEMA, nextState) }
        let correction = 1 - xlaPow(step(count: count).decay, Float(next))
        // A bf16 average divides by the bf16 correction, as a multiply by its reciprocal (as XLA does in Adam).
        let inverseBF16 = 1 / roundToBF16(correction)
        let out = newEMA.map { path, m in
            bf16Leaves.contains(path) ? mapScalars(m) { roundToBF16($0 * inverseBF16) } : mapScalars(m) { $0 / correction }
        }
        return (out, nextState)
    }

    /// `d` and `1 - d` for the update that follows `count` updates, as
    /// `update` uses them (optax.ema's `1 - decay` is a Python float rounded
    /// once; ema_v2's `d` is a float32 value).
    func step(count: Int32) -> (decay: Float, oneMinusDecay: Float) {
        let d = decayUsed(count: count)
        return (d, kind == .plain ? Float(1 - decay) : 1 - d)
    }

    /// Feeds new parameters and returns only the next state (the stored
    /// averages): `update(with:state:).state` without building the debiased output.
    public func advance(with params: TensorTree, state: OptimizerState) throws -> OptimizerState {
        guard case let .ema(count, ema) = state else {
            throw OptimizerError("EMA got a \(state.label) state: re-create the state with initialize")
        }
        try checkSameLeaves(params, ema, "parameters", "EMA parameters")
        let (d, oneMinusD) = step(count: count)
        let newEMA = ema.map { path, m in
            bf16Leaves.contains(path) ? zipMap(params[path]!, m) { p, m in EMA.bf16Element(p, m, d: d, oneMinusD: oneMinusD) }
                                      : zipMap(params[path]!, m) { p, m in (d * m).addingProduct(oneMinusD, p) }
        }
        return .ema(count: safeIncrement(count), ema: newEMA)
    }

    /// One element of a bf16 average: `r(r(bf16(1 - d) * r(p)) + r(bf16(d) * r(m)))`.
    @inline(__always)
    static func bf16Element(_ p: Float, _ m: Float, d: Float, oneMinusD: Float) -> Float {
        roundToBF16(roundToBF16(roundToBF16(oneMinusD) * roundToBF16(p)) + roundToBF16(roundToBF16(d) * roundToBF16(m)))
    }

    /// Feeds new parameters; returns the debiased output and the next state.
    public func update(with params: TensorTree, state: OptimizerState) throws -> (output: TensorTree, state: OptimizerState) {
        let (u, s) = try update(params, state: state, params: params)
        return (u, s)
    }

    public var description: String {
        "\(kind == .v2 ? "ema_v2" : "ema")(decay \(decay), debias \(debias)\(bf16Description(bf16Leaves)))"
    }
}
