// Exact GELU, as Flax/JAX `gelu(approximate=False)`:
//
//   y = 0.5 * x * erfc(-x * sqrt(0.5)),   erfc(z) = 1 - erf(z)
//   dy/dx = 0.5 * erfc(-x * sqrt(0.5)) + x * exp(-x^2 / 2) / sqrt(2 pi)
//
// erf is XLA:CPU's float32 rational approximation (notes/swift-kernels.md):
// clamp |x| <= 3.832506856900711, erf = x * P(x^2) / Q(x^2), Horner with FMA.
// exp is Cephes' expf with the magic-number rounding trick. Everything works
// on SIMD16 vectors; a tail shorter than 16 goes through the same vector code
// via a zero-padded temporary, so every element sees identical arithmetic.

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

/// GELU on 16 lanes: 0.5 * x * (1 - erf(-x * sqrt(0.5))).
@inline(__always)
private func geluV16(_ x: V16) -> V16 {
    let z = x * V16(repeating: -0.70710677)  // float32(sqrt(0.5))
    return (V16(repeating: 0.5) * x) * (V16(repeating: 1) - erfV16(z))
}

/// GELU derivative times dy on 16 lanes.
@inline(__always)
private func geluGradV16(_ dy: V16, _ x: V16) -> V16 {
    let z = x * V16(repeating: -0.70710677)
    let cdf = V16(repeating: 0.5) * (V16(repeating: 1) - erfV16(z))
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
