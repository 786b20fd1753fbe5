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
// magic-number rounding trick. `erfV16` is XLA's float32 rational erf (the
// HLO `erf` op, notes/swift-kernels.md). Everything works on SIMD16
// vectors; a tail shorter than 16 goes through the same vector code via a
// zero-padded temporary, so every element sees identical arithmetic.

/// XLA's float32 erf on 16 lanes.
@inline(__always)
func erfV16(_ x0: V16) -> V16 {
    let clampV: Float = 3.832506856900711
    let x = pointwiseMax(pointwiseMin(x0, V16(repeating: clampV)), V16(repeating: -clampV))
    let x2 = x * x
    // Numerator: odd powers (alpha), highest first.
    var p = V16(repeating: 0.00022905065861350646)
    p = V16(repeating: 0.0034082910107109506).addingProduct(p, x2)
    p = V16(repeating: 0.050955695062380861).addingProduct(p, x2)
    p = V16(repeating: 0.18520832239976145).addingProduct(p, x2)
    p = V16(repeating: 1.128379143519084).addingProduct(p, x2)
    // Denominator: even powers (beta), highest first.
    var q = V16(repeating: -1.1791602954361697e-7)
    q = V16(repeating: 2.3547966471313185e-5).addingProduct(q, x2)
    q = V16(repeating: 0.0010179625278914885).addingProduct(q, x2)
    q = V16(repeating: 0.014070470171167667).addingProduct(q, x2)
    q = V16(repeating: 0.11098505178285362).addingProduct(q, x2)
    q = V16(repeating: 0.49746925110067538).addingProduct(q, x2)
    q = V16(repeating: 1).addingProduct(q, x2)
    return x * p / q
}

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

/// Horner evaluation `((c0 * x + c1) * x + c2) ...`, highest power first.
@inline(__always)
private func horner(_ x: V16, _ c: [Float]) -> V16 {
    var p = V16(repeating: c[0])
    for i in 1..<c.count { p = V16(repeating: c[i]).addingProduct(p, x) }
    return p
}

// Cephes erfc coefficients, as in XLA's chlo decomposition.
private let erfcT: [Float] = [7.853861353153693E-5, -8.010193625184903E-4, 5.188327685732524E-3,
                              -2.685381193529856E-2, 1.128358514861418E-1, -3.761262582423300E-1,
                              1.128379165726710E+0]
private let erfcP: [Float] = [2.326819970068386E-2, -1.387039388740657E-1, 3.687424674597105E-1,
                              -5.824733027278666E-1, 6.210004621745983E-1, -4.944515323274145E-1,
                              3.404879937665872E-1, -2.741127028184656E-1, 5.638259427386472E-1]
private let erfcR: [Float] = [-1.047766399936249E+1, 1.297719955372516E+1, -7.495518717768503E+0,
                              2.921019019210786E+0, -1.015265279202700E+0, 4.218463358204948E-1,
                              -2.820767439740514E-1, 5.641895067754075E-1]

/// XLA's float32 erfc (Cephes) on 16 lanes.
@inline(__always)
func erfcV16(_ x: V16) -> V16 {
    let one = V16(repeating: 1)
    let ax = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: V16.self)
    let xsq = x * x
    // |x| < 1: 1 - x T(x^2).
    let small = one - x * horner(xsq, erfcT)
    // |x| >= 1: exp(-x^2) / |x| * P or R of 1/x^2.
    let r = one / xsq
    let poly = horner(r, erfcP).replacing(with: horner(r, erfcR), where: ax .>= 2)
    var big = expV16(-xsq) * (one / ax) * poly
    big = big.replacing(with: 0, where: -xsq .< -88.72283905206835)
    big = big.replacing(with: 2 - big, where: x .< 0)
    return big.replacing(with: small, where: ax .< 1)
}

/// GELU on 16 lanes: 0.5 * x * erfc(-x * sqrt(0.5)).
@inline(__always)
private func geluV16(_ x: V16) -> V16 {
    let z = x * V16(repeating: -0.70710677)  // float32(sqrt(0.5))
    return (V16(repeating: 0.5) * x) * erfcV16(z)
}

/// GELU derivative times dy on 16 lanes.
@inline(__always)
private func geluGradV16(_ dy: V16, _ x: V16) -> V16 {
    let z = x * V16(repeating: -0.70710677)
    let cdf = V16(repeating: 0.5) * erfcV16(z)
    let pdf = expV16(V16(repeating: -0.5) * x * x) * V16(repeating: 0.3989422804014327)  // 1/sqrt(2 pi)
    return dy * cdf.addingProduct(x, pdf)
}

/// Loads 16 lanes at `p + i`, zero-filling past `n`.
@inline(__always)
private func loadTail(_ p: UnsafePointer<Float>, _ i: Int, _ n: Int) -> V16 {
    if i &+ 16 <= n { return load16(p + i) }
    var v = V16()
    for l in 0..<(n &- i) { v[l] = p[i &+ l] }
    return v
}

/// Stores 16 lanes at `p + i`, dropping lanes past `n`.
@inline(__always)
private func storeTail(_ v: V16, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) {
    if i &+ 16 <= n { store16(v, p + i); return }
    for l in 0..<(n &- i) { p[i &+ l] = v[l] }
}

/// Exact GELU forward, elementwise.
public func geluForward(_ x: Tensor) -> Tensor {
    let n = x.count
    return x.withPointer { px in
        Tensor.build(x.shape) { py in
            let blocks = (n + 15) / 16
            parallelChunks(blocks, minChunk: 1024) { range in
                for blk in range {
                    let i = blk &* 16
                    storeTail(geluV16(loadTail(px, i, n)), py, i, n)
                }
            }
        }
    }
}

/// Exact GELU backward: `dx = dy * gelu'(x)`.
public func geluBackward(_ dy: Tensor, x: Tensor) -> Tensor {
    precondition(dy.shape == x.shape, "geluBackward: dy \(dy.shape) is not \(x.shape)")
    let n = x.count
    return x.withPointer { px in
        dy.withPointer { pd in
            Tensor.build(x.shape) { pdx in
                let blocks = (n + 15) / 16
                parallelChunks(blocks, minChunk: 1024) { range in
                    for blk in range {
                        let i = blk &* 16
                        storeTail(geluGradV16(loadTail(pd, i, n), loadTail(px, i, n)), pdx, i, n)
                    }
                }
            }
        }
    }
}
