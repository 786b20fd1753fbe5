#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// LayerNorm over the last axis, as Flax `nn.LayerNorm(use_fast_variance=True)`
// computes it (golden/README.md), with float32 statistics:
//
//   mu  = sum(x) * f32(1/C)                 (XLA multiplies by the reciprocal)
//   var = max(0, sum(x*x) * f32(1/C) - mu*mu)
//   rstd = 1 / sqrt(var + eps)
//   y   = (x - mu) * (rstd * scale) + bias   (one FMA per element)
//
// Backward, per row with xhat = (x - mu) * rstd and g = dy * scale:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
//   dScale = sum_rows dy * xhat,  dBias = sum_rows dy
// (the fast variance equals E[(x - mu)^2] exactly in real arithmetic, so the
// gradient is the textbook one).

/// Sum and sum of squares of `n` floats, SIMD16 lanes then a scalar tail.
@inline(__always)
private func sumAndSquares(_ r: UnsafePointer<Float>, _ n: Int) -> (Float, Float) {
    var s = V16(), q = V16()
    var i = 0
    while i &+ 16 <= n {
        let v = load16(r + i)
        s += v
        q = q.addingProduct(v, v)
        i &+= 16
    }
    var ss = s.sum(), qq = q.sum()
    while i < n { ss += r[i]; qq = qq.addingProduct(r[i], r[i]); i &+= 1 }
    return (ss, qq)
}

/// LayerNorm forward over the last axis. Returns `y` (shape of `x`) and the
/// per-row `mean` and `rstd` (shape `x.shape.dropLast()`) for the backward.
public func layerNormForward(_ x: Tensor, scale: Tensor, bias: Tensor, epsilon: Float)
    -> (y: Tensor, mean: Tensor, rstd: Tensor) {
    var stats: (mean: Tensor, rstd: Tensor)? = nil
    let y = Tensor.build(x.shape) { py in
        stats = layerNormRows(x, scale: scale, bias: bias, epsilon: epsilon,
                              store16: { v, at in store16(v, py + at) }, store: { v, at in py[at] = v })
    }
    return (y, stats!.mean, stats!.rstd)
}

/// LayerNorm forward with its output rounded to bf16 and kept as bits, as
/// a bf16 model's Conv_1 reads it (`r(y)`, half the bytes of `y`): the same
/// statistics and the same values as `layerNormForward(…).y.roundedToBF16()`.
public func layerNormForwardBF16(_ x: Tensor, scale: Tensor, bias: Tensor, epsilon: Float)
    -> (y: BF16Tensor, mean: Tensor, rstd: Tensor) {
    var stats: (mean: Tensor, rstd: Tensor)? = nil
    let y = BF16Tensor(shape: x.shape) { py in
        stats = layerNormRows(x, scale: scale, bias: bias, epsilon: epsilon,
                              store16: { v, at in
                                  let bits = unsafeBitCast(roundToBF16(v), to: SIMD16<UInt32>.self) &>> 16
                                  UnsafeMutableRawPointer(py + at).storeBytes(of: SIMD16<UInt16>(truncatingIfNeeded: bits),
                                                                              as: SIMD16<UInt16>.self)
                              },
                              store: { v, at in py[at] = UInt16(truncatingIfNeeded: roundToBF16(v).bitPattern >> 16) })
    }
    return (y, stats!.mean, stats!.rstd)
}

