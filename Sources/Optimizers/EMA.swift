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
public struct EMA: GradientTransformation {
    public enum Kind: String, Sendable, Codable { case plain, v2 }

    public var decay: Double
    public var kind: Kind
    public var debias: Bool

    public init(decay: Double, kind: Kind = .v2, debias: Bool = true) {
        self.decay = decay
        self.kind = kind
        self.debias = debias
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
        let out = newEMA.map { _, m in mapScalars(m) { $0 / correction } }
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
        let newEMA = ema.map { path, m in zipMap(params[path]!, m) { p, m in (d * m).addingProduct(oneMinusD, p) } }
        return .ema(count: safeIncrement(count), ema: newEMA)
    }

    /// Feeds new parameters; returns the debiased output and the next state.
    public func update(with params: TensorTree, state: OptimizerState) throws -> (output: TensorTree, state: OptimizerState) {
        let (u, s) = try update(params, state: state, params: params)
        return (u, s)
    }

    public var description: String {
        "\(kind == .v2 ? "ema_v2" : "ema")(decay \(decay), debias \(debias))"
    }
}
