// The end of a block's residual branch in the bf16 model (docs/bf16.md):
//
//   s   = dot + bias                 Conv_2's bias (dot and bias are bf16 values)
//   y   = s * gamma                  LayerScale
//   y   = keep[n] ? y * scale : 0    stochastic depth
//   out = h + y                      the residual add
//
// With gamma in bf16 (the seed's quirk) every op is a bf16 op: each result is
// rounded to bf16, except `out` when `roundOutput` is false (its only consumer
// is a LayerNorm, which upcasts it to float32: XLA keeps the float32 sum).
// With gamma in float32, JAX promotes `s * gamma` to float32: `s`, `y` and
// `out` are float32 (not rounded), and so is the residual stream.
// `scale` is the stochastic-depth multiplier XLA uses (see `bf16KeepScale`).

/// The branch end's forward. Returns `out` and `s` (LayerScale's input, kept for backward).
public func bf16ResidualForward(_ h: Tensor, dot: Tensor, bias: Tensor, gamma: Tensor, gammaBF16: Bool,
                                keep: [Bool]?, keepScale: Float, roundOutput: Bool) -> (out: Tensor, s: Tensor) {
    precondition(dot.shape == h.shape, "bf16ResidualForward: branch \(dot.shape) is not \(h.shape)")
    let c = h.lastDim, rows = h.leadingCount
    let perSample = h.rank == 0 || h.shape[0] == 0 ? max(1, rows) : max(1, rows / h.shape[0])
    let round: (Float) -> Float = gammaBF16 ? roundToBF16 : { $0 }
    var s = dot.scalars, out = h.scalars
    let pb = bias.scalars, pg = gamma.scalars
    for row in 0..<rows {
        let kept = keep.map { $0[row / perSample] }
        for i in 0..<c {
            let k = row &* c &+ i
            let v = round(s[k] + pb[i])
            s[k] = v
            var y = round(v * pg[i])
            if let kept { y = kept ? round(y * keepScale) : 0 }
            let o = out[k] + y
            out[k] = roundOutput ? roundToBF16(o) : o
        }
    }
    return (Tensor(shape: h.shape, scalars: out), Tensor(shape: h.shape, scalars: s))
}

/// The branch end's backward from the output's cotangent `dy` (bf16 values
/// with a bf16 gamma): the cotangent of the Conv_2 dot's output (rounded to
/// bf16), Conv_2's bias gradient (its bf16 column sum, `bf16ColumnSums`) and
/// gamma's gradient (with a bf16 gamma the bf16 column sum of `r(dy * s)`,
/// else a float32 sum).
public func bf16ResidualBackward(_ dy: Tensor, s: Tensor, gamma: Tensor, gammaBF16: Bool, keep: [Bool]?, keepScale: Float)
    -> (dDot: Tensor, dBias: Tensor, dGamma: Tensor) {
    precondition(dy.shape == s.shape, "bf16ResidualBackward: dy \(dy.shape) is not \(s.shape)")
    let c = s.lastDim, rows = s.leadingCount
    let perSample = s.rank == 0 || s.shape[0] == 0 ? max(1, rows) : max(1, rows / s.shape[0])
    let round: (Float) -> Float = gammaBF16 ? roundToBF16 : { $0 }
    var dDot = [Float](repeating: 0, count: s.count)
    var dGamma = [Float](repeating: 0, count: c), dBias = [Float](repeating: 0, count: c)
    let pd = dy.scalars, ps = s.scalars, pg = gamma.scalars
    for row in 0..<rows {
        let kept = keep.map { $0[row / perSample] }
        for i in 0..<c {
            let k = row &* c &+ i
            var d = pd[k]
            if let kept { d = kept ? round(d * keepScale) : 0 }
            dGamma[i] = round(dGamma[i] + round(d * ps[k]))
            let ds = roundToBF16(d * pg[i])
            dDot[k] = ds
            dBias[i] = roundToBF16(dBias[i] + ds)
        }
    }
    return (Tensor(shape: s.shape, scalars: dDot), Tensor(shape: [c], scalars: dBias), Tensor(shape: [c], scalars: dGamma))
}
