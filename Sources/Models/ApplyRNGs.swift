import JaxRandom

/// The rng streams a train-mode forward draws from, like
/// `model.apply(..., rngs={'dropout': ..., 'stochastic_depth': ...})`.
public struct ApplyRNGs: Sendable, Equatable, Codable {
    /// The `'dropout'` stream (head dropout, module `Dropout_0`).
    public var dropout: PRNGKey
    /// The `'stochastic_depth'` stream (each block's `StochasticDepth_0`).
    public var stochasticDepth: PRNGKey
    /// Which rows of a larger batch this forward's batch is (data-parallel
    /// training): the masks are drawn for the whole batch and this slice is
    /// taken, so each replica drops exactly the samples a single process
    /// would. Nil: the batch is the whole batch.
    public var shard: BatchShard?

    public init(dropout: PRNGKey, stochasticDepth: PRNGKey, shard: BatchShard? = nil) {
        self.dropout = dropout
        self.stochasticDepth = stochasticDepth
        self.shard = shard
    }
}

/// Rows `offset ..< offset + size` of a batch of `global` samples: one
/// replica's part of a data-parallel step.
public struct BatchShard: Sendable, Equatable, Codable {
    public var offset: Int
    public var size: Int
    public var global: Int
    public init(offset: Int, size: Int, global: Int) {
        precondition(offset >= 0 && size >= 1 && offset + size <= global, "shard \(offset)+\(size) of \(global)")
        self.offset = offset
        self.size = size
        self.global = global
    }
    /// The shard's rows of a mask drawn for the whole batch, `perRow` flags a row.
    public func slice(_ mask: [Bool], perRow: Int = 1) -> [Bool] {
        Array(mask[(offset * perRow)..<((offset + size) * perRow)])
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

    /// `stochasticDepthMask` for `batch` rows, or, with a shard, the shard's
    /// rows of the mask drawn for its whole batch.
    static func stochasticDepthMask(_ key: PRNGKey, block: String, rate: Double, batch: Int, shard: BatchShard?) -> [Bool]? {
        guard let shard else { return stochasticDepthMask(key, block: block, rate: rate, batch: batch) }
        precondition(shard.size == batch, "shard of \(shard.size) rows for a batch of \(batch)")
        return stochasticDepthMask(key, block: block, rate: rate, batch: shard.global).map { shard.slice($0) }
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
