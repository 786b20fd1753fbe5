import XCTest
import Tensors
import JaxRandom
@testable import Models

final class ForwardBehaviourTests: XCTestCase {
    func testTrainModeIsDeterministicAndEvalIgnoresRngs() throws {
        let m = try ConvNeXt(config: ConvNeXtConfig(depths: [1, 2], dims: [8, 16], classes: 4, imageSize: 16,
                                                     dropPathRate: 0.9, headDropout: 0.5))
        var p = m.initialize(paramsKey: PRNGKey(seed: 0))
        // LayerScale 0.5 so the branches visibly matter.
        p = p.map { path, t in path.hasSuffix("LayerScale_0/scale") ? Tensor(repeating: 0.5, shape: t.shape) : t }
        let x = Tensor(shape: [4, 16, 16, 3], scalars: Random.uniform(PRNGKey(seed: 1), count: 4 * 16 * 16 * 3))
        let a = ApplyRNGs(dropout: PRNGKey(seed: 2), stochasticDepth: PRNGKey(seed: 3))
        let b = ApplyRNGs(dropout: PRNGKey(seed: 4), stochasticDepth: PRNGKey(seed: 5))
        let t1 = m.forward(x, params: p, train: true, rngs: a)
        let t2 = m.forward(x, params: p, train: true, rngs: a)
        XCTAssertEqual(t1.logits, t2.logits, "same rngs, same result (nothing consumed)")
        XCTAssertEqual(t1.cache.blockRecords.map(\.kept), t2.cache.blockRecords.map(\.kept))
        let t3 = m.forward(x, params: p, train: true, rngs: b)
        XCTAssertNotEqual(t1.logits, t3.logits)
        XCTAssertEqual(m.forward(x, params: p, train: false, rngs: a).logits, m.forward(x, params: p, train: false, rngs: nil).logits)
        let e = m.forward(x, params: p, train: false, rngs: nil)
        XCTAssertNotEqual(e.logits, t1.logits)
        XCTAssertNil(e.cache.headDropoutKept)
        XCTAssertTrue(e.cache.blockRecords.allSatisfy { $0.kept == nil })
        // Block 0 has rate 0 (no StochasticDepth_0); the others draw masks.
        XCTAssertNil(t1.cache.blockRecords[0].kept)
        XCTAssertEqual(t1.cache.blockRecords[2].kept?.count, 4)
        XCTAssertEqual(t1.cache.blockRecords.map(\.block.dropPathRate), [0, 0.45, 0.9])
        let rec = t1.cache.blockRecords[1]
        XCTAssertEqual(rec.output.count, 4 * 2 * 2 * 16)
        XCTAssertEqual(rec.output.nonFinite, 0)
        XCTAssertLessThanOrEqual(rec.output.min, rec.output.max)
        XCTAssertEqual(t1.cache.blockOutput(0)?.shape, [4, 4, 4, 8])
        XCTAssertNil(t1.cache.blockOutput(2))
    }

    func testInputValidation() throws {
        let m = try ConvNeXt(config: ConvNeXtConfig(depths: [1], dims: [8], classes: 2))
        XCTAssertThrowsError(try m.validateInput(Tensor.zeros([2, 8, 8, 1]))) { XCTAssertTrue("\($0)".contains("[batch, height, width, 3]")) }
        XCTAssertThrowsError(try m.validateInput(Tensor(repeating: .infinity, shape: [1, 4, 4, 3]))) { XCTAssertTrue("\($0)".contains("non-finite")) }
        XCTAssertNoThrow(try m.validateInput(Tensor.zeros([1, 5, 7, 3])))
        // Non-square, odd sizes run.
        let p = m.initialize(paramsKey: PRNGKey(seed: 0))
        XCTAssertEqual(m.logits(Tensor.zeros([1, 5, 7, 3]), params: p).shape, [1, 2])
    }

    /// What `show droppath` and `show layerscale` read.
    func testBlocksAndLayerScales() throws {
        let m = try ConvNeXt(config: .variant("tiny", dropPathRate: 0.1))
        let blocks = m.blocks
        XCTAssertEqual(blocks.count, 18)
        XCTAssertEqual(blocks.map(\.stage), [0, 0, 0, 1, 1, 1] + Array(repeating: 2, count: 9) + [3, 3, 3])
        XCTAssertEqual(blocks[14].name, "BottleneckConvNeXtBlock_03_09")
        XCTAssertEqual(blocks[14].index, 8)
        XCTAssertEqual(blocks.last!.dropPathRate, 0.1)
        let small = try ConvNeXt(config: G.smallConfig())
        let p = small.initialize(paramsKey: PRNGKey(seed: 0))
        let ls = small.layerScales(p)
        XCTAssertEqual(ls.map(\.block.name), small.blocks.map(\.name))
        XCTAssertEqual(ls.map(\.gamma.shape), [[16], [32], [48], [48], [64]])
        XCTAssertTrue(ls.allSatisfy { $0.gamma.scalars.allSatisfy { $0 == Float(1e-6) } })
    }
}
