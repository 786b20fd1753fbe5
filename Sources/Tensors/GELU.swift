// Exact GELU, as Flax/JAX `gelu(approximate=False)`:
//
//   y = 0.5 * x * erfc(-x * sqrt(0.5))
//   dy/dx = 0.5 * erfc(-x * sqrt(0.5)) + x * exp(-x^2 / 2) / sqrt(2 pi)
//
// JAX lowers `lax.erfc` to `chlo.erfc`, which XLA expands for float32 into
// Cephes' erfc (stablehlo/xla `materializeErfcApproximationF32`):
//   |x| < 1:  erfc = 1 - x * T(x^2)
//   |x| >= 1: erfc = exp(-x^2) / |x| * (|x| < 2 ? P(1/x^2) : R(1/x^2)),
//             0 when -x^2 < -88.72, and 2 - that for x < 0.
// That is what `erfcV16` computes (Horner, coefficient lists as in XLA), so
// GELU keeps full relative accuracy on the negative tail instead of
// computing 1 - erf(z) with cancellation. exp is Cephes' expf with the
// magic-number rounding trick. (XLA's rational erf from
// notes/swift-kernels.md is the HLO `erf` op, which `lax.erfc` does not use.)
// Everything works on SIMD16 vectors; a tail shorter than 16 goes through
// the same vector code via a zero-padded temporary, so every element sees
// identical arithmetic.

/// Cephes expf on 16 lanes (relative error ~1e-7 over [-87, 88]).
@inline(__always)
func expV16(_ x0: V16) -> V16 {
    let x = pointwiseMax(pointwiseMin(x0, V16(repeating: 88.3)), V16(repeating: -87.3))
    // n = round(x / ln 2) via the 1.5 * 2^23 trick; t's low mantissa bits hold n.
    let magic = V16(repeating: 0x1.8p23)
    let t = magic.addingProduct(x, V16(repeating: 1.44269504088896341))
    let n = t - magic
    // r = x - n ln2, with ln 2 split in two for precision.
    var r = x.addingProduct(n, V16(repeating: -0.693359375))
    r = r.addingProduct(n, V16(repeating: 2.12194440e-4))
    var p = V16(repeating: 1.9875691500e-4)
    p = V16(repeating: 1.3981999507e-3).addingProduct(p, r)
    p = V16(repeating: 8.3334519073e-3).addingProduct(p, r)
    p = V16(repeating: 4.1665795894e-2).addingProduct(p, r)
    p = V16(repeating: 1.6666665459e-1).addingProduct(p, r)
    p = V16(repeating: 5.0000001201e-1).addingProduct(p, r)
    let e = (r + 1).addingProduct(p, r * r)
    // 2^n from n's integer bits: (n + 127) << 23.
    let ti = unsafeBitCast(t, to: SIMD16<Int32>.self)
    let bits = (ti &- 0x4B40_0000 &+ 127) &<< 23
    return e * unsafeBitCast(bits, to: V16.self)
}

// Cephes erfc polynomials, coefficients as in XLA's chlo decomposition.
/// T(x^2) for erfc on |x| < 1 (Horner, highest power first, as XLA's polynomial materialisation).
@inline(__always)
private func erfcT(_ x: V16) -> V16 {
    var p = V16(repeating: 7.853861353153693E-5)
    p = V16(repeating: -8.010193625184903E-4).addingProduct(p, x)
    p = V16(repeating: 5.188327685732524E-3).addingProduct(p, x)
    p = V16(repeating: -2.685381193529856E-2).addingProduct(p, x)
    p = V16(repeating: 1.128358514861418E-1).addingProduct(p, x)
    p = V16(repeating: -3.761262582423300E-1).addingProduct(p, x)
    p = V16(repeating: 1.128379165726710E+0).addingProduct(p, x)
    return p
}

/// P(1/x^2) for erfc on 1 <= |x| < 2 (Horner, highest power first, as XLA's polynomial materialisation).
@inline(__always)
private func erfcP(_ x: V16) -> V16 {
    var p = V16(repeating: 2.326819970068386E-2)
    p = V16(repeating: -1.387039388740657E-1).addingProduct(p, x)
    p = V16(repeating: 3.687424674597105E-1).addingProduct(p, x)
    p = V16(repeating: -5.824733027278666E-1).addingProduct(p, x)
    p = V16(repeating: 6.210004621745983E-1).addingProduct(p, x)
    p = V16(repeating: -4.944515323274145E-1).addingProduct(p, x)
    p = V16(repeating: 3.404879937665872E-1).addingProduct(p, x)
    p = V16(repeating: -2.741127028184656E-1).addingProduct(p, x)
    p = V16(repeating: 5.638259427386472E-1).addingProduct(p, x)
    return p
}

