#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The C library's double `pow`.
@inline(__always) func libmPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }

/// The C library's float `cosf`: XLA:CPU lowers f32 `cosine` to a call to
/// `cosf`, so calling the same function gives JAX's bits (checked on all
/// 93,741 steps of the seed's cosine schedule).
@inline(__always) func libmCosf(_ x: Float) -> Float { cosf(x) }

/// The C library's double `sqrt`.
@inline(__always) func libmSqrt(_ x: Double) -> Double { sqrt(x) }
