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
/// for backward; empty without `keepBranch`). Rows in parallel, 16 channels at a time.
public func bf16ResidualForward(_ h: Tensor, dot: Tensor, bias: Tensor, gamma: Tensor, gammaBF16: Bool,
                                keep: [Bool]?, keepScale: Float, roundOutput: Bool, keepBranch: Bool = true) -> (out: Tensor, s: Tensor) {
    precondition(dot.shape == h.shape, "bf16ResidualForward: branch \(dot.shape) is not \(h.shape)")
    let c = h.lastDim, rows = h.leadingCount
    let perSample = h.rank == 0 || h.shape[0] == 0 ? max(1, rows) : max(1, rows / h.shape[0])
    // Both results into new tensors in one pass (copies of `dot` and `h` changed in place read and wrote them twice).
    var s = Tensor.zeros([0])
    let out = h.withPointer { ph in
        dot.withPointer { pdot in
            bias.withPointer { pb in
                gamma.withPointer { pg in
                    Tensor.build(h.shape) { po in
                        func run(_ ps: UnsafeMutablePointer<Float>?) {
                            let io = UncheckedSendable((ph, pdot, ps, po, pb, pg))
                            parallelChunks(rows, minChunk: max(1, 16384 / max(1, c))) { range in
                                let (ph, pdot, ps, po, pb, pg) = io.value
                                for row in range {
                                    let kept = keep.map { $0[row / perSample] }
                                    var i = 0
                                    while i < c {
                                        let k = row &* c &+ i, valid = min(16, c &- i)
                                        let v = rounded(load16(pdot + k, valid: valid) + load16(pb + i, valid: valid), gammaBF16)
                                        if let ps { store16(v, ps + k, valid: valid) }
                                        var y = rounded(v * load16(pg + i, valid: valid), gammaBF16)
                                        if let kept { y = kept ? rounded(y * V16(repeating: keepScale), gammaBF16) : V16() }
                                        store16(rounded(load16(ph + k, valid: valid) + y, roundOutput), po + k, valid: valid)
                                        i &+= 16
                                    }
                                }
                            }
                        }
                        // Without `keepBranch` (inference) `s` is not written: it stays empty.
                        if keepBranch { s = Tensor.build(dot.shape) { run($0) } } else { run(nil) }
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
/// `r(dy * s)`, else a float32 sum in row order). Tasks of 4 groups of 16
/// channels in parallel (`ChannelQuad`: their running sums advance together),
/// each over the rows in order: the same bits on any thread count.
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
                            parallelFor((c + 63) / 64) { quad in
                                let (pd, ps, pg, pdd, pgam, pbias) = io.value
                                let lanes = ChannelQuad(first: quad &* 64, channels: c)
                                let g = lanes.load(pg)
                                var accGamma = (V16(), V16(), V16(), V16()), accBias = accGamma
                                // One group's step: its two running sums, and dDot's lanes returned.
                                @inline(__always)
                                func step(_ d: V16, _ s: V16, _ g: V16, _ accGamma: inout V16, _ accBias: inout V16, _ kept: Bool?) -> V16 {
                                    var d = d
                                    if let kept { d = kept ? rounded(d * V16(repeating: keepScale), gammaBF16) : V16() }
                                    accGamma = rounded(accGamma + rounded(d * s, gammaBF16), gammaBF16)
                                    let ds = roundToBF16(d * g)
                                    accBias = roundToBF16(accBias + ds)
                                    return ds
                                }
                                for row in 0..<rows {
                                    let kept = keep.map { $0[row / perSample] }
                                    let d = lanes.load(pd + row &* c), sv = lanes.load(ps + row &* c)
                                    let out = (step(d.0, sv.0, g.0, &accGamma.0, &accBias.0, kept),
                                               step(d.1, sv.1, g.1, &accGamma.1, &accBias.1, kept),
                                               step(d.2, sv.2, g.2, &accGamma.2, &accBias.2, kept),
                                               step(d.3, sv.3, g.3, &accGamma.3, &accBias.3, kept))
                                    lanes.store(out, pdd + row &* c)
                                }
                                lanes.store(accGamma, pgam)
                                lanes.store(accBias, pbias)
                            }
                        }
                    }
                }
            }
        }
    }
    return (dDot, dBias, dGamma)
}
