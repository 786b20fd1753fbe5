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

/// `v` rounded to bf16 when `on`, else as it is.
@inline(__always)
private func rounded(_ v: V16, _ on: Bool) -> V16 { on ? roundToBF16(v) : v }

/// The branch end's forward. Returns `out` and `s` (LayerScale's input, kept
/// for backward). Rows in parallel, 16 channels at a time.
public func bf16ResidualForward(_ h: Tensor, dot: Tensor, bias: Tensor, gamma: Tensor, gammaBF16: Bool,
                                keep: [Bool]?, keepScale: Float, roundOutput: Bool) -> (out: Tensor, s: Tensor) {
    precondition(dot.shape == h.shape, "bf16ResidualForward: branch \(dot.shape) is not \(h.shape)")
    let c = h.lastDim, rows = h.leadingCount
    let perSample = h.rank == 0 || h.shape[0] == 0 ? max(1, rows) : max(1, rows / h.shape[0])
    var s = dot, out = h
    s.scalars.withUnsafeMutableBufferPointer { sb in
        out.scalars.withUnsafeMutableBufferPointer { ob in
            bias.withPointer { pb in
                gamma.withPointer { pg in
                    let io = UncheckedSendable((sb.baseAddress!, ob.baseAddress!, pb, pg))
                    parallelChunks(rows, minChunk: max(1, 16384 / max(1, c))) { range in
                        let (ps, po, pb, pg) = io.value
                        for row in range {
                            let kept = keep.map { $0[row / perSample] }
                            var i = 0
                            while i < c {
                                let k = row &* c &+ i, valid = min(16, c &- i)
                                let v = rounded(load16(ps + k, valid: valid) + load16(pb + i, valid: valid), gammaBF16)
                                store16(v, ps + k, valid: valid)
                                var y = rounded(v * load16(pg + i, valid: valid), gammaBF16)
                                if let kept { y = kept ? rounded(y * V16(repeating: keepScale), gammaBF16) : V16() }
                                store16(rounded(load16(po + k, valid: valid) + y, roundOutput), po + k, valid: valid)
                                i &+= 16
                            }
                        }
                    }
                }
            }
        }
    }
    return (out, s)
}

/// The branch end's backward from the output's cotangent `dy` (bf16 values
/// with a bf16 gamma): the cotangent of the Conv_2 dot's output (rounded to
/// bf16), Conv_2's bias gradient (its bf16 column sum, as `bf16ColumnSums`)
/// and gamma's gradient (with a bf16 gamma the bf16 column sum of
/// `r(dy * s)`, else a float32 sum in row order). Groups of 16 channels in
/// parallel, each over the rows in order: the same bits on any thread count.
public func bf16ResidualBackward(_ dy: Tensor, s: Tensor, gamma: Tensor, gammaBF16: Bool, keep: [Bool]?, keepScale: Float)
    -> (dDot: Tensor, dBias: Tensor, dGamma: Tensor) {
    precondition(dy.shape == s.shape, "bf16ResidualBackward: dy \(dy.shape) is not \(s.shape)")
    let c = s.lastDim, rows = s.leadingCount
    let perSample = s.rank == 0 || s.shape[0] == 0 ? max(1, rows) : max(1, rows / s.shape[0])
    var dGamma = Tensor.zeros([c]), dBias = Tensor.zeros([c])
    let dDot = dy.withPointer { pd in
        s.withPointer { ps in
            gamma.withPointer { pg in
                Tensor.build(s.shape) { pdd in
                    dGamma.scalars.withUnsafeMutableBufferPointer { gb in
                        dBias.scalars.withUnsafeMutableBufferPointer { bb in
                            let io = UncheckedSendable((pd, ps, pg, pdd, gb.baseAddress!, bb.baseAddress!))
                            parallelFor((c + 15) / 16) { group in
                                let (pd, ps, pg, pdd, pgam, pbias) = io.value
                                let first = group &* 16, valid = min(16, c &- first)
                                let g = load16(pg + first, valid: valid)
                                var accGamma = V16(), accBias = V16()
                                for row in 0..<rows {
                                    let k = row &* c &+ first
                                    var d = load16(pd + k, valid: valid)
                                    if let keep {
                                        d = keep[row / perSample] ? rounded(d * V16(repeating: keepScale), gammaBF16) : V16()
                                    }
                                    accGamma = rounded(accGamma + rounded(d * load16(ps + k, valid: valid), gammaBF16), gammaBF16)
                                    let ds = roundToBF16(d * g)
                                    store16(ds, pdd + k, valid: valid)
                                    accBias = roundToBF16(accBias + ds)
                                }
                                store16(accGamma, pgam + first, valid: valid)
                                store16(accBias, pbias + first, valid: valid)
                            }
                        }
                    }
                }
            }
        }
    }
    return (dDot, dBias, dGamma)
}
