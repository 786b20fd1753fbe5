// Loads and stores of 16 floats, the one SIMD width every kernel here uses
// (AVX-512: one register). Unaligned: tensors and their rows start anywhere.
// The `valid:` forms handle a tail shorter than 16 lanes: the same vector code
// runs on it, with zero lanes past the end on load and those lanes dropped on
// store, so every element sees identical arithmetic.

typealias V16 = SIMD16<Float>

/// The 16 floats at `p`.
@inline(__always) func load16(_ p: UnsafePointer<Float>) -> V16 {
    UnsafeRawPointer(p).loadUnaligned(as: V16.self)
}

/// Writes the 16 lanes of `v` at `p`.
@inline(__always) func store16(_ v: V16, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V16.self)
}

/// The first `valid` floats at `p` (all 16 when `valid >= 16`), the other lanes zero.
@inline(__always) func load16(_ p: UnsafePointer<Float>, valid: Int) -> V16 {
    if valid >= 16 { return load16(p) }
    var v = V16()
    for l in 0..<valid { v[l] = p[l] }
    return v
}

/// Writes the first `valid` lanes of `v` at `p` (all 16 when `valid >= 16`).
@inline(__always) func store16(_ v: V16, _ p: UnsafeMutablePointer<Float>, valid: Int) {
    if valid >= 16 { store16(v, p); return }
    for l in 0..<valid { p[l] = v[l] }
}
