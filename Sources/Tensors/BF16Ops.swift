// Elementwise passes of the bf16 model, each rounding where XLA:CPU rounds
// (docs/bf16.md). XLA computes a bf16 elementwise op by converting its
// operands to float32, computing in float32 and converting the result back
// to bf16, one op at a time; the only pairs it removes are an op whose bf16
// result is upcast again by an explicit f32 convert (LayerNorm's statistics,
// `jnp.mean`, `erfc`), which then sees the unrounded float32 value.
//
// GELU, `0.5 * x * erfc(-x * bf16(sqrt(0.5)))` with x bf16 (jax.nn.gelu):
//   half = r(0.5 x), m = -x * 0.70703125 (f32, not rounded: erfc upcasts it),
//   e = r(erfc_f32(m)), y = r(half * e)
// Its JAX gradient, op by op (g the bf16 cotangent, -1.125 = bf16(-2/sqrt(pi))):
//   dE = r(half g), t = r(dE * -1.125), mr = r(-x * 0.70703125), q = r(mr mr),
//   ex = r(exp(-q)), dM = r(t ex), dA1 = -r(dM * 0.70703125),
//   dH = r(g e), dA2 = r(dH * 0.5), dx = r(dA1 + dA2)
// (r = round to bf16, ties to even).

/// bf16(sqrt(0.5)), the constant jax.nn.gelu multiplies by in a bf16 model.
let bf16SqrtHalf: Float = 0.70703125
/// bf16(-2/sqrt(pi)), erfc's derivative constant in a bf16 model.
let bf16MinusTwoOverSqrtPi: Float = -1.125

/// `x + bias` over the last axis, rounded to bf16 when `round` is true, in place.
public func bf16AddBias(_ x: inout Tensor, _ bias: Tensor, round: Bool) {
    let c = x.lastDim, rows = x.leadingCount
    precondition(bias.shape == [c], "bf16AddBias: bias \(bias.shape) does not match last axis \(c)")
    if x.count == 0 { return }
    bias.withPointer { pb in
        x.scalars.withUnsafeMutableBufferPointer { xb in
            let p = UncheckedSendable(xb.baseAddress!)
            parallelChunks(rows, minChunk: max(1, 16384 / max(1, c))) { range in
                for row in range {
                    let o = p.value + row &* c
                    // 16 lanes at a time (a scalar loop did not vectorise), the tail masked.
                    var i = 0
                    while i < c {
                        let valid = min(16, c &- i)
                        let v = load16(o + i, valid: valid) + load16(pb + i, valid: valid)
                        store16(round ? roundToBF16(v) : v, o + i, valid: valid)
                        i &+= 16
                    }
                }
            }
        }
    }
}

/// bf16 GELU forward of bf16 values `x` (see the file comment).
public func bf16GELUForward(_ x: Tensor) -> Tensor {
    mapLanes(x) { v in
        let half = roundToBF16(V16(repeating: 0.5) * v)
        let e = roundToBF16(erfcV16(-v * V16(repeating: bf16SqrtHalf)))
        return roundToBF16(half * e)
    }
}

/// bf16 GELU backward: the gradient with respect to `x` (bf16 values) from
/// the bf16 cotangent `dy`, as JAX differentiates `jax.nn.gelu` in bf16.
public func bf16GELUBackward(_ dy: Tensor, x: Tensor) -> Tensor {
    precondition(dy.shape == x.shape, "bf16GELUBackward: dy \(dy.shape) is not \(x.shape)")
    return zipLanes(dy, x) { g, v in bf16GELUAndGradient(g, v).dx }
}

