// Sums of squares in float64 for norms (gradient, weight and update norms,
// optax's global_norm). Fixed chunks of 64K elements are reduced in parallel,
// each with 16 float64 lanes, and the chunk sums are added in order, so
// the result does not depend on the thread count. (A single running Double
// sum is bound by the add's latency: ~25 ms per pass over ConvNeXt-Tiny's
// 28.6M parameters; this runs at memory speed.)

private let chunk = 1 << 16

/// `sum_i v_i^2` in float64 over `0..<n`, where `load(i)` gives the 16
/// float32 values at i (16 at a time; `value(i)` for the tail).
@inline(__always)
private func chunkedSquares(_ n: Int, _ load: (Int) -> SIMD16<Float>, _ value: (Int) -> Float) -> Double {
    if n == 0 { return 0 }
    let chunks = (n + chunk - 1) / chunk
    var partial = [Double](repeating: 0, count: chunks)
    partial.withUnsafeMutableBufferPointer { pb in
        let out = UncheckedSendable(pb.baseAddress!)
        parallelChunks(chunks) { range in
            for c in range {
                let lo = c &* chunk, hi = min(n, lo &+ chunk)
                // Two float64 accumulators of 8 lanes (vcvtps2pd + FMA per half).
                var acc0 = SIMD8<Double>(), acc1 = SIMD8<Double>()
                var i = lo
                while i &+ 16 <= hi {
                    let v = load(i)
                    let a = SIMD8<Double>(v.lowHalf), b = SIMD8<Double>(v.highHalf)
                    acc0 = acc0.addingProduct(a, a)
                    acc1 = acc1.addingProduct(b, b)
                    i &+= 16
                }
                var s = (acc0 + acc1).sum()
                while i < hi { let d = Double(value(i)); s += d * d; i &+= 1 }
                out.value[c] = s
            }
        }
    }
    return partial.reduce(0, +)
}

/// The sum of the squares of `t`'s elements, in float64 (non-finite if any element is).
public func sumOfSquares(_ t: Tensor) -> Double {
    t.withPointer { p in chunkedSquares(t.count, { load16(p + $0) }, { p[$0] }) }
}

/// The sum of the squares of the float32 differences `a - b`, in float64.
public func sumOfSquaredDifferences(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.count == b.count, "sumOfSquaredDifferences of \(a.shape) and \(b.shape)")
    return a.withPointer { p in
        b.withPointer { q in chunkedSquares(a.count, { load16(p + $0) - load16(q + $0) }, { p[$0] - q[$0] }) }
    }
}
