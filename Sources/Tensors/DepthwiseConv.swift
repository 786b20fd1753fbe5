// Depthwise convolution, stride 1, SAME padding, odd kernel k (ConvNeXt: 7).
// x NHWC [B, H, W, C], kernel HWIO [k, k, 1, C], bias [C], p = (k - 1) / 2:
//
//   y[n, h, w, c] = sum_{i, j} x[n, h + i - p, w + j - p, c] * K[i, j, c] + b[c]
//
// Work is split into tasks of (image, band of output rows). A task keeps a
// ring of k input rows, each copied once into a zero-padded row buffer
// [W + 2p, Cp] (Cp = C rounded up to 16); rows above or below the image are a
// shared zero row. Inner loops therefore have no bounds checks and always
// work on whole SIMD16 channel vectors, and no padded copy of the whole
// tensor is made. For k = 7 the work is done in register tiles of 7 output
// columns x 16 channels (DepthwiseTiles.swift); remaining columns and other k
// use a one-column loop with the same (kh, kw) summation order.
//
// Backward (stride 1, symmetric padding): dx is the same correlation of dy
// with the kernel flipped in both spatial axes; dK[i, j, c] =
// sum_{n,h,w} dy[n, h, w, c] * x[n, h + i - p, w + j - p, c]; db = sum dy.
// dK and db are summed per task and the task partials added in task order;
// tasks depend only on the shape, so results do not depend on the thread count.

/// Rounds a channel count up to a multiple of 16 (one SIMD16 vector).
@inline(__always) private func paddedChannels(_ c: Int) -> Int { (c + 15) & ~15 }

/// The zero-padded input rows one task needs, loaded on demand into a ring
/// of k slots (input row ih lives in slot ih % k).
private struct RowRing {
    let image: UnsafePointer<Float>   // this image's [H, W, C]
    let h: Int, w: Int, c: Int, cp: Int, k: Int
    let slots: UnsafeMutablePointer<Float>          // k x [(W + 2p) * Cp]
    let loaded: UnsafeMutablePointer<Int>           // input row held by each slot
    let rows: UnsafeMutablePointer<UnsafePointer<Float>>  // rows[kh] for the current output row
    let zero: UnsafePointer<Float>

    init(image: UnsafePointer<Float>, h: Int, w: Int, c: Int, cp: Int, k: Int, zero: UnsafePointer<Float>) {
        self.image = image; self.h = h; self.w = w; self.c = c; self.cp = cp; self.k = k; self.zero = zero
        let rowLen = (w + k - 1) * cp
        slots = .allocate(capacity: k * rowLen)
        loaded = .allocate(capacity: k)
        loaded.initialize(repeating: -1, count: k)
        rows = .allocate(capacity: k)
        rows.initialize(repeating: zero, count: k)
        // The left and right padding columns of every slot stay zero.
        let p = k / 2
        for s in 0..<k {
            let d = slots + s * rowLen
            d.initialize(repeating: 0, count: p * cp)
            (d + (w + p) * cp).initialize(repeating: 0, count: p * cp)
        }
    }

    func free() { slots.deallocate(); loaded.deallocate(); rows.deallocate() }

    /// Points `rows[kh]` at padded input row `oh + kh - p` for every kh.
    func point(_ oh: Int) {
        let p = k / 2, rowLen = (w &+ k &- 1) &* cp
        for kh in 0..<k {
            let ih = oh &+ kh &- p
            if ih < 0 || ih >= h { rows[kh] = zero; continue }
            let s = ih % k
            let d = slots + s &* rowLen
            if loaded[s] != ih {
                let src = image + ih &* w &* c
                let body = d + p &* cp
                if cp == c {
                    body.update(from: src, count: w &* c)
                } else {
                    for j in 0..<w {
                        (body + j &* cp).update(from: src + j &* c, count: c)
                        (body + (j &* cp &+ c)).update(repeating: 0, count: cp &- c)
                    }
                }
                loaded[s] = ih
            }
            rows[kh] = UnsafePointer(d)
        }
    }
}

/// Tasks of (image, band of rows): about 16 per call whatever the batch, so
/// small batches still spread over threads. Depends on the shape only.
@inline(__always)
private func bandLayout(b: Int, h: Int) -> (bands: Int, bandRows: Int) {
    let wanted = max(1, min(h, 16 / max(1, b)))
    let bandRows = (h + wanted - 1) / wanted
    return ((h + bandRows - 1) / bandRows, bandRows)
}