/// bf16 GELU's output and its gradient from one pass (one erfc per element):
/// `(bf16GELUForward(x), bf16GELUBackward(dy, x))`, the same bits. The
/// backward pass recomputes the output for Conv_2's weight gradient.
public func bf16GELUForwardAndBackward(_ dy: Tensor, x: Tensor) -> (y: Tensor, dx: Tensor) {
    precondition(dy.shape == x.shape, "bf16GELUForwardAndBackward: dy \(dy.shape) is not \(x.shape)")
    let n = x.count
    var y = Tensor.zeros([0])
    let dx = dy.withPointer { pd in
        x.withPointer { px in
            Tensor.build(x.shape) { pdx in
                y = Tensor.build(x.shape) { py in
                    let io = UncheckedSendable((pd, px, pdx, py))
                    parallelChunks((n + 15) / 16, minChunk: 1024) { range in
                        let (pd, px, pdx, py) = io.value
                        for blk in range {
                            let i = blk &* 16, valid = min(16, n &- i)
                            let r = bf16GELUAndGradient(load16(pd + i, valid: valid), load16(px + i, valid: valid))
                            store16(r.y, py + i, valid: valid)
                            store16(r.dx, pdx + i, valid: valid)
                        }
                    }
                }
            }
        }
    }
    return (y, dx)
}

/// GELU's bf16 output and gradient on 16 lanes (see the file comment).
@inline(__always)
private func bf16GELUAndGradient(_ g: V16, _ v: V16) -> (y: V16, dx: V16) {
    let s = V16(repeating: bf16SqrtHalf)
    let half = roundToBF16(V16(repeating: 0.5) * v)
    let e = roundToBF16(erfcV16(-v * s))
    let y = roundToBF16(half * e)
    let dE = roundToBF16(half * g)
    let t = roundToBF16(dE * V16(repeating: bf16MinusTwoOverSqrtPi))
    let mr = roundToBF16(-v * s)
    let q = roundToBF16(mr * mr)
    let ex = roundToBF16(expV16(-q))
    let dM = roundToBF16(t * ex)
    let dA1 = -roundToBF16(dM * s)
    let dH = roundToBF16(g * e)
    let dA2 = roundToBF16(dH * V16(repeating: 0.5))
    return (y, roundToBF16(dA1 + dA2))
}

/// `f` on every 16 lanes of `x` (a zero-padded tail), in parallel.
func mapLanes(_ x: Tensor, _ f: (V16) -> V16) -> Tensor {
    let n = x.count
    return x.withPointer { px in
        Tensor.build(x.shape) { py in
            parallelChunks((n + 15) / 16, minChunk: 1024) { range in
                for blk in range {
                    let i = blk &* 16, valid = min(16, n &- i)
                    store16(f(load16(px + i, valid: valid)), py + i, valid: valid)
                }
            }
        }
    }
}

/// `f` on every 16 lanes of `a` and `b` (same shape), in parallel.
func zipLanes(_ a: Tensor, _ b: Tensor, _ f: (V16, V16) -> V16) -> Tensor {
    let n = a.count
    return a.withPointer { pa in
        b.withPointer { pb in
            Tensor.build(a.shape) { py in
                parallelChunks((n + 15) / 16, minChunk: 1024) { range in
                    for blk in range {
                        let i = blk &* 16, valid = min(16, n &- i)
                        store16(f(load16(pa + i, valid: valid), load16(pb + i, valid: valid)), py + i, valid: valid)
                    }
                }
            }
        }
    }
}

/// The sum over all rows of `t` per channel (last axis) as XLA:CPU reduces a
/// bf16 tensor: rows in order, the running sum rounded to bf16 after every
/// add (its reducer computes each add in float32 and converts back to bf16).
/// A bf16 model's bias gradients and γ's gradient are such sums.
/// Channels go 16 at a time, groups of 16 in parallel; each channel's sum
/// runs over the rows in order whatever the split, so the same bits on any
/// thread count.
public func bf16ColumnSums(_ t: Tensor) -> Tensor {
    let c = t.lastDim, rows = t.leadingCount
    return t.withPointer { p in
        let src = UncheckedSendable(p)
        return Tensor.build([c], zeroed: true) { out in
            let dst = UncheckedSendable(out)
            parallelFor((c + 15) / 16) { group in
                let first = group &* 16, valid = min(16, c &- first)
                var acc = V16()
                for row in 0..<rows {
                    acc = roundToBF16(acc + load16(src.value + (row &* c &+ first), valid: valid))
                }
                store16(acc, dst.value + first, valid: valid)
            }
        }
    }
}
