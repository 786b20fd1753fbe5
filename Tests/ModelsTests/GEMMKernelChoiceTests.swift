import XCTest
import Tensors
import JaxRandom
@testable import Models

/// A Tiny-width model (96 channels at stage 1) run with the tiled GEMM
/// forced on and with OpenBLAS only: its Dense layers then take every path
/// of the tiled kernel (forward, transposed weight, transposed activations),
/// and logits and gradients must agree to float32 summation-order noise.
final class GEMMKernelChoiceTests: XCTestCase {
    func testTiledAndOpenBLASGiveTheSameModelWithinRounding() throws {
        let m = try ConvNeXt(config: ConvNeXtConfig(depths: [1, 1], dims: [96, 192], classes: 10, imageSize: 32,
                                                     dropPathRate: 0.2))
        var p = m.initialize(paramsKey: PRNGKey(seed: 3))
        p = p.map { path, t in path.hasSuffix("LayerScale_0/scale") ? Tensor(repeating: 0.5, shape: t.shape) : t }
        let x = Tensor(shape: [2, 32, 32, 3], scalars: Random.uniform(PRNGKey(seed: 4), count: 2 * 32 * 32 * 3))
        let labels = Tensor(shape: [2, 10], scalars: (0..<20).map { $0 == 3 || $0 == 17 ? 1 : 0 })
        let rngs = ApplyRNGs(dropout: PRNGKey(seed: 5), stochasticDepth: PRNGKey(seed: 6))
        let tiled = ComputeContext(gemmKernel: .tiled).run { m.valueAndGradient(x, labels: labels, params: p, train: true, rngs: rngs) }
        let blas = ComputeContext(gemmKernel: .openBLAS).run { m.valueAndGradient(x, labels: labels, params: p, train: true, rngs: rngs) }
        XCTAssertEqual(tiled.loss, blas.loss, accuracy: 1e-5)
        XCTAssertLessThan(maxAbsDiff(tiled.logits, blas.logits), 1e-5)
        XCTAssertNotEqual(tiled.logits, blas.logits, "the kernels differ, so some bits should (else the tiled path did not run)")
        for (path, g) in blas.grads {
            let scale = max(1e-3, g.scalars.map { abs($0) }.max() ?? 0)
            XCTAssertLessThan(maxAbsDiff(tiled.grads[path]!, g) / scale, 1e-4, path)
        }
    }

    func testAutomaticChoiceFollowsTheMeasuredShapes() {
        let rule = ConvNeXt.tiledGEMMPreferred
        // Stage 1-2 GEMMs into C channels, and the stage 1-2 weight gradients.
        XCTAssertTrue(rule(GEMMShape(transA: false, transB: false, m: 50176, n: 96, k: 384)))
        XCTAssertTrue(rule(GEMMShape(transA: false, transB: true, m: 12544, n: 192, k: 768)))
        XCTAssertTrue(rule(GEMMShape(transA: true, transB: false, m: 384, n: 96, k: 50176)))
        XCTAssertTrue(rule(GEMMShape(transA: true, transB: false, m: 96, n: 384, k: 50176)))
        // OpenBLAS: wide N, stage 3's weight gradients, small batches, widths that are not 96-multiples.
        XCTAssertFalse(rule(GEMMShape(transA: false, transB: false, m: 50176, n: 384, k: 96)))
        XCTAssertFalse(rule(GEMMShape(transA: true, transB: false, m: 384, n: 1536, k: 3136)))
        XCTAssertFalse(rule(GEMMShape(transA: false, transB: false, m: 128, n: 96, k: 384)))
        XCTAssertFalse(rule(GEMMShape(transA: false, transB: false, m: 50176, n: 40, k: 160)))
    }

    /// The model sets its rule only where the caller has none: a caller's
    /// rule (here: never tiled) wins, so `.automatic` then equals `.openBLAS`.
    func testTheCallersRuleWins() throws {
        let m = try ConvNeXt(config: ConvNeXtConfig(depths: [1], dims: [96], classes: 10, imageSize: 256))
        // γ = 0.5 so the block's GEMMs reach the logits (at 1e-6 they vanish in rounding).
        let p = m.initialize(paramsKey: PRNGKey(seed: 3)).map { path, t in
            path.hasSuffix("LayerScale_0/scale") ? Tensor(repeating: 0.5, shape: t.shape) : t
        }
        let x = Tensor(shape: [1, 256, 256, 3], scalars: Random.uniform(PRNGKey(seed: 4), count: 256 * 256 * 3))
        let never = ComputeContext(tiledGEMMRule: { _ in false }).run { m.logits(x, params: p) }
        let blas = ComputeContext(gemmKernel: .openBLAS).run { m.logits(x, params: p) }
        let auto = m.logits(x, params: p)
        XCTAssertEqual(never, blas)
        XCTAssertNotEqual(auto, blas, "4096 rows into 96 channels: the model's rule picks the tiled GEMM")
    }
}
