import Dispatch
import XCTest
@testable import Tensors

/// The fused kernels (issue 11's speed work) give the same bits as the
/// separate kernels they replace, on odd shapes with channel tails.
final class FusedKernelTests: XCTestCase {
    private func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    /// `x + bias` per channel of the last axis, as the Dense bias add does it.
    private func addBias(_ x: Tensor, _ bias: Tensor) -> Tensor {
        let c = bias.count
        return Tensor(shape: x.shape, scalars: x.scalars.enumerated().map { $0.element + bias.scalars[$0.offset % c] })
    }

    /// Values from each erfc branch of GELU's argument z = -x sqrt(0.5):
    /// |z| < 1, 1 <= |z| < 2, |z| >= 2, and the flush-to-zero tail.
    private func branchValues() -> [[Float]] {
        var rng = TestRNG(91)
        let small = (0..<64).map { _ in rng.uniform(-1.4, 1.4) }
        let middle = (0..<64).map { _ in (rng.uniform(1.42, 2.8)) * (rng.int(2) == 0 ? 1 : -1) }
        let large = (0..<64).map { _ in (rng.uniform(2.9, 20)) * (rng.int(2) == 0 ? 1 : -1) }
        return [small, middle, large]
    }

    func testGELUSkippingUnselectedBranchesKeepsTheBits() {
        // Homogeneous 16-lane blocks take the shortcuts; interleaving the same
        // values with the other branches' makes every block evaluate every branch.
        let groups = branchValues()
        let homogeneous = groups.flatMap { $0 }
        var mixed: [Float] = []
        for i in 0..<64 { for g in groups { mixed.append(g[i]) } }
        var rng = TestRNG(92)
        let dyValues = (0..<mixed.count).map { _ in rng.uniform() }
        let h = Tensor(shape: [homogeneous.count], scalars: homogeneous)
        let m = Tensor(shape: [mixed.count], scalars: mixed)
        let dy = Tensor(shape: [mixed.count], scalars: dyValues)
        let yh = Reference.geluForward(h), ym = Reference.geluForward(m)
        let dh = Reference.geluBackward(dy, x: h), dm = Reference.geluBackward(dy, x: m)
        // Map each homogeneous position to its place in the mixed order.
        for (g, values) in groups.enumerated() {
            for i in values.indices {
                let hi = g * 64 + i, mi = i * groups.count + g
                XCTAssertEqual(yh.scalars[hi].bitPattern, ym.scalars[mi].bitPattern, "gelu(\(values[i]))")
                // dy differs by position, so compare each gradient with the formula on its own dy.
                let one = Reference.geluBackward(Tensor(shape: [1], scalars: [dyValues[hi]]), x: Tensor(shape: [1], scalars: [values[i]]))
                XCTAssertEqual(dh.scalars[hi].bitPattern, one.scalars[0].bitPattern, "gelu'(\(values[i])) homogeneous")
                let other = Reference.geluBackward(Tensor(shape: [1], scalars: [dyValues[mi]]), x: Tensor(shape: [1], scalars: [values[i]]))
                XCTAssertEqual(dm.scalars[mi].bitPattern, other.scalars[0].bitPattern, "gelu'(\(values[i])) mixed")
            }
        }
    }

    func testBiasGELUMatchesBiasThenGELU() {
        var rng = TestRNG(93)
        for shape in [[3, 5, 37], [2, 7, 48], [1, 1, 5]] {
            let x = rng.tensor(shape, -4, 4), bias = rng.tensor([shape[2]], -1, 1)
            let biased = addBias(x, bias)
            var fused = x
            let g = biasGELUForward(&fused, bias: bias)
            XCTAssertEqual(bits(fused), bits(biased), "pre-activation \(shape)")
            XCTAssertEqual(bits(g), bits(Reference.geluForward(biased)), "gelu \(shape)")
            var inPlace = x
            biasGELUInPlace(&inPlace, bias: bias)
            XCTAssertEqual(bits(inPlace), bits(Reference.geluForward(biased)), "in place \(shape)")
        }
    }

    func testGELUForwardAndBackwardMatchesTheSeparateKernels() {
        var rng = TestRNG(94)
        let x = rng.tensor([5, 41], -6, 6), dy = rng.tensor([5, 41])
        let (y, dx) = geluForwardAndBackward(dy, x: x)
        XCTAssertEqual(bits(y), bits(Reference.geluForward(x)))
        XCTAssertEqual(bits(dx), bits(Reference.geluBackward(dy, x: x)))
    }

