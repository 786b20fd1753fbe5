import XCTest
import Tensors
import JaxRandom
@testable import Models

final class MemoryTests: XCTestCase {
    /// The estimate equals what a real forward's cache holds.
    func testEstimateEqualsCache() throws {
        let m = try ConvNeXt(config: ConvNeXtConfig(depths: [1, 1, 2, 1], dims: [16, 32, 48, 64], classes: 10,
                                                     imageSize: 32, dropPathRate: 0.1, headDropout: 0.25))
        let p = m.initialize(paramsKey: PRNGKey(seed: 0))
        let x = Tensor(shape: [3, 32, 32, 3], scalars: Random.uniform(PRNGKey(seed: 1), count: 3 * 32 * 32 * 3))
        let rngs = ApplyRNGs(dropout: PRNGKey(seed: 2), stochasticDepth: PRNGKey(seed: 3))
        for train in [false, true] {
            let cache = m.forward(x, params: p, train: train, rngs: train ? rngs : nil).cache
            XCTAssertEqual(cache.byteCount, m.activationBytes(batch: 3, imageSize: 32, train: train), "train \(train)")
        }
    }

    /// ConvNeXt-Tiny, batch 16, 224x224: about 1.06 GB of cached activations.
    func testTinyBatch16Estimate() throws {
        let m = try ConvNeXt(config: .variant("tiny"))
        let bytes = m.activationBytes(batch: 16, imageSize: 224, train: true)
        XCTAssertGreaterThan(bytes, 1_000_000_000)
        XCTAssertLessThan(bytes, 1_100_000_000)
        let transient = m.backwardTransientBytes(batch: 16, imageSize: 224)
        XCTAssertEqual(transient, 16 * 56 * 56 * 96 * 20 * 4)
        print("ConvNeXt-Tiny activation cache, batch 16 at 224x224: \(bytes) bytes; backward transients up to \(transient) bytes")
    }
}
