import XCTest
@testable import JaxRandom
import Tensors

/// Properties that hold for any key: no golden data needed.
final class PropertyTests: XCTestCase {
    func testSplitKeysDistinctAndIndependentOfCount() {
        for seed: Int64 in [0, 1, 42, -1, 1 << 40] {
            let key = PRNGKey(seed: seed)
            let keys = key.split(1000)
            XCTAssertEqual(Set(keys).count, 1000)
            XCTAssertFalse(keys.contains(key))
            // Partitionable threefry: split(n)[i] == split(m)[i] == foldIn(i).
            XCTAssertEqual(Array(keys.prefix(3)), key.split(3))
            for i in [0, 1, 999] { XCTAssertEqual(keys[i], key.foldIn(UInt32(i))) }
        }
        XCTAssertEqual(PRNGKey(seed: 0).split(0), [])
    }

    func testSeedNarrowing() {
        XCTAssertEqual(PRNGKey(seed: (1 << 32) + 17), PRNGKey(0, 17))
        XCTAssertEqual(PRNGKey(seed: -1), PRNGKey(0, 0xFFFF_FFFF))
        XCTAssertEqual(PRNGKey(seed: Int64.min), PRNGKey(0, 0))
        XCTAssertEqual(PRNGKey(seed: 42).hexDescription, "[0x00000000, 0x0000002a]")
    }

    func testUniformInRange() {
        let key = PRNGKey(seed: 3)
        let u = Random.uniform(key, count: 100_003)
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
        let r = Random.uniform(key, count: 100_003, minval: -3.5, maxval: 2.25)
        XCTAssertTrue(r.allSatisfy { $0 >= -3.5 && $0 < 2.25 })
        let mean = u.reduce(0.0) { $0 + Double($1) } / Double(u.count)
        XCTAssertEqual(mean, 0.5, accuracy: 0.005)   // sd of the mean ~ 0.0009
    }

    func testBernoulliMean() {
        let n = 200_000
        for p: Float in [0.1, 0.3, 0.9] {
            let b = Random.bernoulli(PRNGKey(seed: 11), count: n, p: p)
            let mean = Double(b.filter { $0 }.count) / Double(n)
            // 5 standard deviations of the sample mean.
            let bound = 5 * (Double(p) * (1 - Double(p)) / Double(n)).squareRoot()
            XCTAssertEqual(mean, Double(p), accuracy: bound, "p = \(p)")
        }
        XCTAssertTrue(Random.bernoulli(PRNGKey(seed: 1), count: 1000, p: 0).allSatisfy { !$0 })
        XCTAssertTrue(Random.bernoulli(PRNGKey(seed: 1), count: 1000, p: 1).allSatisfy { $0 })
    }

    func testNormalMoments() {
        let z = Random.normal(PRNGKey(seed: 5), count: 200_000)
        XCTAssertTrue(z.allSatisfy { $0.isFinite })
        let mean = z.reduce(0.0) { $0 + Double($1) } / Double(z.count)
        let variance = z.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(z.count) - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.015)
        XCTAssertEqual(variance, 1, accuracy: 0.02)
    }

    func testTruncatedNormalBounds() {
        let t = Random.truncatedNormal(PRNGKey(seed: 9), count: 100_000, lower: -2, upper: 2)
        XCTAssertTrue(t.allSatisfy { $0 > -2 && $0 < 2 })
        let u = Random.truncatedNormal(PRNGKey(seed: 9), count: 10_000, lower: -0.5, upper: 1.5)
        XCTAssertTrue(u.allSatisfy { $0 > -0.5 && $0 < 1.5 })
    }

    func testPermutationIsAPermutation() {
        for n in [0, 1, 2, 10, 1000, 5000] {   // 5000 takes two rounds
            let p = Random.permutation(PRNGKey(seed: 2), n: n)
            XCTAssertEqual(p.sorted(), Array(0..<n))
        }
    }

    func testRandintRange() {
        let r = Random.randint(PRNGKey(seed: 4), count: 10_000, minval: -5, maxval: 17)
        XCTAssertTrue(r.allSatisfy { $0 >= -5 && $0 < 17 })
        XCTAssertEqual(Set(r).count, 22)
        XCTAssertTrue(Random.randint(PRNGKey(seed: 4), count: 5, minval: 3, maxval: 3).allSatisfy { $0 == 3 })
    }

    /// SIMD blocks, tails and thread chunks give the same values as a short draw.
    func testLongDrawsExtendShortOnes() {
        let key = PRNGKey(seed: 8)
        let long = Random.truncatedNormal(key, count: 300_001, lower: -2, upper: 2)
        for n in [1, 15, 16, 17, 33] {
            XCTAssertEqual(Random.truncatedNormal(key, count: n, lower: -2, upper: 2), Array(long.prefix(n)))
        }
        // One thread gives the same values as many.
        let single = ComputeContext(threads: 1).run { Random.truncatedNormal(key, count: 300_001, lower: -2, upper: 2) }
        let three = ComputeContext(threads: 3).run { Random.truncatedNormal(key, count: 300_001, lower: -2, upper: 2) }
        XCTAssertEqual(single, long)
        XCTAssertEqual(three, long)
        let bits = Random.bits(key, count: 300_001)
        XCTAssertEqual(bits[300_000], Random.bits(key, count: 300_001).last)
        for i in [0, 17, 65_536, 150_000, 300_000] {
            let (y0, y1) = Threefry.hash(key.k0, key.k1, 0, UInt32(i))
            XCTAssertEqual(bits[i], y0 ^ y1, "index \(i)")
        }
    }

    /// Counters past 2^32 carry into the high word (bits16's straddling path).
    func testCountersCrossing32Bits() {
        let key = PRNGKey(seed: 1)
        let base = (1 << 32) - 8
        let v = Threefry.bits16(key, base: base)
        for l in 0..<16 {
            let i = UInt64(base + l)
            let (y0, y1) = Threefry.hash(key.k0, key.k1, UInt32(i >> 32), UInt32(truncatingIfNeeded: i))
            XCTAssertEqual(v[l], y0 ^ y1)
        }
    }
}
