import XCTest
import Datasets
import JaxRandom
import Tensors

/// A data-parallel rank's rows of a batch are those rows of the batch one
/// process builds: same samples, same augmentation draws (all but Mixup/CutMix).
final class BatchRowsTests: XCTestCase {
    func testRowsAreTheRowsOfTheWholeBatch() throws {
        let data = try SyntheticDataset.splits(classes: 6, size: 20, trainCount: 48, valCount: 12, key: PRNGKey(seed: 2))
        var augment = AugmentConfig.convnext
        augment.mix.enabled = false
        let builder = BatchBuilder(data: data, imageSize: 16, augment: augment, dataKey: PRNGKey(seed: 9))
        // A cursor in the second epoch, mid-way, so the epoch order and positions matter.
        let cursor = DataCursor(epoch: 1, sample: 16)
        let whole = builder.batch(at: cursor, size: 8)
        let per = 16 * 16 * 3
        for rows in [0..<4, 4..<8, 2..<5] {
            let part = builder.batch(at: cursor, size: 8, rows: rows)
            XCTAssertEqual(part.x.shape, [rows.count, 16, 16, 3])
            XCTAssertEqual(part.indices, Array(whole.indices[rows]))
            XCTAssertEqual(part.targets, Array(whole.targets[rows]))
            XCTAssertEqual(part.x.scalars, Array(whole.x.scalars[(rows.lowerBound * per)..<(rows.upperBound * per)]))
            XCTAssertEqual(part.labels.scalars, Array(whole.labels.scalars[(rows.lowerBound * 6)..<(rows.upperBound * 6)]))
        }
    }
}
