import TestSupport
import XCTest
@testable import Tensors

/// Test inputs from a SplitMix64 stream (TestSupport).
struct TestRNG {
    var source: SplitMix64
    init(_ seed: UInt64) { source = SplitMix64(state: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1) }
    mutating func next() -> UInt64 { source.next() }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
    mutating func tensor(_ shape: [Int], _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
        Tensor(shape: shape, scalars: (0..<Tensor.count(of: shape)).map { _ in uniform(lo, hi) })
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

extension Tensor {
    var doubles: [Double] { scalars.map(Double.init) }
}

/// Asserts `|a - ref| <= atol + rtol * max|ref|` elementwise.
func assertClose(_ a: [Float], _ ref: [Double], rtol: Double, atol: Double = 0,
                 _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, ref.count, "\(what): element count", file: file, line: line)
    let scale = ref.map(abs).max() ?? 0
    var worst = 0.0, at = -1
    for i in 0..<min(a.count, ref.count) {
        let e = abs(Double(a[i]) - ref[i])
        if !(e <= worst) { worst = e; at = i }
    }
    let tol = atol + rtol * scale
    XCTAssert(worst <= tol, "\(what): max error \(worst) at \(at) exceeds \(tol) (scale \(scale))",
              file: file, line: line)
}

/// Central finite-difference check of one gradient, in Double.
///
/// `loss(x)` is a Double function of the flattened input (built from a Double
/// reference forward). The analytic gradient `analytic` is compared at
/// `samples` coordinates (all if fewer) with step `h`:
/// `|analytic - fd| <= rtol * max|fd| + atol`.
func checkGradient(_ analytic: Tensor, at x: [Double], samples: Int = 40, h: Double = 1e-3,
                   rtol: Double = 1e-4, atol: Double = 1e-7, seed: UInt64 = 7, _ what: String,
                   file: StaticString = #filePath, line: UInt = #line,
                   loss: ([Double]) -> Double) {
    XCTAssertEqual(analytic.count, x.count, "\(what): gradient has the wrong size", file: file, line: line)
    var rng = TestRNG(seed)
    let idx: [Int] = x.count <= samples ? Array(0..<x.count) : (0..<samples).map { _ in rng.int(x.count) }
    var fd = [Double](), an = [Double]()
    var xp = x
    for i in idx {
        xp[i] = x[i] + h
        let lp = loss(xp)
        xp[i] = x[i] - h
        let lm = loss(xp)
        xp[i] = x[i]
        fd.append((lp - lm) / (2 * h))
        an.append(Double(analytic.scalars[i]))
    }
    let scale = fd.map(abs).max() ?? 0
    XCTAssert(scale > 0 || an.allSatisfy { $0 == 0 }, "\(what): finite differences are all zero", file: file, line: line)
    for k in 0..<idx.count {
        let e = abs(an[k] - fd[k])
        if e > rtol * scale + atol {
            XCTFail("\(what): d/dx[\(idx[k])] analytic \(an[k]) vs finite difference \(fd[k]) (scale \(scale))",
                    file: file, line: line)
            return
        }
    }
}

/// `sum_i out_i * r_i`: the scalar whose gradient w.r.t. `out` is `r`.
func project(_ out: [Double], _ r: [Float]) -> Double {
    var s = 0.0
    for i in 0..<out.count { s += out[i] * Double(r[i]) }
    return s
}

/// `sum_t op(A)[i, t] * op(B)[t, j]` in float64 for row-major A and B with
/// leading dimensions `lda`, `ldb` (the reference for the GEMM tests).
func referenceProduct(_ a: [Float], _ b: [Float], i: Int, j: Int, k: Int,
                      transA: Bool, transB: Bool, lda: Int, ldb: Int) -> Double {
    var s = 0.0
    for t in 0..<k {
        let av = transA ? a[t * lda + i] : a[i * lda + t]
        let bv = transB ? b[j * ldb + t] : b[t * ldb + j]
        s += Double(av) * Double(bv)
    }
    return s
}
