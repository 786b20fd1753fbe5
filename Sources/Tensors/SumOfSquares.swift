// Sums of squares in float64 for norms (gradient, weight and update norms,
// optax's global_norm). Fixed chunks of 64K elements are reduced in parallel,
// each with eight float64 lanes, and the chunk sums are added in order, so
// the result does not depend on the thread count. (A single running Double
// sum is bound by the add's latency: ~25 ms per pass over ConvNeXt-Tiny's
// 28.6M parameters; this runs at memory speed.)

private let chunk = 1 << 16

/// `sum_i f(i)^2` in float64 over `0..<n`, where `value(p, i)` gives element i.
@inline(__always)
private func chunkedSquares(_ n: Int, _ value: (Int) -> Float) -> Double {
    if n == 0 { return 0 }
    let chunks = (n + chunk - 1) / chunk
    var partial = [Double](repeating: 0, count: chunks)
    partial.withUnsafeMutableBufferPointer { pb in
        let out = UncheckedSendable(pb.baseAddress!)
        parallelChunks(chunks) { range in
            for c in range {
                let lo = c &* chunk, hi = min(n, lo &+ chunk)
                var acc = SIMD8<Double>()
                var i = lo
                while i &+ 8 <= hi {
                    let v = SIMD8<Double>(Double(value(i)), Double(value(i &+ 1)), Double(value(i &+ 2)), Double(value(i &+ 3)),
                                          Double(value(i &+ 4)), Double(value(i &+ 5)), Double(value(i &+ 6)), Double(value(i &+ 7)))
                    acc = acc.addingProduct(v, v)
                    i &+= 8
                }
                var s = acc.sum()
                while i < hi { let d = Double(value(i)); s += d * d; i &+= 1 }
                out.value[c] = s
            }
        }
    }
    return partial.reduce(0, +)
}

/// The sum of the squares of `t`'s elements, in float64 (non-finite if any element is).
public func sumOfSquares(_ t: Tensor) -> Double {
    t.withPointer { p in chunkedSquares(t.count) { p[$0] } }
}

/// The sum of the squares of the float32 differences `a - b`, in float64.
public func sumOfSquaredDifferences(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.count == b.count, "sumOfSquaredDifferences of \(a.shape) and \(b.shape)")
    return a.withPointer { p in b.withPointer { q in chunkedSquares(a.count) { p[$0] - q[$0] } } }
}
