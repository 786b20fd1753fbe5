/// JAX's float32/int32 samplers on threefry2x32 keys.
///
/// Each function equals `jax.random.X(key, (count,))` bit for bit, under the
/// settings recorded in golden/manifest.json (`jax_threefry_partitionable =
/// True`, x64 off). A shaped draw in JAX is the same numbers in C order, so
/// `count = product(shape)` covers every shape. The recipes are in
/// golden/README.md, "How JAX derives random numbers", steps 6-13.
///
/// Large draws are computed 16 counters per SIMD block and spread over the
/// cores; the values do not depend on the number of threads.
public enum Random {
    /// `jax.random.bits(key, (count,))`, uint32 (partitionable): element i is
    /// `y0 ^ y1` of `threefry(key, (hi32(i), lo32(i)))`.
    public static func bits(_ key: PRNGKey, count: Int) -> [UInt32] {
        makeArray(count: count) { range, out in
            forEachBlock(range) { base, lanes in
                store(Threefry.bits16(key, base: base), to: out.base + base, lanes: lanes)
            }
        }
    }

    /// `jax.random.uniform(key, (count,), float32, minval, maxval)`:
    /// `u = bitcast((bits >> 9) | 0x3F800000) - 1` in [0, 1), then
    /// `max(minval, fma(u, maxval - minval, minval))` (XLA:CPU fuses the
    /// multiply-add).
    public static func uniform(_ key: PRNGKey, count: Int, minval: Float = 0, maxval: Float = 1) -> [Float] {
        makeArray(count: count) { range, out in
            forEachBlock(range) { base, lanes in
                store(uniform16(key, base: base, minval: minval, maxval: maxval), to: out.base + base, lanes: lanes)
            }
        }
    }

    /// `jax.random.normal(key, (count,))`, float32:
    /// `sqrt2 · erf_inv(uniform(key, nextafter(-1, 0), 1))` with XLA's erf_inv.
    public static func normal(_ key: PRNGKey, count: Int) -> [Float] {
        let lo = Float(bitPattern: 0xBF7F_FFFF)    // nextafter(-1, 0) = -0.99999994
        let sqrt2 = Float(bitPattern: 0x3FB5_04F3)
        return makeArray(count: count) { range, out in
            forEachBlock(range) { base, lanes in
                let u = uniform16(key, base: base, minval: lo, maxval: 1)
                store(XLAMath.erfInv(u) * sqrt2, to: out.base + base, lanes: lanes)
            }
        }
    }

    /// `jax.random.truncated_normal(key, lower, upper, (count,))`, float32:
    /// `u = uniform(key, erf(lower·(1/√2)), erf(upper·(1/√2)))`, `sqrt2 · erf_inv(u)`,
    /// clipped to `[nextafter(lower, +inf), nextafter(upper, -inf)]`.
    /// The erf bounds use XLA's float32 erf and XLA's reciprocal multiply; for
    /// (-2, 2) they are ±0x3F745A18 as prng.json records (the case every
    /// initializer uses); other bounds are checked against jax 0.10.2 in
    /// JAXExtraVectorsTests.
    /// Requires `lower < upper`.
    public static func truncatedNormal(_ key: PRNGKey, count: Int, lower: Float, upper: Float) -> [Float] {
        precondition(lower < upper, "truncatedNormal needs lower < upper, got \(lower) and \(upper)")
        let sqrt2 = Float(bitPattern: 0x3FB5_04F3)
        // XLA:CPU compiles `lower / sqrt2` as `lower * float32(1/sqrt2)` (0x3F3504F3);
        // a true division differs by an ulp for e.g. 1.5 (checked against jax 0.10.2).
        let invSqrt2 = Float(bitPattern: 0x3F35_04F3)
        let a = XLAMath.erf(lower * invSqrt2), b = XLAMath.erf(upper * invSqrt2)
        let clipLo = SIMD16<Float>(repeating: lower.nextUp), clipHi = SIMD16<Float>(repeating: upper.nextDown)
        return makeArray(count: count) { range, out in
            forEachBlock(range) { base, lanes in
                let u = uniform16(key, base: base, minval: a, maxval: b)
                let z = XLAMath.erfInv(u) * sqrt2
                // np.clip: min(max(z, lo), hi) (as selects: pointwiseMin/Max were not inlined here).
                let zl = z.replacing(with: clipLo, where: z .< clipLo)
                store(zl.replacing(with: clipHi, where: zl .> clipHi), to: out.base + base, lanes: lanes)
            }
        }
    }

