// Depthwise convolution, stride 1, SAME padding, odd kernel k (ConvNeXt: 7).
// x NHWC [B, H, W, C], kernel HWIO [k, k, 1, C], bias [C], p = (k - 1) / 2:
//
//   y[n, h, w, c] = sum_{i, j} x[n, h + i - p, w + j - p, c] * K[i, j, c] + b[c]
//
// Every kernel first copies its image input into a zero-padded buffer
// [B, H + 2p, W + 2p, Cp] (Cp = C rounded up to 16), so inner loops have no
// bounds checks and always work on whole SIMD16 channel vectors. For k = 7 the
// work is done in register tiles of 7 output columns x 16 channels
// (DepthwiseTiles.swift); remaining columns and other k use a one-column loop
// with the same (kh, kw) summation order.
//
// Backward (stride 1, symmetric padding): dx is the same correlation of dy
// with the kernel flipped in both spatial axes; dK[i, j, c] =
// sum_{n,h,w} dy[n, h, w, c] * x[n, h + i - p, w + j - p, c]; db = sum dy.

/// Rounds a channel count up to a multiple of 16 (one SIMD16 vector).
@inline(__always) private func paddedChannels(_ c: Int) -> Int { (c + 15) & ~15 }

/// A zero-padded copy [B, H + 2p, W + 2p, Cp] of an NHWC tensor.
private func padSpatial(_ px: UnsafePointer<Float>, b: Int, h: Int, w: Int, c: Int,
                        pad p: Int, cp: Int) -> [Float] {
    let hp = h + 2 * p, wp = w + 2 * p
    return [Float](unsafeUninitializedCapacity: b * hp * wp * cp) { buf, initialized in
        let dst = buf.baseAddress!
        parallelFor(b &* hp) { row in
            let n = row / hp, i = row % hp
            let d = dst + row &* wp &* cp
            let ih = i &- p
            if ih < 0 || ih >= h {
                d.initialize(repeating: 0, count: wp &* cp)
                return
            }
            d.initialize(repeating: 0, count: p &* cp)
            let srcRow = px + (n &* h &+ ih) &* w &* c
            for j in 0..<w {
                let dj = d + (j &+ p) &* cp
                dj.initialize(from: srcRow + j &* c, count: c)
                if cp > c { (dj + c).initialize(repeating: 0, count: cp &- c) }
            }
            (d + (w &+ p) &* cp).initialize(repeating: 0, count: p &* cp)
        }
        initialized = b * hp * wp * cp
    }
}

/// Stores the first `valid` lanes of `v` at `p`.
@inline(__always) private func store(_ v: V16, _ p: UnsafeMutablePointer<Float>, valid: Int) {
    if valid == 16 { store16(v, p); return }
    for l in 0..<valid { p[l] = v[l] }
}

/// `out[n, h, w, c] = sum_{i,j} src[n, h + i, w + j, c] * wk[i, j, c] (+ bias[c])`
/// over a padded source [B, H + k - 1, W + k - 1, Cp] and padded taps [k*k, Cp].
private func depthwiseCore(_ src: UnsafePointer<Float>, b: Int, h: Int, w: Int, c: Int, cp: Int,
                           k: Int, taps wk: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                           out: UnsafeMutablePointer<Float>) {
    let hp = h + k - 1, wp = w + k - 1
    let rowStride = wp * cp
    parallelFor(b &* h) { row in
        let n = row / h, oh = row % h
        let srcRow = src + (n &* hp &+ oh) &* rowStride
        let dstRow = out + row &* w &* c
        var c0 = 0
        while c0 < c {
            let valid = min(16, c &- c0)
            let bv = bias.map { load16($0 + c0) } ?? V16()
            var ow = 0
            if k == 7 {
                while ow &+ 7 <= w {
                    let a = depthwiseTile7x7(srcRow + (ow &* cp &+ c0), rowStride: rowStride, cs: cp,
                                             wk + c0, wcs: cp)
                    let d = dstRow + (ow &* c &+ c0)
                    // Bias after the taps, as XLA adds it after the convolution.
                    store(a.0 + bv, d, valid: valid)
                    store(a.1 + bv, d + c, valid: valid)
                    store(a.2 + bv, d + 2 &* c, valid: valid)
                    store(a.3 + bv, d + 3 &* c, valid: valid)
                    store(a.4 + bv, d + 4 &* c, valid: valid)
                    store(a.5 + bv, d + 5 &* c, valid: valid)
                    store(a.6 + bv, d + 6 &* c, valid: valid)
                    ow &+= 7
                }
            }
            while ow < w {
                var a = V16()
                for kh in 0..<k {
                    let r = srcRow + (kh &* rowStride &+ ow &* cp &+ c0)
                    let t = wk + (kh &* k &* cp &+ c0)
                    for kw in 0..<k {
                        a = a.addingProduct(load16(r + kw &* cp), load16(t + kw &* cp))
                    }
                }
                store(a + bv, dstRow + (ow &* c &+ c0), valid: valid)
                ow &+= 1
            }
            c0 &+= 16
        }
    }
}

