import Tensors

/// Summary statistics of one activation tensor (computed in Double).
public struct ActivationStatistics: Sendable, Equatable, Codable {
    public var count: Int
    public var mean: Double
    public var std: Double
    public var min: Float
    public var max: Float
    public var meanAbs: Double
    /// Number of non-finite elements (NaN or Inf).
    public var nonFinite: Int

    /// Statistics of `t`'s elements (non-finite values are counted and skipped).
    public init(_ t: Tensor) {
        var s = 0.0, s2 = 0.0, sa = 0.0
        var lo = Float.infinity, hi = -Float.infinity
        var bad = 0
        t.scalars.withUnsafeBufferPointer { p in
            for v in p {
                if !v.isFinite { bad += 1; continue }
                let d = Double(v)
                s += d; s2 += d * d; sa += Swift.abs(d)
                lo = Swift.min(lo, v); hi = Swift.max(hi, v)
            }
        }
        let n = Double(Swift.max(1, t.count - bad))
        count = t.count
        mean = s / n
        std = (Swift.max(0, s2 / n - (s / n) * (s / n))).squareRoot()
        min = lo
        max = hi
        meanAbs = sa / n
        nonFinite = bad
    }
}

/// What one block did in a forward pass, for `show activations`.
public struct BlockRecord: Sendable, Equatable {
    /// The block's place and rate.
    public var block: ConvNeXt.BlockInfo
    /// Statistics of the block's output (`x + branch`).
    public var output: ActivationStatistics
    /// Statistics of the residual branch after LayerScale, before stochastic depth.
    public var branch: ActivationStatistics
    /// Per-sample keep mask of stochastic depth (nil in eval mode or for a rate-0 block).
    public var kept: [Bool]?
    /// The samples stochastic depth dropped (empty when none).
    public var droppedSamples: [Int] { kept.map { k in k.indices.filter { !k[$0] } } ?? [] }
}