    func testResidualBranchForwardMatchesTheSeparateKernels() {
        var rng = TestRNG(95)
        for (shape, keep) in [([3, 4, 5, 37], [true, false, true] as [Bool]?), ([2, 3, 3, 32], nil)] {
            let h = rng.tensor(shape), raw = rng.tensor(shape)
            let c = shape[3]
            let bias = rng.tensor([c]), gamma = rng.tensor([c], 0.5, 1.5)
            let scale: Float = 1 / 0.7
            let branch = addBias(raw, bias)
            var y = Reference.layerScaleForward(branch, gamma: gamma)
            if let keep { y = Reference.dropPathForward(y, keep: keep, scale: scale) }
            let want = add(h, y)

            var fusedBranch = raw
            let out = residualBranchForward(h, branch: &fusedBranch, bias: bias, gamma: gamma, keep: keep, keepScale: scale)
            XCTAssertEqual(bits(out), bits(want), "output \(shape)")
            XCTAssertEqual(bits(fusedBranch), bits(branch), "branch \(shape)")
            if keep == nil {
                var inPlace = h, scratch = raw
                residualBranchForwardInPlace(&inPlace, branch: &scratch, bias: bias, gamma: gamma)
                XCTAssertEqual(bits(inPlace), bits(want), "in place \(shape)")
            }
        }
    }

    func testResidualBranchBackwardMatchesTheSeparateKernels() {
        var rng = TestRNG(96)
        // 4 x 8 x 8 = 256 rows: more than one thread's partial dGamma.
        for (shape, keep) in [([4, 8, 8, 37], [false, true, true, false] as [Bool]?), ([4, 8, 8, 48], nil)] {
            let dy = rng.tensor(shape), branch = rng.tensor(shape)
            let gamma = rng.tensor([shape[3]], 0.5, 1.5)
            let scale: Float = 1 / 0.9
            var d = dy
            if let keep { d = Reference.dropPathBackward(d, keep: keep, scale: scale) }
            let want = Reference.layerScaleBackward(d, x: branch, gamma: gamma)
            let got = residualBranchBackward(dy, branch: branch, gamma: gamma, keep: keep, keepScale: scale)
            XCTAssertEqual(bits(got.dBranch), bits(want.dx), "dBranch \(shape)")
            XCTAssertEqual(bits(got.dGamma), bits(want.dGamma), "dGamma \(shape)")
        }
    }

    func testDepthwiseBackwardAddingToMatchesTheSeparateAdd() {
        var rng = TestRNG(98)
        // C = 37 and 48: channel tails; W = 9: a 7-column tile plus single columns.
        for shape in [[2, 6, 9, 37], [1, 5, 14, 48]] {
            let x = rng.tensor(shape), dy = rng.tensor(shape), residual = rng.tensor(shape)
            let w = rng.tensor([7, 7, 1, shape[3]])
            let plain = depthwiseConvBackward(dy, x: x, weight: w)
            let fused = depthwiseConvBackward(dy, x: x, weight: w, addingTo: residual)
            XCTAssertEqual(bits(fused.dx), bits(add(residual, plain.dx)), "dx \(shape)")
            XCTAssertEqual(bits(fused.dWeight), bits(plain.dWeight), "dW \(shape)")
            XCTAssertEqual(bits(fused.dBias), bits(plain.dBias), "db \(shape)")
        }
    }

    func testDenseBackwardHalvesMatchTheWhole() {
        var rng = TestRNG(97)
        let x = rng.tensor([2, 9, 13]), w = rng.tensor([13, 7]), dy = rng.tensor([2, 9, 7])
        let whole = denseBackward(dy, x: x, weight: w)
        XCTAssertEqual(bits(denseInputGradient(dy, weight: w, inputShape: x.shape)), bits(whole.dx))
        let (dW, db) = denseWeightGradient(dy, x: x, weight: w)
        XCTAssertEqual(bits(dW), bits(whole.dWeight))
        XCTAssertEqual(bits(db), bits(whole.dBias))
        XCTAssertEqual(denseInputGradient(dy, weight: w, inputShape: x.shape).shape, x.shape)
    }

    func testOpProfileAccumulatesOnlyInItsOwnContext() {
        let profiler = OpProfile()
        let x = Tensor(shape: [64, 1024], scalars: [Float](repeating: 0.5, count: 64 * 1024))
        _ = OpProfile.time("gelu") { Reference.geluForward(x) }   // no profiler bound: not counted anywhere
        ComputeContext(profiler: profiler).run {
            _ = OpProfile.time("gelu") { Reference.geluForward(x) }
        }
        XCTAssertGreaterThan(profiler.seconds()["gelu"] ?? 0, 0)
        XCTAssertNil(profiler.seconds()["gemm"])
        // Work timed on another thread under another context does not reach this profiler.
        let other = OpProfile()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            ComputeContext(profiler: other).run { _ = OpProfile.time("gemm") { Reference.geluForward(x) } }
            done.signal()
        }
        done.wait()
        XCTAssertNil(profiler.seconds()["gemm"])
        XCTAssertGreaterThan(other.seconds()["gemm"] ?? 0, 0)
        profiler.reset()
        XCTAssertEqual(profiler.seconds(), [:], "reset() zeroes the totals")
    }
}
