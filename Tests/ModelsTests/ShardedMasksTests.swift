import XCTest
import Tensors
import JaxRandom
@testable import Models

/// A forward over rows `offset ..< offset+size` of a larger batch (one
/// data-parallel rank) drops exactly those rows of the whole batch's masks,
/// and so computes those rows of the whole batch's logits.
final class ShardedMasksTests: XCTestCase {
    func testAShardTakesItsRowsOfTheWholeBatchMasks() throws {
        let m = try ConvNeXt(config: ConvNeXtConfig(depths: [1, 2], dims: [8, 16], classes: 4, imageSize: 16,
                                                     dropPathRate: 0.6, headDropout: 0.5))
        let p = m.initialize(paramsKey: PRNGKey(seed: 0))
        let global = 6, per = 16 * 16 * 3
        let x = Tensor(shape: [global, 16, 16, 3], scalars: Random.uniform(PRNGKey(seed: 1), count: global * per))
        let keys = ApplyRNGs(dropout: PRNGKey(seed: 2), stochasticDepth: PRNGKey(seed: 3))
        let whole = m.forward(x, params: p, train: true, rngs: keys)
        for (offset, size) in [(0, 3), (3, 3), (2, 2)] {
            let rows = Tensor(shape: [size, 16, 16, 3], scalars: Array(x.scalars[(offset * per)..<((offset + size) * per)]))
            var sharded = keys
            sharded.shard = BatchShard(offset: offset, size: size, global: global)
            let part = m.forward(rows, params: p, train: true, rngs: sharded)
            for (a, b) in zip(whole.cache.blockRecords, part.cache.blockRecords) {
                XCTAssertEqual(a.kept.map { Array($0[offset..<(offset + size)]) }, b.kept, a.block.name)
            }
            XCTAssertEqual(whole.cache.headDropoutKept.map { Array($0[(offset * 16)..<((offset + size) * 16)]) },
                           part.cache.headDropoutKept)
            // Same rows, same masks: the same logits, to summation order across the batch.
            let c = m.config.classes
            for (u, v) in zip(whole.logits.scalars[(offset * c)..<((offset + size) * c)], part.logits.scalars) {
                XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(u)))
            }
        }
        // Without the shard the masks would be drawn for 3 rows: not the same draw.
        let unsharded = m.forward(Tensor(shape: [3, 16, 16, 3], scalars: Array(x.scalars[(3 * per)..<(6 * per)])),
                                  params: p, train: true, rngs: keys)
        XCTAssertNotEqual(unsharded.cache.headDropoutKept, whole.cache.headDropoutKept.map { Array($0[48..<96]) })
    }
}