/// Checks shapes and returns (B, H, W, C, k).
private func depthwiseDims(_ x: Tensor, _ weight: Tensor, _ name: String) -> (Int, Int, Int, Int, Int) {
    precondition(x.rank == 4, "\(name): x must be NHWC, got \(x.shape)")
    let c = x.shape[3]
    precondition(weight.rank == 4 && weight.shape[0] == weight.shape[1] && weight.shape[0] % 2 == 1
                 && weight.shape[2] == 1 && weight.shape[3] == c,
                 "\(name): kernel \(weight.shape) is not [k, k, 1, \(c)] with odd k")
    return (x.shape[0], x.shape[1], x.shape[2], c, weight.shape[0])
}

/// Kernel taps [k*k, C] copied into [k*k, Cp] with zero channel padding,
/// optionally flipped in both spatial axes (for dx).
private func paddedTaps(_ weight: Tensor, k: Int, c: Int, cp: Int, flipped: Bool) -> [Float] {
    var t = [Float](repeating: 0, count: k * k * cp)
    for i in 0..<k {
        for j in 0..<k {
            let srcTap = flipped ? (k - 1 - i) * k + (k - 1 - j) : i * k + j
            for ch in 0..<c { t[(i * k + j) * cp + ch] = weight.scalars[srcTap * c + ch] }
        }
    }
    return t
}

/// Depthwise conv forward (stride 1, SAME, odd k): `[B, H, W, C]` -> `[B, H, W, C]`.
public func depthwiseConvForward(_ x: Tensor, weight: Tensor, bias: Tensor) -> Tensor {
    let (b, h, w, c, k) = depthwiseDims(x, weight, "depthwiseConvForward")
    precondition(bias.shape == [c], "depthwiseConvForward: bias \(bias.shape) is not [\(c)]")
    let cp = paddedChannels(c)
    let taps = paddedTaps(weight, k: k, c: c, cp: cp, flipped: false)
    var bp = [Float](repeating: 0, count: cp)
    for ch in 0..<c { bp[ch] = bias.scalars[ch] }
    let xpad = x.withPointer { padSpatial($0, b: b, h: h, w: w, c: c, pad: k / 2, cp: cp) }
    return Tensor.build(x.shape) { py in
        xpad.withUnsafeBufferPointer { px in
            taps.withUnsafeBufferPointer { pt in
                bp.withUnsafeBufferPointer { pb in
                    depthwiseCore(px.baseAddress!, b: b, h: h, w: w, c: c, cp: cp, k: k,
                                  taps: pt.baseAddress!, bias: pb.baseAddress!, out: py)
                }
            }
        }
    }
}