    /// `jax.random.bernoulli(key, p, (count,))` (mode 'low'):
    /// `uniform(key) < float32(p)`.
    public static func bernoulli(_ key: PRNGKey, count: Int, p: Float) -> [Bool] {
        let u = uniform(key, count: count)
        return u.map { $0 < p }
    }

    /// `jax.random.permutation(key, n)` of `0..<n` (`_shuffle`):
    /// `rounds = ceil(3 ln n / ln(2^32 - 1))` (1 for n < 1625); each round
    /// `key, sub = split(key)` and a stable sort of the array by `bits(sub, n)`.
    public static func permutation(_ key: PRNGKey, n: Int) -> [Int] {
        precondition(n >= 0 && n <= Int(UInt32.max), "permutation size must be in 0...2^32-1, got \(n)")
        var x = Array(0..<n)
        let rounds = Int((3 * _log(Double(max(1, n))) / _log(Double(UInt32.max))).rounded(.up))
        var k = key
        for _ in 0..<rounds {
            let sub = k.splitKey(1)
            k = k.splitKey(0)
            let b = bits(sub, count: n)
            // Stable sort by the bits: sort (bits << 32 | position), so equal bits keep their order.
            var packed = (0..<n).map { UInt64(b[$0]) << 32 | UInt64($0) }
            packed.sort()
            x = packed.map { x[Int($0 & 0xFFFF_FFFF)] }
        }
        return x
    }

    /// `jax.random.randint(key, (count,), minval, maxval)`, int32 (`_randint`):
    /// `k1, k2 = split(key)`; `span = uint32(maxval - minval)` (1 if
    /// maxval <= minval); `m = (2^16 % span)² % span`;
    /// `offset = ((bits(k1) % span) · m + bits(k2) % span) % span`, uint32 wrapping;
    /// result `minval + int32(offset)`.
    public static func randint(_ key: PRNGKey, count: Int, minval: Int32, maxval: Int32) -> [Int32] {
        let hiBits = bits(key.splitKey(0), count: count)
        let loBits = bits(key.splitKey(1), count: count)
        let span: UInt32 = maxval <= minval ? 1 : UInt32(bitPattern: maxval &- minval)
        var m = (UInt32(1) << 16) % span
        m = (m &* m) % span
        return (0..<count).map { i in
            let offset = (((hiBits[i] % span) &* m) &+ (loBits[i] % span)) % span
            return minval &+ Int32(bitPattern: offset)
        }
    }

    // MARK: - blocks of 16

    /// Calls `body(base, lanes)` for each 16-element block of `range`
    /// (`range.lowerBound` is a multiple of 16); `lanes` is 16 except in the last block.
    @inline(__always)
    static func forEachBlock(_ range: Range<Int>, _ body: (Int, Int) -> Void) {
        var i = range.lowerBound
        while i < range.upperBound {
            body(i, min(16, range.upperBound - i))
            i += 16
        }
    }

    /// Stores the first `lanes` lanes of `v` at `p` (unaligned).
    @inline(__always)
    static func store<T: SIMDScalar>(_ v: SIMD16<T>, to p: UnsafeMutablePointer<T>, lanes: Int) {
        if lanes == 16 {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<T>.self)
        } else {
            for l in 0..<lanes { p[l] = v[l] }
        }
    }

    /// Uniform floats for indices `base ..< base + 16`: `max(lo, fma(u01, hi - lo, lo))`.
    @inline(__always)
    static func uniform16(_ key: PRNGKey, base: Int, minval: Float, maxval: Float) -> SIMD16<Float> {
        let b = Threefry.bits16(key, base: base)
        // [1, 2) from the top 23 bits, minus 1.
        let u01 = XLAMath.asFloat((b &>> 9) | 0x3F80_0000) - 1
        let lo = SIMD16<Float>(repeating: minval)
        let v = lo.addingProduct(u01, SIMD16<Float>(repeating: maxval - minval))
        return v.replacing(with: lo, where: v .< lo)    // max(lo, v)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) private func _log(_ x: Double) -> Double { Darwin.log(x) }
#endif
