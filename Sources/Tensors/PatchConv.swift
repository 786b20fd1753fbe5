// Patchify convolution: kernel == stride (the 4x4/4 stem, the 2x2/2
// downsampling convs). x NHWC [B, H, W, Cin], kernel HWIO [s, s, Cin, Cout].
//
// Flax SAME padding (golden/README.md): OH = ceil(H / s),
// pad_total = max((OH-1)*s + s - H, 0), pad_lo = pad_total / 2. With
// kernel == stride, pad_total < s, so padding happens only when H is not a
// multiple of s, and is asymmetric: 5 -> 3 with s = 2 pads 0 rows on top and 1
// at the bottom. Patches never overlap, so the conv is an im2col copy
// [B*OH*OW, s*s*Cin] followed by one GEMM with the kernel viewed as
// [s*s*Cin, Cout], and the input gradient is the reverse copy (col2im).

/// Output size and low padding of Flax SAME for kernel == stride.
@inline(__always)
func samePatchGeometry(_ size: Int, stride s: Int) -> (out: Int, padLow: Int) {
    let out = (size + s - 1) / s
    let total = max((out - 1) * s + s - size, 0)
    return (out, total / 2)
}

/// Copies each output position's s x s x Cin input patch into a row of
/// `cols` ([B*OH*OW, s*s*Cin], patch order (kh, kw, cin) = HWIO order),
/// writing zeros for padded positions.
private func im2col(_ px: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>,
                    b: Int, h: Int, w: Int, c: Int, s: Int,
                    oh: Int, ow: Int, padTop: Int, padLeft: Int) {
    let rowLen = s &* s &* c
    parallelFor(b &* oh) { bo in
        let n = bo / oh, i = bo % oh
        for j in 0..<ow {
            let dst = cols + (bo &* ow &+ j) &* rowLen
            for kh in 0..<s {
                let ih = i &* s &+ kh &- padTop
                for kw in 0..<s {
                    let iw = j &* s &+ kw &- padLeft
                    let d = dst + (kh &* s &+ kw) &* c
                    if ih < 0 || ih >= h || iw < 0 || iw >= w {
                        d.update(repeating: 0, count: c)
                    } else {
                        let srcOff: Int = ((n &* h &+ ih) &* w &+ iw) &* c
                        d.update(from: px + srcOff, count: c)
                    }
                }
            }
        }
    }
}

/// Patchify conv forward (kernel == stride, Flax SAME): `[B, H, W, Cin]` ->
/// `[B, ceil(H/s), ceil(W/s), Cout]`.
public func patchConvForward(_ x: Tensor, weight: Tensor, bias: Tensor, stride: Int, precision: GEMMPrecision = .float32) -> Tensor {
    precondition(x.rank == 4, "patchConvForward: x must be NHWC, got \(x.shape)")
    let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let s = stride
    precondition(weight.shape.count == 4 && weight.shape[0] == s && weight.shape[1] == s && weight.shape[2] == c,
                 "patchConvForward: kernel \(weight.shape) is not [\(s), \(s), \(c), Cout]")
    let cout = weight.shape[3]
    precondition(bias.shape == [cout], "patchConvForward: bias \(bias.shape) is not [\(cout)]")
    let (oh, padTop) = samePatchGeometry(h, stride: s)
    let (ow, padLeft) = samePatchGeometry(w, stride: s)
    let m = b * oh * ow, kk = s * s * c
    // im2col writes every element (zeros at padded positions), so no zero fill.
    var cols = [Float](unsafeUninitializedCapacity: m * kk) { _, initialized in initialized = m * kk }
    return x.withPointer { px in
        cols.withUnsafeMutableBufferPointer { pc in
            im2col(px, pc.baseAddress!, b: b, h: h, w: w, c: c, s: s,
                   oh: oh, ow: ow, padTop: padTop, padLeft: padLeft)
            return weight.withPointer { pw in
                bias.withPointer { pb in
                    Tensor.build([b, oh, ow, cout]) { py in
                        gemm(transA: false, transB: false, m: m, n: cout, k: kk,
                              a: pc.baseAddress!, lda: kk, b: pw, ldb: cout, beta: 0, c: py, ldc: cout, precision: precision)
                        addBiasRows(py, rows: m, cols: cout, bias: pb)
                    }
                }
            }
        }
    }
}