/// Depthwise conv backward: dx (correlation of dy with the flipped kernel),
/// dWeight `[k, k, 1, C]` and dBias `[C]` (per-thread partial sums over rows,
/// added in thread order).
public func depthwiseConvBackward(_ dy: Tensor, x: Tensor, weight: Tensor)
    -> (dx: Tensor, dWeight: Tensor, dBias: Tensor) {
    let (b, h, w, c, k) = depthwiseDims(x, weight, "depthwiseConvBackward")
    precondition(dy.shape == x.shape, "depthwiseConvBackward: dy \(dy.shape) is not \(x.shape)")
    let p = k / 2, cp = paddedChannels(c)
    let hp = h + 2 * p, wp = w + 2 * p, rowStride = wp * cp
    let flipped = paddedTaps(weight, k: k, c: c, cp: cp, flipped: true)
    let dypad = dy.withPointer { padSpatial($0, b: b, h: h, w: w, c: c, pad: p, cp: cp) }
    let xpad = x.withPointer { padSpatial($0, b: b, h: h, w: w, c: c, pad: p, cp: cp) }

    // dx: the forward core over padded dy with the flipped taps, no bias.
    let dx = Tensor.build(x.shape) { pdx in
        dypad.withUnsafeBufferPointer { pd in
            flipped.withUnsafeBufferPointer { pt in
                depthwiseCore(pd.baseAddress!, b: b, h: h, w: w, c: c, cp: cp, k: k,
                              taps: pt.baseAddress!, bias: nil, out: pdx)
            }
        }
    }

    // dW, db: each thread reduces a contiguous chunk of rows into its own
    // partial [k*k*Cp taps | Cp bias].
    let rows = b * h
    let ways = max(1, min(Threads.count, rows))
    let slot = k * k * cp + cp
    var partial = [Float](repeating: 0, count: ways * slot)
    partial.withUnsafeMutableBufferPointer { pp in
        xpad.withUnsafeBufferPointer { pxb in
            dypad.withUnsafeBufferPointer { pdb in
                let base = pp.baseAddress!, px = pxb.baseAddress!, pd = pdb.baseAddress!
                let step = (rows + ways - 1) / ways
                parallelFor(ways) { t in
                    let g = base + t &* slot
                    let gb = g + k &* k &* cp
                    let lo = t &* step, hi = min(rows, lo &+ step)
                    if lo >= hi { return }
                    for row in lo..<hi {
                        let n = row / h, oh = row % h
                        let srcRow = px + (n &* hp &+ oh) &* rowStride
                        let dRow = pd + ((n &* hp &+ oh &+ p) &* wp &+ p) &* cp
                        var c0 = 0
                        while c0 < cp {
                            var db = V16()
                            var ow = 0
                            if k == 7 {
                                while ow &+ 7 <= w {
                                    db += depthwiseGradTile7x7(srcRow + (ow &* cp &+ c0), rowStride: rowStride, cs: cp,
                                                               dRow + (ow &* cp &+ c0), dcs: cp, g + c0, gcs: cp)
                                    ow &+= 7
                                }
                            }
                            while ow < w {
                                let d = load16(dRow + (ow &* cp &+ c0))
                                for kh in 0..<k {
                                    let r = srcRow + (kh &* rowStride &+ ow &* cp &+ c0)
                                    let gr = g + (kh &* k &* cp &+ c0)
                                    for kw in 0..<k {
                                        let gp = gr + kw &* cp
                                        store16(load16(gp).addingProduct(d, load16(r + kw &* cp)), gp)
                                    }
                                }
                                db += d
                                ow &+= 1
                            }
                            store16(load16(gb + c0) + db, gb + c0)
                            c0 &+= 16
                        }
                    }
                }
            }
        }
    }
    var dW = [Float](repeating: 0, count: k * k * c)
    var dB = [Float](repeating: 0, count: c)
    for t in 0..<ways {
        let g = t * slot
        for tap in 0..<(k * k) { for ch in 0..<c { dW[tap * c + ch] += partial[g + tap * cp + ch] } }
        for ch in 0..<c { dB[ch] += partial[g + k * k * cp + ch] }
    }
    return (dx, Tensor(shape: weight.shape, scalars: dW), Tensor(shape: [c], scalars: dB))
}
