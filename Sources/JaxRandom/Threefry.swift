/// Threefry-2x32 with 20 rounds, the block cipher behind JAX's default PRNG.
///
/// Source: jax/_src/random/threefry2x32.py (`_threefry2x32_lowering`,
/// `apply_round`); golden/README.md "How JAX derives random numbers" step 1.
/// All arithmetic is uint32 and wraps mod 2^32:
///
///     ks = [k0, k1, k0 ^ k1 ^ 0x1BD11BDA]
///     x0 += ks[0]; x1 += ks[1]
///     for s in 1...5:
///         for r in R[(s-1) % 2]:  x0 += x1; x1 = rotl(x1, r) ^ x0     // 4 rounds
///         x0 += ks[s % 3]; x1 += ks[(s+1) % 3] + s                     // key injection
///     R = [[13, 15, 26, 6], [17, 29, 16, 24]]
///
/// Two versions with the same body: one pair at a time (keys, split, fold_in)
/// and 16 counters at a time in AVX-512 lanes (bits and the samplers).
enum Threefry {
    /// The Threefish key-schedule parity constant.
    static let parity: UInt32 = 0x1BD1_1BDA

    @inline(__always)
    static func rotl(_ v: UInt32, _ r: UInt32) -> UInt32 { (v &<< r) | (v &>> (32 &- r)) }

    @inline(__always)
    static func rotl(_ v: SIMD16<UInt32>, _ r: UInt32) -> SIMD16<UInt32> { (v &<< r) | (v &>> (32 &- r)) }

    /// threefry2x32(key, (x0, x1)) for one counter pair.
    @inline(__always)
    static func hash(_ k0: UInt32, _ k1: UInt32, _ x0: UInt32, _ x1: UInt32) -> (UInt32, UInt32) {
        let k2 = k0 ^ k1 ^ parity
        var a = x0 &+ k0, b = x1 &+ k1
        // Block 1: rotations R0, then inject ks[1], ks[2] + 1.
        a = a &+ b; b = rotl(b, 13) ^ a
        a = a &+ b; b = rotl(b, 15) ^ a
        a = a &+ b; b = rotl(b, 26) ^ a
        a = a &+ b; b = rotl(b, 6) ^ a
        a = a &+ k1; b = b &+ k2 &+ 1
        // Block 2: R1, inject ks[2], ks[0] + 2.
        a = a &+ b; b = rotl(b, 17) ^ a
        a = a &+ b; b = rotl(b, 29) ^ a
        a = a &+ b; b = rotl(b, 16) ^ a
        a = a &+ b; b = rotl(b, 24) ^ a
        a = a &+ k2; b = b &+ k0 &+ 2
        // Block 3: R0, inject ks[0], ks[1] + 3.
        a = a &+ b; b = rotl(b, 13) ^ a
        a = a &+ b; b = rotl(b, 15) ^ a
        a = a &+ b; b = rotl(b, 26) ^ a
        a = a &+ b; b = rotl(b, 6) ^ a
        a = a &+ k0; b = b &+ k1 &+ 3
        // Block 4: R1, inject ks[1], ks[2] + 4.
        a = a &+ b; b = rotl(b, 17) ^ a
        a = a &+ b; b = rotl(b, 29) ^ a
        a = a &+ b; b = rotl(b, 16) ^ a
        a = a &+ b; b = rotl(b, 24) ^ a
        a = a &+ k1; b = b &+ k2 &+ 4
        // Block 5: R0, inject ks[2], ks[0] + 5.
        a = a &+ b; b = rotl(b, 13) ^ a
        a = a &+ b; b = rotl(b, 15) ^ a
        a = a &+ b; b = rotl(b, 26) ^ a
        a = a &+ b; b = rotl(b, 6) ^ a
        a = a &+ k2; b = b &+ k0 &+ 5
        return (a, b)
    }

    /// threefry2x32(key, (x0[i], x1[i])) for 16 counter pairs at once.
    @inline(__always)
    static func hash(_ k0: UInt32, _ k1: UInt32, _ x0: SIMD16<UInt32>, _ x1: SIMD16<UInt32>) -> (SIMD16<UInt32>, SIMD16<UInt32>) {
        let k2 = k0 ^ k1 ^ parity
        var a = x0 &+ k0, b = x1 &+ k1
        a = a &+ b; b = rotl(b, 13) ^ a
        a = a &+ b; b = rotl(b, 15) ^ a
        a = a &+ b; b = rotl(b, 26) ^ a
        a = a &+ b; b = rotl(b, 6) ^ a
        a = a &+ k1; b = b &+ (k2 &+ 1)
        a = a &+ b; b = rotl(b, 17) ^ a
        a = a &+ b; b = rotl(b, 29) ^ a
        a = a &+ b; b = rotl(b, 16) ^ a
        a = a &+ b; b = rotl(b, 24) ^ a
        a = a &+ k2; b = b &+ (k0 &+ 2)
        a = a &+ b; b = rotl(b, 13) ^ a
        a = a &+ b; b = rotl(b, 15) ^ a
        a = a &+ b; b = rotl(b, 26) ^ a
        a = a &+ b; b = rotl(b, 6) ^ a
        a = a &+ k0; b = b &+ (k1 &+ 3)
        a = a &+ b; b = rotl(b, 17) ^ a
        a = a &+ b; b = rotl(b, 29) ^ a
        a = a &+ b; b = rotl(b, 16) ^ a
        a = a &+ b; b = rotl(b, 24) ^ a
        a = a &+ k1; b = b &+ (k2 &+ 4)
        a = a &+ b; b = rotl(b, 13) ^ a
        a = a &+ b; b = rotl(b, 15) ^ a
        a = a &+ b; b = rotl(b, 26) ^ a
        a = a &+ b; b = rotl(b, 6) ^ a
        a = a &+ k2; b = b &+ (k0 &+ 5)
        return (a, b)
    }

    /// Lane offsets 0..15 (computed, not a stored global, so hot loops need no lazy-init check).
    @inline(__always)
    static var iota: SIMD16<UInt32> { SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) }

    /// 32-bit random bits for the 16 flat indices `base ..< base + 16`
    /// (partitionable `random_bits`): element i is `y0 ^ y1` of
    /// threefry(key, (hi32(i), lo32(i))).
    @inline(__always)
    static func bits16(_ key: PRNGKey, base: Int) -> SIMD16<UInt32> {
        let b = UInt64(base)
        let hi = UInt32(truncatingIfNeeded: b >> 32)
        let lo = UInt32(truncatingIfNeeded: b)
        if lo <= UInt32.max - 15 {
            // Common case: the 16 counters share their high word.
            let (y0, y1) = hash(key.k0, key.k1, SIMD16(repeating: hi), SIMD16(repeating: lo) &+ iota)
            return y0 ^ y1
        }
        // The block straddles a multiple of 2^32: build each counter pair separately.
        var x0 = SIMD16<UInt32>(), x1 = SIMD16<UInt32>()
        for l in 0..<16 {
            let i = b &+ UInt64(l)
            x0[l] = UInt32(truncatingIfNeeded: i >> 32)
            x1[l] = UInt32(truncatingIfNeeded: i)
        }
        let (y0, y1) = hash(key.k0, key.k1, x0, x1)
        return y0 ^ y1
    }
}
