import XCTest
import RealModule
@testable import Tensors

final class LayerNormTests: XCTestCase {
    func testForwardMatchesDoubleReference() {
        var rng = TestRNG(30)
        for shape in [[2, 3, 17], [4, 16], [5, 96], [3, 1], [2, 2, 3]] {
            let c = shape.last!
            // An offset mean exercises the fast variance's cancellation.
            let x = rng.tensor(shape, 2, 4), s = rng.tensor([c], 0.5, 1.5), b = rng.tensor([c])
            let out = layerNormForward(x, scale: s, bias: b, epsilon: 1e-6)
            let ref = Ref.layerNorm(x.doubles, c: c, s.doubles, b.doubles, eps: 1e-6)
            XCTAssertEqual(out.mean.shape, Array(shape.dropLast()))
            XCTAssertEqual(out.rstd.shape, Array(shape.dropLast()))
            assertClose(out.mean.scalars, ref.mean, rtol: 1e-6, "LN mean \(shape)")
            if c > 1 {
                assertClose(out.rstd.scalars, ref.rstd, rtol: 2e-5, "LN rstd \(shape)")
                assertClose(out.y.scalars, ref.y, rtol: 2e-5, atol: 1e-6, "LN y \(shape)")
            } else {
                // One channel: variance 0, y = bias exactly.
                XCTAssertEqual(out.y.scalars, (0..<x.count).map { _ in b.scalars[0] })
            }
        }
    }

    func testFastVarianceIsClampedAtZero() {
        // Constant rows: E[x^2] - E[x]^2 may round below zero; it must clamp.
        let x = Tensor(repeating: 0.1, shape: [3, 17])
        let out = layerNormForward(x, scale: .ones([17]), bias: .zeros([17]), epsilon: 1e-6)
        for r in out.rstd.scalars { XCTAssertLessThanOrEqual(r, 1000.0001); XCTAssertFalse(r.isNaN) }
    }

    func testBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(31)
        for shape in [[2, 3, 17], [3, 32]] {
            let c = shape.last!
            let x = rng.tensor(shape), s = rng.tensor([c], 0.5, 1.5), b = rng.tensor([c])
            let out = layerNormForward(x, scale: s, bias: b, epsilon: 1e-6)
            let r = rng.tensor(shape)
            let g = layerNormBackward(r, x: x, scale: s, mean: out.mean, rstd: out.rstd)
            let xd = x.doubles, sd = s.doubles, bd = b.doubles
            let f = { (x: [Double], s: [Double], b: [Double]) -> Double in
                project(Ref.layerNorm(x, c: c, s, b, eps: 1e-6).y, r.scalars)
            }
            checkGradient(g.dx, at: xd, samples: 60, h: 1e-4, "LN dx \(shape)") { f($0, sd, bd) }
            checkGradient(g.dScale, at: sd, "LN dScale \(shape)") { f(xd, $0, bd) }
            checkGradient(g.dBias, at: bd, "LN dBias \(shape)") { f(xd, sd, $0) }
        }
    }
}

final class GELUTests: XCTestCase {
    /// XLA's Cephes erfc against Double erfc: relative error ~1e-6, also on
    /// the far tail where 1 - erf would cancel (float32 x*x in exp(-x^2)
    /// alone adds ~x^2 * 6e-8 relative).
    func testErfcMatchesHighPrecision() {
        var worst = 0.0
        var x: Float = -4
        while x <= 9 {
            var v = V16()
            for l in 0..<16 { v[l] = x + Float(l) * 0.0007 }
            let e = erfcV16(v)
            for l in 0..<16 {
                let want = Double.erfc(Double(v[l]))
                let allowed = 1e-6 + 1.2e-7 * Double(v[l] * v[l])
                worst = max(worst, abs(Double(e[l]) - want) / want / allowed)
            }
            x += 0.0125
        }
        XCTAssertLessThan(worst, 1)
        XCTAssertEqual(erfcV16(V16(repeating: 12))[0], 0)   // exp underflow clamp
        XCTAssertEqual(erfcV16(V16(repeating: -12))[0], 2)
    }

    func testExpMatchesHighPrecision() {
        var worst = 0.0
        var x: Float = -80
        while x <= 80 {
            var v = V16()
            for l in 0..<16 { v[l] = x + Float(l) * 0.003 }
            let e = expV16(v)
            for l in 0..<16 {
                let want = Foundation.exp(Double(v[l]))
                worst = max(worst, abs(Double(e[l]) - want) / want)
            }
            x += 0.05
        }
        XCTAssertLessThan(worst, 3e-7)
    }

    func testForwardMatchesHighPrecisionGELU() {
        // 1000 points on [-7, 7]: covers the erf clamp and a tail of 8 past 16-lane blocks.
        let xs = (0..<1000).map { -7 + 14 * Float($0) / 999 }
        let y = Reference.geluForward(Tensor(shape: [10, 100], scalars: xs))
        for (i, x) in xs.enumerated() {
            let want = Ref.gelu(Double(x))
            // Relative accuracy holds on the negative tail too (erfc, not 1 - erf,
            // which would lose everything there). Rounding x * sqrt(0.5) to
            // float32 alone moves erfc by ~x^2 * 6e-8 relative.
            let rel = 1e-6 + 1.5e-7 * Double(x * x)
            XCTAssertEqual(Double(y.scalars[i]), want, accuracy: 1e-30 + rel * abs(want), "gelu(\(x))")
        }
        XCTAssertEqual(Reference.geluForward(Tensor(shape: [1], scalars: [0])).scalars, [0])
    }

    func testBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(40)
        let x = rng.tensor([3, 37], -4, 4), r = rng.tensor([3, 37])
        let dx = Reference.geluBackward(r, x: x)
        checkGradient(dx, at: x.doubles, samples: 111, h: 1e-5, rtol: 1e-5, "gelu dx") { xs in
            project(xs.map(Ref.gelu), r.scalars)
        }
    }
}
