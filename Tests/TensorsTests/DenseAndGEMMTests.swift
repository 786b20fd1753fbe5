import XCTest
@testable import Tensors

final class DenseAndGEMMTests: XCTestCase {
    /// All four transpose combinations of the sgemm wrapper, with alpha/beta
    /// and leading dimensions larger than the logical width: one call
    /// (5 x 7), slices of rows (1100 x 7) and slices of columns (5 x 1100).
    func testSgemmTransposeVariantsMatchNaive() {
        for (m, n) in [(5, 7), (1100, 7), (5, 1100)] { sgemmVariants(m: m, n: n) }
    }

    private func sgemmVariants(m: Int, n: Int) {
        var rng = TestRNG(1)
        let k = 3
        for transA in [false, true] {
            for transB in [false, true] {
                let lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3
                let aRows = transA ? k : m, bRows = transB ? n : k
                let a = (0..<(aRows * lda)).map { _ in rng.uniform() }
                let b = (0..<(bRows * ldb)).map { _ in rng.uniform() }
                var c = (0..<(m * ldc)).map { _ in rng.uniform() }
                let c0 = c
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5,
                                  a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                  beta: 2, c: pc.baseAddress!, ldc: ldc)
                        }
                    }
                }
                for i in 0..<m {
                    for j in 0..<n {
                        let s = referenceProduct(a, b, i: i, j: j, k: k, transA: transA, transB: transB, lda: lda, ldb: ldb)
                        let want = 0.5 * s + 2 * Double(c0[i * ldc + j])
                        XCTAssertEqual(Double(c[i * ldc + j]), want, accuracy: 1e-5,
                                       "m \(m) n \(n) transA \(transA) transB \(transB) at (\(i), \(j))")
                    }
                    // Padding columns of C are untouched.
                    for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j]) }
                }
            }
        }
    }

    func testDenseForwardMatchesReferenceOnOddShapes() {
        var rng = TestRNG(2)
        for (lead, k, n) in [([7], 17, 3), ([2, 3, 5], 3, 17), ([1], 1, 1), ([4, 9], 17, 1)] {
            let x = rng.tensor(lead + [k]), w = rng.tensor([k, n]), b = rng.tensor([n])
            let y = denseForward(x, weight: w, bias: b)
            XCTAssertEqual(y.shape, lead + [n])
            let m = lead.reduce(1, *)
            assertClose(y.scalars, Ref.dense(x.doubles, m: m, k: k, w.doubles, n: n, b.doubles),
                        rtol: 1e-6, atol: 1e-6, "dense \(lead) \(k)->\(n)")
            let y0 = denseForward(x, weight: w, bias: nil)
            assertClose(y0.scalars, Ref.dense(x.doubles, m: m, k: k, w.doubles, n: n, nil),
                        rtol: 1e-6, atol: 1e-6, "dense without bias")
        }
    }

    /// Dense at sizes where sgemm cuts C into slices of rows (1200 x 9) and
    /// of columns (6 x 1100): both agree with the naive product.
    func testDenseSlicedByRowsAndByColumns() {
        var rng = TestRNG(4)
        for (lead, k, n) in [([3, 400], 17, 9), ([2, 3], 17, 1100)] {
            let m = lead.reduce(1, *)
            let x = rng.tensor(lead + [k]), w = rng.tensor([k, n]), b = rng.tensor([n])
            let y = denseForward(x, weight: w, bias: b)
            assertClose(y.scalars, Ref.dense(x.doubles, m: m, k: k, w.doubles, n: n, b.doubles),
                        rtol: 1e-6, atol: 1e-6, "dense \(m)x\(k)->\(n)")
        }
    }

    func testDenseBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(3)
        let (lead, k, n) = ([2, 3], 17, 5)
        let m = 6
        let x = rng.tensor(lead + [k]), w = rng.tensor([k, n]), b = rng.tensor([n])
        let r = rng.tensor(lead + [n])
        let g = denseBackward(r, x: x, weight: w)
        XCTAssertEqual(g.dx.shape, x.shape)
        XCTAssertEqual(g.dWeight.shape, w.shape)
        XCTAssertEqual(g.dBias.shape, [n])
        let xd = x.doubles, wd = w.doubles, bd = b.doubles
        checkGradient(g.dx, at: xd, "dense dx") { project(Ref.dense($0, m: m, k: k, wd, n: n, bd), r.scalars) }
        checkGradient(g.dWeight, at: wd, "dense dW") { project(Ref.dense(xd, m: m, k: k, $0, n: n, bd), r.scalars) }
        checkGradient(g.dBias, at: bd, "dense db") { project(Ref.dense(xd, m: m, k: k, wd, n: n, $0), r.scalars) }
    }
}