/// Patchify conv backward: `dcols = dy · Wᵀ` scattered back to the unpadded
/// input positions (dx), `dW = colsᵀ · dy`, `db = sum dy`.
public func patchConvBackward(_ dy: Tensor, x: Tensor, weight: Tensor, stride: Int, precision: GEMMPrecision = .float32)
    -> (dx: Tensor, dWeight: Tensor, dBias: Tensor) {
    let g = patchConvGradients(dy, x: x, weight: weight, stride: stride, inputGradient: true, precision: precision)
    return (g.dx!, g.dWeight, g.dBias)
}

/// Patchify conv parameter gradients only (the stem: nothing needs the
/// gradient of the input image, so the `dy · Wᵀ` GEMM and col2im are skipped).
public func patchConvWeightGradients(_ dy: Tensor, x: Tensor, weight: Tensor, stride: Int, precision: GEMMPrecision = .float32)
    -> (dWeight: Tensor, dBias: Tensor) {
    let g = patchConvGradients(dy, x: x, weight: weight, stride: stride, inputGradient: false, precision: precision)
    return (g.dWeight, g.dBias)
}

private func patchConvGradients(_ dy: Tensor, x: Tensor, weight: Tensor, stride: Int, inputGradient: Bool,
                                precision: GEMMPrecision)
    -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor) {
    let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let s = stride
    let cout = weight.shape[3]
    let (oh, padTop) = samePatchGeometry(h, stride: s)
    let (ow, padLeft) = samePatchGeometry(w, stride: s)
    precondition(dy.shape == [b, oh, ow, cout], "patchConvBackward: dy \(dy.shape) is not [\(b), \(oh), \(ow), \(cout)]")
    let m = b * oh * ow, kk = s * s * c
    // im2col writes every element (zeros at padded positions), so no zero fill.
    var cols = [Float](unsafeUninitializedCapacity: m * kk) { _, initialized in initialized = m * kk }
    return dy.withPointer { pdy in
        cols.withUnsafeMutableBufferPointer { pcb in
            let pc = pcb.baseAddress!
            // dW = colsᵀ · dy, with cols rebuilt from x.
            let dW = x.withPointer { px in
                im2col(px, pc, b: b, h: h, w: w, c: c, s: s, oh: oh, ow: ow, padTop: padTop, padLeft: padLeft)
                return Tensor.build(weight.shape) { pdw in
                    gemm(transA: true, transB: false, m: kk, n: cout, k: m,
                          a: pc, lda: kk, b: pdy, ldb: cout, beta: 0, c: pdw, ldc: cout, precision: precision)
                }
            }
            let db = Tensor(shape: [cout], scalars: columnSums(pdy, rows: m, cols: cout))
            if !inputGradient { return (nil, dW, db) }
            // dcols = dy · Wᵀ, reusing the cols buffer.
            weight.withPointer { pw in
                gemm(transA: false, transB: true, m: m, n: kk, k: cout,
                      a: pdy, lda: cout, b: pw, ldb: cout, beta: 0, c: pc, ldc: kk, precision: precision)
            }
            // col2im: patches do not overlap, so every input position receives
            // exactly one patch entry (positions in no patch cannot exist with
            // SAME; padded patch entries are dropped).
            let dx = Tensor.build(x.shape) { pdx in
                parallelFor(b &* oh) { bo in
                    let n = bo / oh, i = bo % oh
                    for j in 0..<ow {
                        let src = pc + (bo &* ow &+ j) &* kk
                        for kh in 0..<s {
                            let ih = i &* s &+ kh &- padTop
                            if ih < 0 || ih >= h { continue }
                            for kw in 0..<s {
                                let iw = j &* s &+ kw &- padLeft
                                if iw < 0 || iw >= w { continue }
                                let dstOff: Int = ((n &* h &+ ih) &* w &+ iw) &* c
                                (pdx + dstOff).update(from: src + (kh &* s &+ kw) &* c, count: c)
                            }
                        }
                    }
                }
            }
            return (dx, dW, db)
        }
    }
}