/// R(1/x^2) for erfc on |x| >= 2 (Horner, highest power first, as XLA's polynomial materialisation).
@inline(__always)
private func erfcR(_ x: V16) -> V16 {
    var p = V16(repeating: -1.047766399936249E+1)
    p = V16(repeating: 1.297719955372516E+1).addingProduct(p, x)
    p = V16(repeating: -7.495518717768503E+0).addingProduct(p, x)
    p = V16(repeating: 2.921019019210786E+0).addingProduct(p, x)
    p = V16(repeating: -1.015265279202700E+0).addingProduct(p, x)
    p = V16(repeating: 4.218463358204948E-1).addingProduct(p, x)
    p = V16(repeating: -2.820767439740514E-1).addingProduct(p, x)
    p = V16(repeating: 5.641895067754075E-1).addingProduct(p, x)
    return p
}

/// XLA's float32 erfc (Cephes) on 16 lanes, and `exp(-x*x)` when `gauss`
/// is true (the GELU gradient needs it; erfc computes it on the way for |x| >= 1).
///
/// XLA evaluates both branches for every element and selects; so do we,
/// except when every lane is in the |x| < 1 branch: then the other branch
/// (two divisions, the exp and the rational polynomials) is skipped. Each
/// lane gets the same bits either way. Small GELU inputs (|x| < sqrt(2), as
/// at initialisation) take the shortcut; blocks with any larger input pay
/// the full price, as before (KernelBench: `gelu fwd` vs `gelu fwd [-4,4]`).
@inline(__always)
func erfcAndGaussV16(_ x: V16, gauss wantGauss: Bool) -> (erfc: V16, gauss: V16) {
    let one = V16(repeating: 1)
    let ax = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: V16.self)
    let xsq = x * x
    // |x| < 1: 1 - x T(x^2).
    let small = one - x * erfcT(xsq)
    let allSmall = all(ax .< 1)
    if allSmall && !wantGauss { return (small, V16()) }
    let gauss = expV16(-xsq)
    if allSmall { return (small, gauss) }
    // |x| >= 1: exp(-x^2) / |x| * P or R of 1/x^2.
    let r = one / xsq
    let poly = erfcP(r).replacing(with: erfcR(r), where: ax .>= 2)
    var big = gauss * (one / ax) * poly
    big = big.replacing(with: 0, where: -xsq .< -88.72283905206835)
    big = big.replacing(with: 2 - big, where: x .< 0)
    return (big.replacing(with: small, where: ax .< 1), gauss)
}

/// XLA's float32 erfc (Cephes) on 16 lanes.
@inline(__always)
func erfcV16(_ x: V16) -> V16 { erfcAndGaussV16(x, gauss: false).erfc }

/// GELU on 16 lanes: 0.5 * x * erfc(-x * sqrt(0.5)).
@inline(__always)
private func geluV16(_ x: V16) -> V16 {
    let z = x * V16(repeating: -0.70710677)  // float32(sqrt(0.5))
    return (V16(repeating: 0.5) * x) * erfcV16(z)
}

/// GELU derivative times dy on 16 lanes, as JAX differentiates
/// `0.5 * x * erfc(z)`, z = -x sqrt(0.5), with erfc'(z) = -2/sqrt(pi) exp(-z^2):
/// dy * (0.5 erfc(z) + x * (sqrt(0.5)/sqrt(pi)) * exp(-z^2)).
@inline(__always)
private func geluGradV16(_ dy: V16, _ x: V16) -> V16 {
    let z = x * V16(repeating: -0.70710677)
    let (erfc, gauss) = erfcAndGaussV16(z, gauss: true)
    let cdf = V16(repeating: 0.5) * erfc
    let pdf = gauss * V16(repeating: 0.3989422804014327)  // sqrt(0.5)/sqrt(pi) = 1/sqrt(2 pi)
    return dy * cdf.addingProduct(x, pdf)
}

/// GELU and its gradient times dy from one erfc: (gelu(x), dy * gelu'(x)),
/// each the same bits as `geluV16` and `geluGradV16`.
@inline(__always)
private func geluAndGradV16(_ dy: V16, _ x: V16) -> (y: V16, dx: V16) {
    let z = x * V16(repeating: -0.70710677)
    let (erfc, gauss) = erfcAndGaussV16(z, gauss: true)
    let y = (V16(repeating: 0.5) * x) * erfc
    let cdf = V16(repeating: 0.5) * erfc
    let pdf = gauss * V16(repeating: 0.3989422804014327)
    return (y, dy * cdf.addingProduct(x, pdf))
}

