import Tensors

/// Adam over one leaf in a single pass, 16 lanes at a time (AVX-512 with the
/// kernel flags); the scalar tail runs the same operations. Per element:
/// ```
/// mu' = fma(1-b1, g, b1*mu);  nu' = fma(1-b2, g*g, b2*nu)
/// u   = mu' / (c1 * (sqrt(nu'/c2 + epsRoot) + eps))
/// out = u                                      (params == nil)
/// out = fma(step, decayed ? fma(wd, p, u) : u, p)   (params given: the fused adamw step)
/// ```
/// Division and square root are correctly rounded per lane, so the SIMD and
/// scalar paths give the same bits.
@inline(__always)
func adamLeafKernel(n: Int, k: ScaleByAdam.Constants,
                    g: UnsafePointer<Float>, mu: UnsafePointer<Float>, nu: UnsafePointer<Float>,
                    outMu: UnsafeMutablePointer<Float>, outNu: UnsafeMutablePointer<Float>,
                    out: UnsafeMutablePointer<Float>,
                    params: UnsafePointer<Float>?, weightDecay: Float?, step: Float) {
    typealias V = SIMD16<Float>
    let b1 = V(repeating: k.b1), ob1 = V(repeating: k.oneMinusB1)
    let b2 = V(repeating: k.b2), ob2 = V(repeating: k.oneMinusB2)
    let c1 = V(repeating: k.c1), c2 = V(repeating: k.c2)
    let eps = V(repeating: k.eps), epsRoot = V(repeating: k.epsRoot)
    let stepV = V(repeating: step)
    let wdV = V(repeating: weightDecay ?? 0)
    let decayed = weightDecay != nil
    var i = 0
    while i &+ 16 <= n {
        let gv = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
        var m = UnsafeRawPointer(mu + i).loadUnaligned(as: V.self)
        var v = UnsafeRawPointer(nu + i).loadUnaligned(as: V.self)
        m = (b1 * m).addingProduct(ob1, gv)
        v = (b2 * v).addingProduct(ob2, gv * gv)
        var u = m / (c1 * ((v / c2 + epsRoot).squareRoot() + eps))
        if let params {
            let pv = UnsafeRawPointer(params + i).loadUnaligned(as: V.self)
            if decayed { u = u.addingProduct(wdV, pv) }
            u = pv.addingProduct(stepV, u)
        }
        UnsafeMutableRawPointer(outMu + i).storeBytes(of: m, as: V.self)
        UnsafeMutableRawPointer(outNu + i).storeBytes(of: v, as: V.self)
        UnsafeMutableRawPointer(out + i).storeBytes(of: u, as: V.self)
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
        i &+= 1
    }
}

/// Runs `adamLeafKernel` over a leaf, split across threads for large leaves.
/// Returns (mu', nu', out).
func adamLeaf(_ g: [Float], _ mu: [Float], _ nu: [Float], params: [Float]?, weightDecay: Float?, step: Float,
              _ k: ScaleByAdam.Constants) -> ([Float], [Float], [Float]) {
    let n = g.count
    var outMu = [Float](unsafeUninitializedCapacity: n) { _, c in c = n }
    var outNu = [Float](unsafeUninitializedCapacity: n) { _, c in c = n }
    var out = [Float](unsafeUninitializedCapacity: n) { _, c in c = n }
    g.withUnsafeBufferPointer { pg in
    mu.withUnsafeBufferPointer { pm in
    nu.withUnsafeBufferPointer { pv in
    outMu.withUnsafeMutableBufferPointer { om in
    outNu.withUnsafeMutableBufferPointer { on in
    out.withUnsafeMutableBufferPointer { o in
        func run(_ pp: UnsafePointer<Float>?) {
            parallelChunks(n, minChunk: 1 << 16) { r in
                let lo = r.lowerBound
                adamLeafKernel(n: r.count, k: k, g: pg.baseAddress! + lo, mu: pm.baseAddress! + lo, nu: pv.baseAddress! + lo,
                               outMu: om.baseAddress! + lo, outNu: on.baseAddress! + lo, out: o.baseAddress! + lo,
                               params: pp.map { $0 + lo }, weightDecay: weightDecay, step: step)
            }
        }
        if n == 0 { return }
        if let params { params.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
    }}}}}}
    return (outMu, outNu, out)
}