/// LayerNorm's rows: per row the statistics, then each output element
/// given to `store16` (16 at a time, at its element offset) or `store`
/// (the tail). Returns the per-row mean and rstd.
@inline(__always)
private func layerNormRows(_ x: Tensor, scale: Tensor, bias: Tensor, epsilon: Float,
                           store16 emit16: (V16, Int) -> Void, store emit: (Float, Int) -> Void) -> (mean: Tensor, rstd: Tensor) {
    let c = x.lastDim, rows = x.leadingCount
    precondition(scale.shape == [c] && bias.shape == [c],
                 "layerNormForward: scale \(scale.shape) / bias \(bias.shape) do not match last axis \(c)")
    let statShape = Array(x.shape.dropLast())
    var means = [Float](repeating: 0, count: rows)
    var rstds = [Float](repeating: 0, count: rows)
    let invN = 1 / Float(c)
    x.withPointer { px in
        scale.withPointer { ps in
            bias.withPointer { pb in
                means.withUnsafeMutableBufferPointer { pm in
                    rstds.withUnsafeMutableBufferPointer { pr in
                        let pm = pm.baseAddress!, pr = pr.baseAddress!
                        parallelChunks(rows, minChunk: max(1, 4096 / max(1, c))) { range in
                            for row in range {
                                let r = px + row &* c, o = row &* c
                                let (s, q) = sumAndSquares(r, c)
                                let mu = s * invN
                                let variance = max(0, q * invN - mu * mu)
                                let rstd = 1 / (variance + epsilon).squareRoot()
                                pm[row] = mu; pr[row] = rstd
                                let muV = V16(repeating: mu), rV = V16(repeating: rstd)
                                var i = 0
                                while i &+ 16 <= c {
                                    let m = rV * load16(ps + i)
                                    emit16(load16(pb + i).addingProduct(load16(r + i) - muV, m), o &+ i)
                                    i &+= 16
                                }
                                while i < c {
                                    emit(pb[i].addingProduct(r[i] - mu, rstd * ps[i]), o &+ i)
                                    i &+= 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return (Tensor(shape: statShape, scalars: means), Tensor(shape: statShape, scalars: rstds))
}

/// LayerNorm backward from the forward's per-row `mean` and `rstd`: dx (shape
/// of `x`), dScale and dBias `[C]` (partial sums over fixed chunks of rows, added
/// in chunk order: the same bits on any thread count).
public func layerNormBackward(_ dy: Tensor, x: Tensor, scale: Tensor, mean: Tensor, rstd: Tensor)
    -> (dx: Tensor, dScale: Tensor, dBias: Tensor) {
    let c = x.lastDim, rows = x.leadingCount
    precondition(dy.shape == x.shape, "layerNormBackward: dy \(dy.shape) is not \(x.shape)")
    precondition(mean.count == rows && rstd.count == rows,
                 "layerNormBackward: mean/rstd hold \(mean.count)/\(rstd.count) rows, x has \(rows)")
    let invN = 1 / Float(c)
    // Per chunk of rows a [dScale | dBias] partial, by fixed row chunks, so the
    // sums do not depend on the thread count.
    var sums: [Float] = []
    let dx = x.withPointer { px in
        dy.withPointer { pdy in
            scale.withPointer { ps in
                mean.withPointer { pm in
                    rstd.withPointer { pr in
                        Tensor.build(x.shape) { pdx in
                            sums = chunkedColumnSums(RowChunks(rows: rows, minRows: 8), rows: rows, width: 2 &* c) { range, gs in
                                let gb = gs + c
                                for row in range {
                                    let r = px + row &* c, d = pdy + row &* c, o = pdx + row &* c
                                    let mu = pm[row], rs = pr[row]
                                    let muV = V16(repeating: mu), rV = V16(repeating: rs)
                                    // Pass 1: sum(g) and sum(g * xhat); accumulate dScale, dBias.
                                    var sg = V16(), sgx = V16()
                                    var i = 0
                                    while i &+ 16 <= c {
                                        let xh = (load16(r + i) - muV) * rV
                                        let dv = load16(d + i)
                                        let g = dv * load16(ps + i)
                                        sg += g
                                        sgx = sgx.addingProduct(g, xh)
                                        store16(load16(gs + i).addingProduct(dv, xh), gs + i)
                                        store16(load16(gb + i) + dv, gb + i)
                                        i &+= 16
                                    }
                                    var sumG = sg.sum(), sumGX = sgx.sum()
                                    while i < c {
                                        let xh = (r[i] - mu) * rs
                                        let g = d[i] * ps[i]
                                        sumG += g
                                        sumGX = sumGX.addingProduct(g, xh)
                                        gs[i] = gs[i].addingProduct(d[i], xh)
                                        gb[i] += d[i]
                                        i &+= 1
                                    }
                                    // Pass 2: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
                                    let mg = sumG * invN, mgx = sumGX * invN
                                    let mgV = V16(repeating: mg), mgxV = V16(repeating: mgx)
                                    i = 0
                                    while i &+ 16 <= c {
                                        let xh = (load16(r + i) - muV) * rV
                                        let g = load16(d + i) * load16(ps + i)
                                        store16(rV * (g - mgV - xh * mgxV), o + i)
                                        i &+= 16
                                    }
                                    while i < c {
                                        let xh = (r[i] - mu) * rs
                                        let g = d[i] * ps[i]
                                        o[i] = rs * (g - mg - xh * mgx)
                                        i &+= 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let dScale = Array(sums[0..<c]), dBias = Array(sums[c..<(2 * c)])
    return (dx, Tensor(shape: [c], scalars: dScale), Tensor(shape: [c], scalars: dBias))
}