extension Reference {
    /// Exact GELU forward, elementwise.
    public static func geluForward(_ x: Tensor) -> Tensor {
        let n = x.count
        return x.withPointer { px in
            Tensor.build(x.shape) { py in
                let blocks = (n + 15) / 16
                parallelChunks(blocks, minChunk: 1024) { range in
                    for blk in range {
                        let i = blk &* 16
                        store16(geluV16(load16(px + i, valid: n &- i)), py + i, valid: n &- i)
                    }
                }
            }
        }
    }

    /// Exact GELU backward: `dx = dy * gelu'(x)`.
    public static func geluBackward(_ dy: Tensor, x: Tensor) -> Tensor {
        precondition(dy.shape == x.shape, "geluBackward: dy \(dy.shape) is not \(x.shape)")
        let n = x.count
        return x.withPointer { px in
            dy.withPointer { pd in
                Tensor.build(x.shape) { pdx in
                    let blocks = (n + 15) / 16
                    parallelChunks(blocks, minChunk: 1024) { range in
                        for blk in range {
                            let i = blk &* 16
                            store16(geluGradV16(load16(pd + i, valid: n &- i), load16(px + i, valid: n &- i)), pdx + i, valid: n &- i)
                        }
                    }
                }
            }
        }
    }
}

/// Conv_1's bias and GELU in one pass: `x += bias` (per channel of the last
/// axis, in place: the Dense output the backward keeps) and returns
/// `gelu(x)`. The same bits as `addBias` then `geluForward`.
public func biasGELUForward(_ x: inout Tensor, bias: Tensor) -> Tensor {
    let c = x.lastDim, rows = x.leadingCount
    precondition(bias.shape == [c], "biasGELUForward: bias \(bias.shape) is not [\(c)]")
    let shape = x.shape
    return bias.withPointer { pb in
        x.scalars.withUnsafeMutableBufferPointer { xb in
            let px = xb.baseAddress!
            return Tensor.build(shape) { py in
                biasGELURows(px, out: py, rows: rows, c: c, bias: pb)
            }
        }
    }
}

/// `x = gelu(x + bias)` in place (inference: the pre-activation is not kept).
public func biasGELUInPlace(_ x: inout Tensor, bias: Tensor) {
    let c = x.lastDim, rows = x.leadingCount
    precondition(bias.shape == [c], "biasGELUInPlace: bias \(bias.shape) is not [\(c)]")
    bias.withPointer { pb in
        x.scalars.withUnsafeMutableBufferPointer { xb in
            if rows * c > 0 { biasGELURows(xb.baseAddress!, out: xb.baseAddress!, rows: rows, c: c, bias: pb) }
        }
    }
}

/// Rows of `[rows, c]`: `x[r, i] += bias[i]`, `out[r, i] = gelu(x[r, i])`;
/// `out` may be `x`. Channels go 16 at a time with a zero-padded tail, as
/// `geluForward` does over the flat array, so every element sees the same arithmetic.
private func biasGELURows(_ px: UnsafeMutablePointer<Float>, out py: UnsafeMutablePointer<Float>,
                          rows: Int, c: Int, bias pb: UnsafePointer<Float>) {
    let io = UncheckedSendable((px, py))
    parallelChunks(rows, minChunk: max(1, 16384 / max(1, c))) { range in
        let (px, py) = io.value
        for row in range {
            let r = px + row &* c, o = py + row &* c
            var i = 0
            while i < c {
                let v = load16(r + i, valid: c &- i) + load16(pb + i, valid: c &- i)
                store16(v, r + i, valid: c &- i)
                store16(geluV16(v), o + i, valid: c &- i)
                i &+= 16
            }
        }
    }
}

/// GELU's backward with its forward recomputed in the same pass: returns
/// `gelu(x)` (for the next Dense's weight gradient) and `dy * gelu'(x)`,
/// the same bits as `geluForward(x)` and `geluBackward(dy, x:)`.
public func geluForwardAndBackward(_ dy: Tensor, x: Tensor) -> (y: Tensor, dx: Tensor) {
    precondition(dy.shape == x.shape, "geluForwardAndBackward: dy \(dy.shape) is not \(x.shape)")
    let n = x.count
    var dx = Tensor.zeros([0])
    let y = x.withPointer { px in
        dy.withPointer { pd in
            Tensor.build(x.shape) { py in
                dx = Tensor.build(x.shape) { pdx in
                    let io = UncheckedSendable(py)
                    let blocks = (n + 15) / 16
                    parallelChunks(blocks, minChunk: 1024) { range in
                        let py = io.value
                        for blk in range {
                            let i = blk &* 16
                            let (y, d) = geluAndGradV16(load16(pd + i, valid: n &- i), load16(px + i, valid: n &- i))
                            store16(y, py + i, valid: n &- i)
                            store16(d, pdx + i, valid: n &- i)
                        }
                    }
                }
            }
        }
    }
    return (y, dx)
}
