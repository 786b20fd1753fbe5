import XCTest
@testable import Tensors

final class PatchConvTests: XCTestCase {
    func testSamePaddingGeometryIsFlaxs() {
        // out = ceil(in / s); pad_total = (out-1)*s + s - in; pad_lo = total / 2.
        XCTAssertEqual(samePatchGeometry(5, stride: 2).out, 3)
        XCTAssertEqual(samePatchGeometry(5, stride: 2).padLow, 0)   // pads one at the end
        XCTAssertEqual(samePatchGeometry(10, stride: 4).out, 3)
        XCTAssertEqual(samePatchGeometry(10, stride: 4).padLow, 1)  // total 2: one each side
        XCTAssertEqual(samePatchGeometry(9, stride: 4).padLow, 1)   // total 3: 1 before, 2 after
        XCTAssertEqual(samePatchGeometry(8, stride: 4).padLow, 0)
    }

    func testForwardMatchesDirectConvolutionIncludingAsymmetricPadding() {
        var rng = TestRNG(10)
        // (H, W, Cin, Cout, s): 5 -> 3 pads one row/col at the end; 9, 10 with s=4 pad both sides.
        for (h, w, cin, cout, s) in [(5, 5, 3, 4, 2), (7, 9, 17, 3, 2), (8, 8, 3, 17, 4), (9, 10, 1, 5, 4), (4, 6, 3, 2, 2)] {
            let x = rng.tensor([2, h, w, cin]), wt = rng.tensor([s, s, cin, cout]), b = rng.tensor([cout])
            let y = patchConvForward(x, weight: wt, bias: b, stride: s)
            let ref = Ref.conv(x.doubles, b: 2, h: h, w: w, cin: cin, wt.doubles, k: s, cout: cout, stride: s, b.doubles)
            XCTAssertEqual(y.shape, [2, ref.oh, ref.ow, cout])
            assertClose(y.scalars, ref.y, rtol: 1e-6, atol: 1e-6, "patch conv \(h)x\(w)x\(cin) s\(s)")
        }
    }

    func testBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(11)
        for (h, w, cin, cout, s) in [(5, 5, 3, 4, 2), (9, 10, 2, 3, 4)] {
            let x = rng.tensor([2, h, w, cin]), wt = rng.tensor([s, s, cin, cout]), b = rng.tensor([cout])
            let y = patchConvForward(x, weight: wt, bias: b, stride: s)
            let r = rng.tensor(y.shape)
            let g = patchConvBackward(r, x: x, weight: wt, stride: s)
            let xd = x.doubles, wd = wt.doubles, bd = b.doubles
            let conv = { (x: [Double], wt: [Double], b: [Double]) -> Double in
                project(Ref.conv(x, b: 2, h: h, w: w, cin: cin, wt, k: s, cout: cout, stride: s, b).y, r.scalars)
            }
            checkGradient(g.dx, at: xd, samples: 60, "patch dx \(h)x\(w)") { conv($0, wd, bd) }
            checkGradient(g.dWeight, at: wd, "patch dW \(h)x\(w)") { conv(xd, $0, bd) }
            checkGradient(g.dBias, at: bd, "patch db \(h)x\(w)") { conv(xd, wd, $0) }
            // Padded input positions do not exist; every real input gets a gradient.
            XCTAssertEqual(g.dx.shape, x.shape)
            let wOnly = patchConvWeightGradients(r, x: x, weight: wt, stride: s)
            XCTAssertEqual(wOnly.dWeight, g.dWeight)
            XCTAssertEqual(wOnly.dBias, g.dBias)
        }
    }
}

final class DepthwiseConvTests: XCTestCase {
    func testForwardMatchesReferenceOnOddShapes() {
        var rng = TestRNG(20)
        // W = 9 and 15: one or two 7-column tiles plus a tail; C = 1, 3, 17, 32, 48.
        for (h, w, c, k) in [(5, 9, 1, 7), (5, 9, 3, 7), (6, 15, 17, 7), (3, 7, 32, 7), (4, 11, 48, 7),
                             (5, 6, 17, 3), (4, 5, 3, 5), (2, 3, 16, 7), (1, 1, 5, 7)] {
            let x = rng.tensor([2, h, w, c]), wt = rng.tensor([k, k, 1, c]), b = rng.tensor([c])
            let y = depthwiseConvForward(x, weight: wt, bias: b)
            XCTAssertEqual(y.shape, x.shape)
            let ref = Ref.depthwise(x.doubles, b: 2, h: h, w: w, c: c, wt.doubles, k: k, b.doubles)
            assertClose(y.scalars, ref, rtol: 1e-6, atol: 1e-6, "depthwise \(h)x\(w)x\(c) k\(k)")
        }
    }

    func testBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(21)
        for (h, w, c, k) in [(5, 9, 3, 7), (4, 15, 17, 7), (3, 8, 32, 7), (5, 6, 1, 3)] {
            let x = rng.tensor([2, h, w, c]), wt = rng.tensor([k, k, 1, c]), b = rng.tensor([c])
            let r = rng.tensor(x.shape)
            let g = depthwiseConvBackward(r, x: x, weight: wt)
            XCTAssertEqual(g.dWeight.shape, wt.shape)
            XCTAssertEqual(g.dBias.shape, [c])
            let xd = x.doubles, wd = wt.doubles, bd = b.doubles
            let f = { (x: [Double], wt: [Double], b: [Double]) -> Double in
                project(Ref.depthwise(x, b: 2, h: h, w: w, c: c, wt, k: k, b), r.scalars)
            }
            checkGradient(g.dx, at: xd, samples: 50, "depthwise dx \(h)x\(w)x\(c)") { f($0, wd, bd) }
            checkGradient(g.dWeight, at: wd, samples: 50, "depthwise dW \(h)x\(w)x\(c)") { f(xd, $0, bd) }
            checkGradient(g.dBias, at: bd, "depthwise db \(h)x\(w)x\(c)") { f(xd, wd, $0) }
        }
    }

    /// Tasks depend on the shape only, so results are bit-identical for any
    /// thread count (also with batch 1, where images are split into bands).
    func testResultsDoNotDependOnThreadCount() {
        var rng = TestRNG(22)
        for shape in [[1, 13, 14, 32], [3, 9, 8, 17]] {
            let c = shape[3]
            let x = rng.tensor(shape), wt = rng.tensor([7, 7, 1, c]), b = rng.tensor([c]), r = rng.tensor(shape)
            let (y1, g1) = ComputeContext(threads: 1).run { (depthwiseConvForward(x, weight: wt, bias: b), depthwiseConvBackward(r, x: x, weight: wt)) }
            let (y2, g2) = ComputeContext(threads: 2).run { (depthwiseConvForward(x, weight: wt, bias: b), depthwiseConvBackward(r, x: x, weight: wt)) }
            XCTAssertEqual(y1, y2)
            XCTAssertEqual(g1.dx, g2.dx)
            XCTAssertEqual(g1.dWeight, g2.dWeight)
            XCTAssertEqual(g1.dBias, g2.dBias)
            let ref = Ref.depthwise(x.doubles, b: shape[0], h: shape[1], w: shape[2], c: c, wt.doubles, k: 7, b.doubles)
            assertClose(y1.scalars, ref, rtol: 1e-6, atol: 1e-6, "depthwise \(shape)")
        }
    }
}
