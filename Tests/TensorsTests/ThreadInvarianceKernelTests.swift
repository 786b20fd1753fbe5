import XCTest
@testable import Tensors

/// Every kernel with a parallel split gives the same bits on 1, 2, 3 and 4
/// threads (DESIGN.md principle 7): each is run on the small model's shapes
/// and on odd ones, and its outputs compared bit for bit with one thread's.
final class ThreadInvarianceKernelTests: XCTestCase {
    /// `run` on 1 thread, then on 2, 3 and 4: every output's bits must match.
    private func assertInvariant(_ what: String, file: StaticString = #filePath, line: UInt = #line,
                                 _ run: () -> [Tensor]) {
        let reference = ComputeContext(threads: 1).run { run().map { $0.scalars.map(\.bitPattern) } }
        for threads in [2, 3, 4] {
            let other = ComputeContext(threads: threads).run { run().map { $0.scalars.map(\.bitPattern) } }
            for (i, (a, b)) in zip(other, reference).enumerated() where a != b {
                let n = zip(a, b).filter { $0 != $1 }.count
                XCTFail("\(what): output \(i) differs in \(n) of \(b.count) elements on \(threads) threads", file: file, line: line)
            }
        }
    }

    func testDense() {
        var rng = TestRNG(1)
        // rows: the small model's stage 1 at batch 12 (768), an odd count, the head (12).
        for (rows, cin, cout) in [(768, 16, 64), (768, 64, 16), (333, 48, 192), (12, 64, 10), (4096, 96, 384), (5000, 384, 96)] {
            let x = rng.tensor([rows, cin]), w = rng.tensor([cin, cout]), b = rng.tensor([cout]), dy = rng.tensor([rows, cout])
            assertInvariant("dense \(rows)x\(cin)->\(cout)") {
                let y = denseForward(x, weight: w, bias: b)
                let (dx, dw, db) = denseBackward(dy, x: x, weight: w)
                return [y, dx, dw, db]
            }
        }
    }

    func testNormsAndBranches() {
        var rng = TestRNG(2)
        for (rows, c) in [(768, 16), (333, 48), (12, 64), (49 * 16, 768)] {
            let x = rng.tensor([rows, c]), s = rng.tensor([c]), b = rng.tensor([c]), dy = rng.tensor([rows, c])
            assertInvariant("layerNorm \(rows)x\(c)") {
                let (y, mean, rstd) = layerNormForward(x, scale: s, bias: b, epsilon: 1e-6)
                let (dx, ds, db) = layerNormBackward(dy, x: x, scale: s, mean: mean, rstd: rstd)
                return [y, dx, ds, db]
            }
            let keep = (0..<rows).map { $0 % 3 != 0 }
            assertInvariant("residual branch \(rows)x\(c)") {
                let (d, g) = residualBranchBackward(dy, branch: x, gamma: s, keep: keep, keepScale: 1.25)
                let (dx, dg) = Reference.layerScaleBackward(dy, x: x, gamma: s)
                return [d, g, dx, dg]
            }
        }
    }

    func testConvolutions() {
        var rng = TestRNG(3)
        for (n, hw, c) in [(12, 8, 16), (3, 5, 48), (2, 14, 32)] {
            let x = rng.tensor([n, hw, hw, c]), w = rng.tensor([7, 7, 1, c]), b = rng.tensor([c]), dy = rng.tensor([n, hw, hw, c])
            assertInvariant("depthwise \(n)x\(hw)x\(hw)x\(c)") {
                let y = depthwiseConvForward(x, weight: w, bias: b)
                let (dx, dw, db) = depthwiseConvBackward(dy, x: x, weight: w)
                return [y, dx, dw, db]
            }
        }
        for (n, hw, cin, cout, s) in [(12, 32, 3, 16, 4), (12, 8, 16, 32, 2), (3, 10, 32, 48, 2)] {
            let x = rng.tensor([n, hw, hw, cin]), w = rng.tensor([s, s, cin, cout]), b = rng.tensor([cout])
            let out = (hw + s - 1) / s
            let dy = rng.tensor([n, out, out, cout])
            assertInvariant("patch conv \(n)x\(hw)x\(hw)x\(cin) /\(s)") {
                let y = patchConvForward(x, weight: w, bias: b, stride: s)
                let (dx, dw, db) = patchConvBackward(dy, x: x, weight: w, stride: s)
                return [y, dx, dw, db]
            }
        }
    }
}