/// `out[n, h, w, c] = sum_{i,j} src[n, h + i - p, w + j - p, c] * taps[i, j, c] (+ bias[c])`
/// with zero padding, over an unpadded NHWC source and padded taps [k*k, Cp].
/// With `residual` (same layout as `out`), `out = residual + that sum` instead.
private func depthwiseCore(_ src: UnsafePointer<Float>, b: Int, h: Int, w: Int, c: Int, cp: Int,
                           k: Int, taps wk: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                           residual: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>) {
    let (bands, bandRows) = bandLayout(b: b, h: h)
    let zero = [Float](repeating: 0, count: (w + k - 1) * cp)
    zero.withUnsafeBufferPointer { zb in
        let zp = zb.baseAddress!
        parallelFor(b &* bands) { task in
            let n = task / bands, lo = (task % bands) &* bandRows, hi = min(h, lo &+ bandRows)
            if lo >= hi { return }
            let ring = RowRing(image: src + n &* h &* w &* c, h: h, w: w, c: c, cp: cp, k: k, zero: zp)
            defer { ring.free() }
            let rows = UnsafePointer(ring.rows)
            for oh in lo..<hi {
                ring.point(oh)
                let dstRow = out + (n &* h &+ oh) &* w &* c
                let resRow = residual.map { $0 + (n &* h &+ oh) &* w &* c }
                var c0 = 0
                while c0 < c {
                    let valid = min(16, c &- c0)
                    let bv = bias.map { load16($0 + c0) } ?? V16()
                    var ow = 0
                    if k == 7 {
                        while ow &+ 7 <= w {
                            let a = depthwiseTile7x7(rows, off: ow &* cp &+ c0, cs: cp, wk + c0, wcs: cp)
                            let d = dstRow + (ow &* c &+ c0)
                            if let resRow {
                                // The residual add after the sum, as `add(residual, dx)` would.
                                let r = resRow + (ow &* c &+ c0)
                                store16(load16(r, valid: valid) + a.0, d, valid: valid)
                                store16(load16(r + c, valid: valid) + a.1, d + c, valid: valid)
                                store16(load16(r + 2 &* c, valid: valid) + a.2, d + 2 &* c, valid: valid)
                                store16(load16(r + 3 &* c, valid: valid) + a.3, d + 3 &* c, valid: valid)
                                store16(load16(r + 4 &* c, valid: valid) + a.4, d + 4 &* c, valid: valid)
                                store16(load16(r + 5 &* c, valid: valid) + a.5, d + 5 &* c, valid: valid)
                                store16(load16(r + 6 &* c, valid: valid) + a.6, d + 6 &* c, valid: valid)
                                ow &+= 7
                                continue
                            }
                            // Bias after the taps, as XLA adds it after the convolution.
                            store16(a.0 + bv, d, valid: valid)
                            store16(a.1 + bv, d + c, valid: valid)
                            store16(a.2 + bv, d + 2 &* c, valid: valid)
                            store16(a.3 + bv, d + 3 &* c, valid: valid)
                            store16(a.4 + bv, d + 4 &* c, valid: valid)
                            store16(a.5 + bv, d + 5 &* c, valid: valid)
                            store16(a.6 + bv, d + 6 &* c, valid: valid)
                            ow &+= 7
                        }
                    }
                    while ow < w {
                        var a = V16()
                        for kh in 0..<k {
                            let r = rows[kh] + (ow &* cp &+ c0)
                            let t = wk + (kh &* k &* cp &+ c0)
                            for kw in 0..<k {
                                a = a.addingProduct(load16(r + kw &* cp), load16(t + kw &* cp))
                            }
                        }
                        if let resRow {
                            store16(load16(resRow + (ow &* c &+ c0), valid: valid) + a, dstRow + (ow &* c &+ c0), valid: valid)
                        } else {
                            store16(a + bv, dstRow + (ow &* c &+ c0), valid: valid)
                        }
                        ow &+= 1
                    }
                    c0 &+= 16
                }
            }
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
    return Tensor.build(x.shape) { py in
        x.withPointer { px in
            taps.withUnsafeBufferPointer { pt in
                bp.withUnsafeBufferPointer { pb in
                    depthwiseCore(px, b: b, h: h, w: w, c: c, cp: cp, k: k,
                                  taps: pt.baseAddress!, bias: pb.baseAddress!, out: py)
                }
            }
        }
    }
}

/// Depthwise conv backward: dx (correlation of dy with the flipped kernel),
/// dWeight `[k, k, 1, C]` and dBias `[C]`. With `addingTo`, the returned dx
/// is `addingTo + dx` (a residual's gradient joining the block's, in the
/// same pass; the same bits as `add(addingTo, dx)`).
public func depthwiseConvBackward(_ dy: Tensor, x: Tensor, weight: Tensor, addingTo residual: Tensor? = nil)
    -> (dx: Tensor, dWeight: Tensor, dBias: Tensor) {
    let (b, h, w, c, k) = depthwiseDims(x, weight, "depthwiseConvBackward")
    precondition(dy.shape == x.shape, "depthwiseConvBackward: dy \(dy.shape) is not \(x.shape)")
    if let residual { precondition(residual.shape == x.shape, "depthwiseConvBackward: addingTo \(residual.shape) is not \(x.shape)") }
    let cp = paddedChannels(c)
    let flipped = paddedTaps(weight, k: k, c: c, cp: cp, flipped: true)

    // dx: the forward core over dy with the flipped taps, no bias.
    let dx = Tensor.build(x.shape) { pdx in
        dy.withPointer { pd in
            flipped.withUnsafeBufferPointer { pt in
                if let residual {
                    residual.withPointer { pr in
                        depthwiseCore(pd, b: b, h: h, w: w, c: c, cp: cp, k: k,
                                      taps: pt.baseAddress!, bias: nil, residual: pr, out: pdx)
                    }
                } else {
                    depthwiseCore(pd, b: b, h: h, w: w, c: c, cp: cp, k: k,
                                  taps: pt.baseAddress!, bias: nil, out: pdx)
                }
            }
        }
    }

    // dW, db: each task reduces its band of rows into its own partial
    // [k*k*Cp taps | Cp bias].
    let (bands, bandRows) = bandLayout(b: b, h: h)
    let tasks = b * bands
    let slot = k * k * cp + cp
    var partial = [Float](repeating: 0, count: tasks * slot)
    let zero = [Float](repeating: 0, count: (w + k - 1) * cp)
    partial.withUnsafeMutableBufferPointer { pp in
        x.withPointer { px in
            dy.withPointer { pd in
                zero.withUnsafeBufferPointer { zb in
                    let base = pp.baseAddress!, zp = zb.baseAddress!
                    parallelFor(tasks) { task in
                        let n = task / bands, lo = (task % bands) &* bandRows, hi = min(h, lo &+ bandRows)
                        if lo >= hi { return }
                        let g = base + task &* slot
                        let gb = g + k &* k &* cp
                        let ring = RowRing(image: px + n &* h &* w &* c, h: h, w: w, c: c, cp: cp, k: k, zero: zp)
                        // dy rows with channel padding when C is not a multiple of 16.
                        let dyRow = UnsafeMutablePointer<Float>.allocate(capacity: cp == c ? 0 : w * cp)
                        defer { ring.free(); dyRow.deallocate() }
                        let rows = UnsafePointer(ring.rows)
                        for oh in lo..<hi {
                            ring.point(oh)
                            var dRow = pd + (n &* h &+ oh) &* w &* c
                            if cp != c {
                                for j in 0..<w {
                                    (dyRow + j &* cp).update(from: dRow + j &* c, count: c)
                                    (dyRow + (j &* cp &+ c)).update(repeating: 0, count: cp &- c)
                                }
                                dRow = UnsafePointer(dyRow)
                            }
                            var c0 = 0
                            while c0 < cp {
                                var db = V16()
                                var ow = 0
                                if k == 7 {
                                    while ow &+ 7 <= w {
                                        let off = ow &* cp &+ c0
                                        db += depthwiseGradTile7x7(rows, off: off, cs: cp,
                                                                   dRow + off, dcs: cp, g + c0, gcs: cp)
                                        ow &+= 7
                                    }
                                }
                                while ow < w {
                                    let off = ow &* cp &+ c0
                                    let d = load16(dRow + off)
                                    for kh in 0..<k {
                                        let r = rows[kh] + off
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
    }
    var dW = [Float](repeating: 0, count: k * k * c)
    var dB = [Float](repeating: 0, count: c)
    for t in 0..<tasks {
        let g = t * slot
        for tap in 0..<(k * k) { for ch in 0..<c { dW[tap * c + ch] += partial[g + tap * cp + ch] } }
        for ch in 0..<c { dB[ch] += partial[g + k * k * cp + ch] }
    }
    return (dx, Tensor(shape: weight.shape, scalars: dW), Tensor(shape: [c], scalars: dB))
}
