import JaxRandom

/// The rng streams a train-mode forward draws from, like
/// `model.apply(..., rngs={'dropout': ..., 'stochastic_depth': ...})`.
public struct ApplyRNGs: Sendable, Equatable, Codable {
    /// The `'dropout'` stream (head dropout, module `Dropout_0`).
    public var dropout: PRNGKey
    /// The `'stochastic_depth'` stream (each block's `StochasticDepth_0`).
    public var stochasticDepth: PRNGKey

    public init(dropout: PRNGKey, stochasticDepth: PRNGKey) {
        self.dropout = dropout
        self.stochasticDepth = stochasticDepth
    }
}

extension ConvNeXt {
    /// The per-sample keep mask of one block's stochastic depth in train mode:
    /// key = `FlaxRNG.moduleKey(sd, path: [backbone, block, "StochasticDepth_0"], counter: 1)`,
    /// `keep = uniform(key, [B]) < float32(1 - rate)`. Nil for a rate-0 block (no module).
    public static func stochasticDepthMask(_ key: PRNGKey, block: String, rate: Double, batch: Int) -> [Bool]? {
        guard rate > 0 else { return nil }
        let k = FlaxRNG.moduleKey(key, path: [backbone, block, Module.stochasticDepth], counter: 1)
        let keepProb = Float(1.0 - rate)
        return Random.uniform(k, count: batch).map { $0 < keepProb }
    }

    /// The head-dropout keep mask, shape [B, C] flattened: key =
    /// `FlaxRNG.moduleKey(dropout, path: ["Dropout_0"], counter: 1)`,
    /// `keep = uniform(key, [B, C]) < float32(1 - rate)`.
    public static func headDropoutMask(_ key: PRNGKey, rate: Double, count: Int) -> [Bool] {
        let k = FlaxRNG.moduleKey(key, path: [Module.dropout], counter: 1)
        let keepProb = Float(1.0 - rate)
        return Random.uniform(k, count: count).map { $0 < keepProb }
    }

    /// The scale applied to kept values: XLA compiles `x / keep_prob` as
    /// `x * float32(1 / float32(keep_prob))` (verified bit-for-bit in the golden data).
    public static func keepScale(rate: Double) -> Float {
        let keepProb = Float(1.0 - rate)
        return 1 / keepProb
    }
}
