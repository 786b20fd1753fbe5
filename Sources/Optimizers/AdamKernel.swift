import Tensors

/// Adam over one leaf in a single pass, 16 lanes at a time (AVX-512 with the
/// kernel flags); the scalar tail runs the same operations. Per element:
/// ```
/// mu' = fma(1-b1, g, b1*mu);  nu' = fma(1-b2, g*g, b2*nu)   (or the other contraction, see ScaleByAdam)
/// u   = mu' / (c1 * (sqrt(nu'/c2 + epsRoot) + eps))
/// out = u                                      (params == nil)
/// out = fma(step, decayed ? fma(wd, p, u) : u, p)   (params given: the fused adamw step)
/// ema' = fma(1-d, out, d*ema)                  (ema given: the model EMA of the new params)
/// ```
/// Division and square root are correctly rounded per lane, so the SIMD and
/// scalar paths give the same bits.
@inline(__always)
func adamLeafKernel(n: Int, k: ScaleByAdam.Constants,
                    g: UnsafePointer<Float>, mu: UnsafePointer<Float>, nu: UnsafePointer<Float>,
                    outMu: UnsafeMutablePointer<Float>, outNu: UnsafeMutablePointer<Float>,
                    out: UnsafeMutablePointer<Float>,
                    params: UnsafePointer<Float>?, weightDecay: Float?, step: Float,
                    emaAverage: UnsafePointer<Float>? = nil, emaOut: UnsafeMutablePointer<Float>? = nil,
                    emaDecay: Float = 0, emaOneMinusDecay: Float = 0) {
    typealias V = SIMD16<Float>
    let dV = V(repeating: emaDecay), omdV = V(repeating: emaOneMinusDecay)
    let b1 = V(repeating: k.b1), ob1 = V(repeating: k.oneMinusB1)
    let b2 = V(repeating: k.b2), ob2 = V(repeating: k.oneMinusB2)
    let c1 = V(repeating: k.c1), c2 = V(repeating: k.c2)
    let eps = V(repeating: k.eps), epsRoot = V(repeating: k.epsRoot)
    let stepV = V(repeating: step)
    let wdV = V(repeating: weightDecay ?? 0)
    let decayed = weightDecay != nil
    let momentFMA = k.contraction == .moment
    var i = 0
    while i &+ 16 <= n {
        let gv = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
        var m = UnsafeRawPointer(mu + i).loadUnaligned(as: V.self)
        var v = UnsafeRawPointer(nu + i).loadUnaligned(as: V.self)
        if momentFMA {
            m = (ob1 * gv).addingProduct(b1, m)
            v = (ob2 * (gv * gv)).addingProduct(b2, v)
        } else {
            m = (b1 * m).addingProduct(ob1, gv)
            v = (b2 * v).addingProduct(ob2, gv * gv)
        }
        var u = m / (c1 * ((v / c2 + epsRoot).squareRoot() + eps))
        if let params {
            let pv = UnsafeRawPointer(params + i).loadUnaligned(as: V.self)
            if decayed { u = u.addingProduct(wdV, pv) }
            u = pv.addingProduct(stepV, u)
        }
        UnsafeMutableRawPointer(outMu + i).storeBytes(of: m, as: V.self)
        UnsafeMutableRawPointer(outNu + i).storeBytes(of: v, as: V.self)
        UnsafeMutableRawPointer(out + i).storeBytes(of: u, as: V.self)
        if let emaAverage, let emaOut {
            let e = UnsafeRawPointer(emaAverage + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(emaOut + i).storeBytes(of: (dV * e).addingProduct(omdV, u), as: V.self)
        }
        i &+= 16
    }
    while i < n {
        var m = mu[i], v = nu[i]
        var u = ScaleByAdam.element(g[i], &m, &v, k)
        if let params {
            if let wd = weightDecay { u = u.addingProduct(wd, params[i]) }
            u = params[i].addingProduct(step, u)
        }
        outMu[i] = m
        outNu[i] = v
        out[i] = u
        if let emaAverage, let emaOut { emaOut[i] = (emaDecay * emaAverage[i]).addingProduct(emaOneMinusDecay, u) }
        i &+= 1
    }
}

/// Runs `adamLeafKernel` over a leaf, split across threads for large leaves.
/// Returns (mu', nu', out, ema'), ema' only when `ema` (the leaf's average
/// and the EMA's `d`, `1 - d`) is given.
func adamLeaf(_ g: [Float], _ mu: [Float], _ nu: [Float], params: [Float]?, weightDecay: Float?, step: Float,
              _ k: ScaleByAdam.Constants,
              ema: (average: [Float], decay: Float, oneMinusDecay: Float)? = nil) -> ([Float], [Float], [Float], [Float]?) {
    let n = g.count
    precondition(ema == nil || params != nil, "adamLeaf: the EMA averages the new parameters; pass params")
    var outMu = [Float](unsafeUninitializedCapacity: n) { _, c in c = n }
    var outNu = [Float](unsafeUninitializedCapacity: n) { _, c in c = n }
    var out = [Float](unsafeUninitializedCapacity: n) { _, c in c = n }
    var outEMA = [Float](unsafeUninitializedCapacity: ema == nil ? 0 : n) { _, c in c = ema == nil ? 0 : n }
    let average = ema?.average ?? []
    g.withUnsafeBufferPointer { pg in
    mu.withUnsafeBufferPointer { pm in
    nu.withUnsafeBufferPointer { pv in
    outMu.withUnsafeMutableBufferPointer { om in
    outNu.withUnsafeMutableBufferPointer { on in
    out.withUnsafeMutableBufferPointer { o in
    average.withUnsafeBufferPointer { pa in
    outEMA.withUnsafeMutableBufferPointer { oe in
        if n == 0 { return }
        // The EMA's pointers (nil without one) and its d, 1 - d.
        let average = ema == nil ? nil : pa.baseAddress, emaOut = ema == nil ? nil : oe.baseAddress
        let d = ema?.decay ?? 0, oneMinusD = ema?.oneMinusDecay ?? 0
        func run(_ pp: UnsafePointer<Float>?) {
            parallelChunks(n, minChunk: 1 << 16) { r in
                let lo = r.lowerBound
                adamLeafKernel(n: r.count, k: k, g: pg.baseAddress! + lo, mu: pm.baseAddress! + lo, nu: pv.baseAddress! + lo,
                               outMu: om.baseAddress! + lo, outNu: on.baseAddress! + lo, out: o.baseAddress! + lo,
                               params: pp.map { $0 + lo }, weightDecay: weightDecay, step: step,
                               emaAverage: average.map { $0 + lo }, emaOut: emaOut.map { $0 + lo },
                               emaDecay: d, emaOneMinusDecay: oneMinusD)
            }
        }
        if let params { params.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
    }}}}}}}}
    return (outMu, outNu, out, ema == nil ? nil : outEMA)
}
