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

    /// Statistics of `t`'s elements (non-finite values are counted and
    /// skipped). Chunks are reduced in parallel, then combined in order.
    public init(_ t: Tensor) {
        struct Partial { var s = 0.0, s2 = 0.0, sa = 0.0, lo = Float.infinity, hi = -Float.infinity, bad = 0 }
        let chunk = 1 << 16
        let nChunks = (t.count + chunk - 1) / chunk
        var partials = [Partial](repeating: Partial(), count: nChunks)
        t.scalars.withUnsafeBufferPointer { src in
            partials.withUnsafeMutableBufferPointer { dst in
                let io = UncheckedSendable((src, dst))
                parallelFor(nChunks) { c in
                    let (src, dst) = io.value
                    var p = Partial()
                    for i in (c * chunk)..<Swift.min(src.count, (c + 1) * chunk) {
                        let v = src[i]
                        if !v.isFinite { p.bad += 1; continue }
                        let d = Double(v)
                        p.s += d; p.s2 += d * d; p.sa += Swift.abs(d)
                        p.lo = Swift.min(p.lo, v); p.hi = Swift.max(p.hi, v)
                    }
                    dst[c] = p
                }
            }
        }
        var total = Partial()
        for p in partials {
            total.s += p.s; total.s2 += p.s2; total.sa += p.sa; total.bad += p.bad
            total.lo = Swift.min(total.lo, p.lo); total.hi = Swift.max(total.hi, p.hi)
        }
        let n = Double(Swift.max(1, t.count - total.bad))
        count = t.count
        mean = total.s / n
        std = (Swift.max(0, total.s2 / n - mean * mean)).squareRoot()
        min = total.lo
        max = total.hi
        meanAbs = total.sa / n
        nonFinite = total.bad
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
