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
/// They pin XLA's float32 erf for bounds other than ±2 and erf_inv's
/// w >= 5 branch over a million normals.
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
}
