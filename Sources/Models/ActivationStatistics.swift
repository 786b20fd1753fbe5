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
    /// skipped).
    public init(_ t: Tensor) { self.init(t, channelScale: nil) }

    /// Statistics of `t * channelScale` (per channel of the last axis, the
    /// float32 products LayerScale computes) without building the product.
    ///
    /// Elements are summed in float32, 16 lanes at a time, and the lanes go
    /// to Double every 1024 elements or so; chunks of rows are reduced in
    /// parallel and combined in order, so the result does not depend on the
    /// thread count.
    public init(_ t: Tensor, channelScale: Tensor?) {
        struct Partial { var s = 0.0, s2 = 0.0, sa = 0.0, lo = Float.infinity, hi = -Float.infinity, bad = 0 }
        let c = Swift.max(1, t.shape.last ?? 1), rows = t.count / c
        if let channelScale { precondition(channelScale.count == c, "channelScale has \(channelScale.count) values for \(c) channels") }
        let rowsPerChunk = Swift.max(1, (1 << 16) / c)
        let nChunks = (rows + rowsPerChunk - 1) / rowsPerChunk
        var partials = [Partial](repeating: Partial(), count: nChunks)
        let scale = channelScale?.scalars ?? []
        t.scalars.withUnsafeBufferPointer { src in
            scale.withUnsafeBufferPointer { sc in
                partials.withUnsafeMutableBufferPointer { dst in
                    // An empty array may still have a base address: no scale means nil here.
                    let io = UncheckedSendable((src.baseAddress, channelScale == nil ? nil : sc.baseAddress, dst.baseAddress!))
                    parallelFor(nChunks) { chunk in
                        let (src, sc, dst) = io.value
                        guard let src else { return }
                        var p = Partial()
                        var s = SIMD16<Float>(), s2 = SIMD16<Float>(), sa = SIMD16<Float>()
                        var lo = SIMD16<Float>(repeating: .infinity), hi = SIMD16<Float>(repeating: -.infinity)
                        var pending = 0  // elements in the float32 lanes since the last flush
                        for row in (chunk * rowsPerChunk)..<Swift.min(rows, (chunk + 1) * rowsPerChunk) {
                            let r = src + row * c
                            var i = 0
                            while i + 16 <= c {
                                var v = UnsafeRawPointer(r + i).loadUnaligned(as: SIMD16<Float>.self)
                                if let sc { v = v * UnsafeRawPointer(sc + i).loadUnaligned(as: SIMD16<Float>.self) }
                                let magnitude = v.replacing(with: -v, where: v .< 0)
                                if any(.!(magnitude .< .infinity)) { break }  // a NaN or Inf: the scalar loop counts it
                                s += v; s2 = s2.addingProduct(v, v); sa += magnitude
                                // (Selects, not pointwiseMin/Max, which Swift lowers lane by lane.)
                                lo = lo.replacing(with: v, where: v .< lo); hi = hi.replacing(with: v, where: v .> hi)
                                i += 16
                            }
                            pending += i
                            while i < c {
                                var v = r[i]
                                if let sc { v = v * sc[i] }
                                i += 1
                                if !v.isFinite { p.bad += 1; continue }
                                let d = Double(v)
                                p.s += d; p.s2 += d * d; p.sa += Swift.abs(d)
                                p.lo = Swift.min(p.lo, v); p.hi = Swift.max(p.hi, v)
                            }
                            // Float32 lanes hold at most 64 elements each before going to Double.
                            if pending >= 1024 {
                                p.s += Double(s.sum()); p.s2 += Double(s2.sum()); p.sa += Double(sa.sum())
                                s = SIMD16<Float>(); s2 = SIMD16<Float>(); sa = SIMD16<Float>()
                                pending = 0
                            }
                        }
                        p.s += Double(s.sum()); p.s2 += Double(s2.sum()); p.sa += Double(sa.sum())
                        p.lo = Swift.min(p.lo, lo.min()); p.hi = Swift.max(p.hi, hi.max())
                        dst[chunk] = p
                    }
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
