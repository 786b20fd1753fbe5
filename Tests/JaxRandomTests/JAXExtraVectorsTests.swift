import Crypto
import Foundation
import XCTest
@testable import JaxRandom

/// Vectors beyond golden/prng.json, measured with jax 0.10.2 / jaxlib 0.10.2
/// (CPU, x86-64 with AVX-512 and FMA, jax_threefry_partitionable = True) by:
///
///     erf = jax.jit(lambda x: jax.lax.erf(x / np.float32(np.sqrt(2.0))))   # as truncated_normal does
///     erf(jnp.float32(lo)), erf(jnp.float32(hi))
///     sha256(np.asarray(jax.random.truncated_normal(jax.random.PRNGKey(7), lo, hi, (4096,)), '<f4'))
///     sha256(np.asarray(jax.random.normal(jax.random.PRNGKey(123), (1 << 20,)), '<f4'))
///
///     permutation(PRNGKey(3), 5000); randint(PRNGKey(5), (1000,), lo, hi, int32);
///     uniform(PRNGKey(9), (4096,), -1e-3, 5e4); bernoulli(PRNGKey(10), 0.5, (4096,)) as uint8
///
/// They pin XLA's float32 erf for bounds other than ±2, erf_inv's w >= 5
/// branch over a million normals, permutation's second sort round (n >= 1625),
/// randint's wrapping spans and uniform's FMA on a wide range.
final class JAXExtraVectorsTests: XCTestCase {
    func testTruncatedNormalOtherBounds() {
        // XLA turns x / sqrt2 into x * float32(1/sqrt2); for 1.5 a true division gives erf 2 ulp off.
        let invSqrt2 = Float(bitPattern: 0x3F35_04F3)
        let cases: [(Float, Float, UInt32, UInt32, String)] = [
            (-2.0, 2.0, 0xBF74_5A18, 0x3F74_5A18, "85df164a84c945e18d46c3a26e07b283804716c4d511b1dbe0e1497d4bbd9518"),
            (-1.0, 3.0, 0xBF2E_C4BD, 0x3F7F_4F11, "97f5eb662abb57ff989bfd9314dad892106722479e25aefc9e2b3ba2d1d705de"),
            (-0.5, 1.5, 0xBEC4_0EBC, 0x3F5D_CB72, "7946877c8702ce35bd519df765a3644d57506994ca79aa5a5640af0885a7fbbb"),
            (-3.7, 0.25, 0xBF7F_F1DD, 0x3E4A_268C, "3ad8f0e8bec4b3f269343581ff76d6f9f4eaf3b24fbdeb0e87da6f72f9321386"),
            (0.1, 5.0, 0x3DA3_2283, 0x3F7F_FFF7, "f3fa0f674ab889ee1071fc13042ca010d40b90f5254dec9ee9c9fb5ce60acbda"),
        ]
        for (lo, hi, a, b, digest) in cases {
            XCTAssertEqual(XLAMath.erf(lo * invSqrt2).bitPattern, a, "erf(\(lo)/sqrt2)")
            XCTAssertEqual(XLAMath.erf(hi * invSqrt2).bitPattern, b, "erf(\(hi)/sqrt2)")
            let t = Random.truncatedNormal(PRNGKey(seed: 7), count: 4096, lower: lo, upper: hi)
            XCTAssertEqual(sha256F32LE(t), digest, "truncated_normal(\(lo), \(hi))")
        }
    }

    func testMillionNormals() {
        let z = Random.normal(PRNGKey(seed: 123), count: 1 << 20)
        XCTAssertEqual(sha256F32LE(z), "1785fba667c2dd5111ff4a8b82697768859c468c79b9117a041cdc3587b6d19c")
    }

    func testPermutationTwoRounds() {
        let p = Random.permutation(PRNGKey(seed: 3), n: 5000)
        XCTAssertEqual(Array(p.prefix(5)), [4977, 9, 15, 1497, 3463])
        XCTAssertEqual(sha256Int32LE(p.map { Int32($0) }), "be5edd064c84d6a00f7bd711ae3cdcdf0ceb2511b2926523377417461e69ace5")
    }

    func testRandintSpans() {
        let cases: [(Int32, Int32, [Int32], String)] = [
            (.min, .max, [-1_787_507_967, -1_163_020_224, -1_664_956_169, -994_140_664],
             "88780b22840e5e87ff6caa8d6f2c38d25a3e7c773eee02a8c8ff25debca4eaa7"),
            (-1_000_000, 7, [-26832, -543_464, -475_895, -665_087],
             "6684302716fd4219588c3cc90024fa6b1bf679c3f1471bfa4352b0795d1243db"),
            (5, 3, [5, 5, 5, 5], "1a483998322c64ca6d4015b94e685f8b9bb8a987df0f21568c8467bfc20e5af5"),
            (0, .max, [359_975_681, 984_463_424, 482_527_479, 1_153_342_984],
             "39a15cbed9e477d51ebda45168e8fbe619eb559a3d847c975f5e9132995e711c"),
        ]
        for (lo, hi, first, digest) in cases {
            let r = Random.randint(PRNGKey(seed: 5), count: 1000, minval: lo, maxval: hi)
            XCTAssertEqual(Array(r.prefix(4)), first, "[\(lo), \(hi))")
            XCTAssertEqual(sha256Int32LE(r), digest, "[\(lo), \(hi))")
        }
    }

    func testWideUniformAndFairBernoulli() {
        let u = Random.uniform(PRNGKey(seed: 9), count: 4096, minval: -1e-3, maxval: 5e4)
        XCTAssertEqual(sha256F32LE(u), "580417a30eec823a67e2cddb3d23ab8febbc6c319ac687a67346b1857480ec09")
        let b = Random.bernoulli(PRNGKey(seed: 10), count: 4096, p: 0.5)
        XCTAssertEqual(SHA256.hash(data: b.map { $0 ? UInt8(1) : 0 }).map { String(format: "%02x", $0) }.joined(),
                       "5f7d01a173dc3f8118fdb68e45368d8a5ed738cf024f56d55e5044b1df2c7bca")
    }
}

func sha256Int32LE(_ values: [Int32]) -> String {
    let le = values.map { $0.littleEndian }
    return le.withUnsafeBytes { SHA256.hash(data: $0) }.map { String(format: "%02x", $0) }.joined()
}
