import XCTest
import Tensors
import JaxRandom
@testable import Models

final class MemoryTests: XCTestCase {
    /// The estimate equals what a real forward's cache holds, in float32 and
    /// in bf16 (with gamma bf16, the seed's quirk, and float32).
    func testEstimateEqualsCache() throws {
        for (dtype, bf16Gamma) in [(ModelDType.f32, true), (.bf16, true), (.bf16, false)] {
            let m = try ConvNeXt(config: ConvNeXtConfig(depths: [1, 1, 2, 1], dims: [16, 32, 48, 64], classes: 10,
                                                         imageSize: 32, dropPathRate: 0.1, headDropout: 0.25,
                                                         dtype: dtype, bf16LayerScale: bf16Gamma))
            let p = m.initialize(paramsKey: PRNGKey(seed: 0))
            let x = Tensor(shape: [3, 32, 32, 3], scalars: Random.uniform(PRNGKey(seed: 1), count: 3 * 32 * 32 * 3))
            let rngs = ApplyRNGs(dropout: PRNGKey(seed: 2), stochasticDepth: PRNGKey(seed: 3))
            for train in [false, true] {
                let cache = m.forward(x, params: p, train: train, rngs: train ? rngs : nil).cache
                XCTAssertEqual(cache.byteCount, m.activationBytes(batch: 3, imageSize: 32, train: train),
                               "\(dtype) gamma bf16 \(bf16Gamma) train \(train)")
            }
        }
    }

    /// A bf16 model keeps its blocks' activations in 2 bytes: ConvNeXt-Tiny's
    /// cache at batch 16 is a little over half the float32 one (the blocks are
    /// ~92% of it; the stem, the stage norms and the input stay float32).
    func testBF16CacheIsAboutHalf() throws {
        let f32 = try ConvNeXt(config: .variant("tiny")).activationBytes(batch: 16, imageSize: 224, train: true)
        var config = try ConvNeXtConfig.variant("tiny")
        config.dtype = .bf16
        let bf16 = try ConvNeXt(config: config).activationBytes(batch: 16, imageSize: 224, train: true)
        let ratio = Double(bf16) / Double(f32)
        XCTAssertGreaterThan(ratio, 0.5)
        XCTAssertLessThan(ratio, 0.56)
        print("ConvNeXt-Tiny activation cache, batch 16 at 224x224: \(f32) bytes float32, \(bf16) bytes bf16 (\(ratio))")
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
