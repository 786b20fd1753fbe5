import Foundation
import JaxRandom
import Tensors
import XCTest
@testable import Datasets

final class SyntheticTests: XCTestCase {
    func testClassBalanceAndNames() throws {
        let s = try SyntheticDataset.splits(classes: 7, size: 16, trainCount: 70, valCount: 21, key: PRNGKey(seed: 1))
        XCTAssertEqual(s.train.classCounts(), [Int](repeating: 10, count: 7))
        XCTAssertEqual(s.val.classCounts(), [Int](repeating: 3, count: 7))
        XCTAssertEqual(s.classNames, Array(SyntheticDataset.allClassNames.prefix(7)))
        XCTAssertEqual(Set(SyntheticDataset.allClassNames).count, 20)
        XCTAssertThrowsError(try SyntheticDataset.splits(classes: 21))
        XCTAssertThrowsError(try SyntheticDataset.splits(classes: 5, size: 4))
    }

    func testDeterministicFromKey() throws {
        let a = try SyntheticDataset.splits(classes: 20, size: 24, trainCount: 40, key: PRNGKey(seed: 3))
        let b = try SyntheticDataset.splits(classes: 20, size: 24, trainCount: 40, key: PRNGKey(seed: 3))
        let c = try SyntheticDataset.splits(classes: 20, size: 24, trainCount: 40, key: PRNGKey(seed: 4))
        for i in 0..<40 {
            let ia = try a.train.image(at: i)
            XCTAssertEqual(ia, try b.train.image(at: i))
            XCTAssertNotEqual(ia, try c.train.image(at: i))
            XCTAssertEqual(ia.width, 24)
        }
        XCTAssertNotEqual(try a.train.image(at: 0), try a.val.image(at: 0))
    }

    func testImagesHaveVisibleStructure() throws {
        // Every class draws a foreground: each image has a real spread of brightness.
        let s = try SyntheticDataset(classes: 20, size: 32, count: 200, key: PRNGKey(seed: 5))
        for i in 0..<200 {
            let img = try s.image(at: i)
            let luma = (0..<(32 * 32)).map { (Int(img.pixels[3 * $0]) + Int(img.pixels[3 * $0 + 1]) + Int(img.pixels[3 * $0 + 2])) / 3 }
            let sorted = luma.sorted()
            XCTAssertGreaterThan(sorted[1000] - sorted[23], 40, "\(s.classNames[s.label(at: i)]) #\(i) is flat")
        }
    }
}

final class LoaderTests: XCTestCase {
    func builder(_ augment: AugmentConfig = .convnext, count: Int = 48) throws -> BatchBuilder {
        let data = try SyntheticDataset.splits(classes: 6, size: 20, trainCount: count, valCount: 18, key: PRNGKey(seed: 2))
        return BatchBuilder(data: data, imageSize: 16, augment: augment, dataKey: PRNGKey(seed: 9))
    }

    func testBatchShapesAndLabels() throws {
        let b = try builder().batch(.train, epoch: 0, index: 1, size: 8)
        XCTAssertEqual(b.x.shape, [8, 16, 16, 3])
        XCTAssertEqual(b.labels.shape, [8, 6])
        XCTAssertEqual(b.targets.count, 8)
        for i in 0..<8 { XCTAssertEqual((0..<6).map { b.labels[i, $0] }.reduce(0, +), 1, accuracy: 1e-5) }
        XCTAssertTrue(b.x.scalars.allSatisfy { $0.isFinite })
        // Val: file order, eval transforms, plain one-hot, short last batch.
        let bb = try builder()
        let v = bb.batch(.val, epoch: 0, index: 2, size: 8)
        XCTAssertEqual(v.indices, [16, 17])
        XCTAssertEqual(v.x.shape, [2, 16, 16, 3])
        XCTAssertEqual(v.labels[0, bb.data.val.label(at: 16)], 1)
        XCTAssertEqual(bb.batchesPerEpoch(.val, batchSize: 8), 3)
        XCTAssertEqual(bb.batchesPerEpoch(.train, batchSize: 10), 4)
    }

    func testEpochIsAPermutation() throws {
        let bb = try builder(.light)
        var seen: [Int] = []
        for i in 0..<6 { seen += bb.batch(.train, epoch: 3, index: i, size: 8).indices }
        XCTAssertEqual(seen.sorted(), Array(0..<48))
        let other = (0..<6).flatMap { bb.batch(.train, epoch: 4, index: $0, size: 8).indices }
        XCTAssertNotEqual(seen, other)
        XCTAssertEqual(seen, Random.permutation(bb.epochKey(3).split(3)[0], n: 48))
    }

    func testDeterministicAcrossThreadCounts() throws {
        var cfg = AugmentConfig.convnext
        cfg.erasing.probability = 0.5
        let one = try ComputeContext(threads: 1).run { try builder(cfg).batch(.train, epoch: 2, index: 3, size: 12) }
        let four = try ComputeContext(threads: 4).run { try builder(cfg).batch(.train, epoch: 2, index: 3, size: 12) }
        XCTAssertEqual(one.x.scalars.map(\.bitPattern), four.x.scalars.map(\.bitPattern))
        XCTAssertEqual(one.labels, four.labels)
        XCTAssertEqual(one.indices, four.indices)
        // A different epoch gives different bytes.
        XCTAssertNotEqual(one.x, try builder(cfg).batch(.train, epoch: 1, index: 3, size: 12).x)
    }

    func testPerSampleResultIndependentOfBatchSize() throws {
        // Without batch mixing, a sample's pixels depend only on its epoch position.
        var cfg = AugmentConfig.convnext; cfg.mix.enabled = false
        let bb = try builder(cfg)
        let big = bb.batch(.train, epoch: 0, index: 0, size: 12)
        let small = bb.batch(.train, epoch: 0, index: 1, size: 6)
        let per = 16 * 16 * 3
        XCTAssertEqual(Array(big.x.scalars[(6 * per)...]), small.x.scalars)
    }

    func testLoaderPrefetchMatchesBuilderAndResumes() throws {
        let bb = try builder()
        let loader = try DataLoader(builder: bb, batchSize: 16, start: DataCursor(epoch: 0, sample: 16), prefetch: 2)
        var got: [(Batch, DataCursor)] = []
        for _ in 0..<4 { got.append(try XCTUnwrap(loader.next())) }
        XCTAssertEqual(got.map(\.1), [DataCursor(epoch: 0, sample: 16), DataCursor(epoch: 0, sample: 32),
                                      DataCursor(epoch: 1, sample: 0), DataCursor(epoch: 1, sample: 16)])
        XCTAssertEqual(loader.cursor, DataCursor(epoch: 1, sample: 32))
        for (b, c) in got { XCTAssertEqual(b, bb.batch(.train, epoch: c.epoch, index: c.sample / 16, size: 16)) }
        // Save the cursor, restore it in a new synchronous loader: same next batch.
        let saved = try JSONDecoder().decode(DataCursor.self, from: JSONEncoder().encode(loader.cursor))
        let expected = try XCTUnwrap(loader.next())
        loader.cancel()
        XCTAssertNil(loader.next())
        let resumed = try DataLoader(builder: bb, batchSize: 16, start: saved, prefetch: 0)
        let again = try XCTUnwrap(resumed.next())
        XCTAssertEqual(again.cursor, expected.cursor)
        XCTAssertEqual(again.batch, expected.batch)
        XCTAssertThrowsError(try DataLoader(builder: bb, batchSize: 49))
        XCTAssertThrowsError(try DataLoader(builder: bb, batchSize: 16, start: DataCursor(epoch: 0, sample: 49)))
        XCTAssertThrowsError(try DataLoader(builder: bb, batchSize: 16, start: DataCursor(epoch: -1, sample: 0)))
    }

    /// The cursor is a sample offset: a new batch size takes the very next
    /// samples (no index past the data, no skipped samples), and a batch that
    /// does not fit in the rest of the epoch starts the next one.
    func testCursorIsASampleOffsetAcrossBatchSizes() throws {
        let bb = try builder()
        let n = bb.data.train.count  // 48
        var c = DataCursor()
        c.advance(batchSize: 5, samples: n)
        c.advance(batchSize: 5, samples: n)
        XCTAssertEqual(c, DataCursor(epoch: 0, sample: 10))
        // Batch 40 from sample 10 would pass the end: it starts epoch 1.
        XCTAssertEqual(c.start(batchSize: 40, samples: n), DataCursor(epoch: 1, sample: 0))
        // Batch 7 continues at sample 10: the samples of positions 10..<17.
        let b7 = bb.batch(at: c, size: 7)
        let order = bb.order(epochKey: bb.epochKey(0))
        XCTAssertEqual(b7.indices, Array(order[10..<17]))
        XCTAssertEqual(c.advanced(batchSize: 7, samples: n), DataCursor(epoch: 0, sample: 17))
        // Aligned offsets give exactly the batch-index batches (old sessions resume bit for bit).
        XCTAssertEqual(bb.batch(at: DataCursor(epoch: 2, sample: 24), size: 8), bb.batch(.train, epoch: 2, index: 3, size: 8))
        // An old session's cursor {"epoch","batch"} decodes as a legacy batch index.
        let legacy = try JSONDecoder().decode(DataCursor.self, from: Data(#"{"epoch":1,"batch":3}"#.utf8))
        XCTAssertEqual(legacy.legacyBatch, 3)
        XCTAssertEqual(legacy.epoch, 1)
        XCTAssertNotNil(DataCursor(epoch: 0, sample: 49).problem(samples: n))
        XCTAssertNil(DataCursor(epoch: 0, sample: 48).problem(samples: n))
    }

    func testCancelStopsQuickly() throws {
        let loader = try DataLoader(builder: try builder(), batchSize: 8, prefetch: 3)
        _ = loader.next()
        let t0 = Date()
        loader.cancel()
        loader.cancel()
        XCTAssertLessThan(Date().timeIntervalSince(t0), 5)
    }

    func testDecodeFailureDuringBatchIsLoggedNotFatal() throws {
        struct Flaky: Dataset {
            let count = 8
            let classNames = ["a", "b"]
            var imageSize: (height: Int, width: Int)? { (8, 8) }
            func label(at i: Int) -> Int { i % 2 }
            func image(at i: Int) throws -> RGBImage {
                if i == 3 { throw DatasetError.decodeFailed(path: "f3", reason: "gone") }
                return RGBImage(width: 8, height: 8, fill: (UInt8(i * 20), 0, 0))
            }
            func source(at i: Int) -> String { "f\(i)" }
        }
        let bb = BatchBuilder(data: DataSplits(name: "flaky", train: Flaky(), val: Flaky()), imageSize: 8,
                              augment: .light, dataKey: PRNGKey(0, 1))
        let v = bb.batch(.val, epoch: 0, index: 0, size: 8)
        XCTAssertEqual(v.indices, [0, 1, 2, 4, 4, 5, 6, 7])
        XCTAssertEqual(bb.errors.failures, [DecodeFailure(path: "f3", reason: "data: cannot decode f3: gone")])
    }
}

final class SummaryTests: XCTestCase {
    func testSummaryAndPreview() throws {
        let data = try SyntheticDataset.splits(classes: 4, size: 24, trainCount: 40, valCount: 8, key: PRNGKey(seed: 1))
        let bb = BatchBuilder(data: data, imageSize: 20, augment: .convnext, dataKey: PRNGKey(seed: 2))
        let s = bb.summary()
        XCTAssertEqual(s.trainCount, 40); XCTAssertEqual(s.valCount, 8)
        XCTAssertEqual(s.trainClassCounts, [10, 10, 10, 10])
        XCTAssertEqual(s.imageSize, [24, 24])
        XCTAssertTrue(s.decodeErrors.isEmpty)
        let p = bb.previewImages(.train, count: 6, augment: true, key: PRNGKey(3, 4))
        XCTAssertEqual(p.images.count, 6)
        XCTAssertEqual(p.labels, ["circle", "square", "triangle", "ring", "circle", "square"])
        XCTAssertTrue(p.images.allSatisfy { $0.width == 20 && $0.height == 20 })
        XCTAssertEqual(p.images, bb.previewImages(.train, count: 6, augment: true, key: PRNGKey(3, 4)).images)
        let e = bb.previewImages(.val, count: 2, augment: false, key: PRNGKey(0, 0))
        XCTAssertEqual(e.images[0], CenterCrop.apply(try data.val.image(at: 0), size: 20, cropFraction: 0.875))
    }
}

final class CacheTests: XCTestCase {
    func testCachedDatasetMatchesBaseAndRespectsBudget() throws {
        let base = try SyntheticDataset(classes: 3, size: 16, count: 12, key: PRNGKey(seed: 8))
        let cached = CachedDataset(base, maxBytes: 5 * 16 * 16 * 3)
        var out = [RGBImage?](repeating: nil, count: 24)
        out.withUnsafeMutableBufferPointer { b in
            let p = UncheckedSendable(b)
            ComputeContext(threads: 4).run { parallelFor(24) { i in p.value[i] = try? cached.image(at: i % 12) } }
        }
        for i in 0..<24 { XCTAssertEqual(out[i], try base.image(at: i % 12)) }
        XCTAssertEqual(cached.count, 12); XCTAssertEqual(cached.label(at: 4), 1)
        // A wrapped ImageFolder still reports its skipped files.
        struct Skipping: Dataset {
            let count = 1; let classNames = ["a", "b"]
            var imageSize: (height: Int, width: Int)? { nil }
            func label(at i: Int) -> Int { 0 }
            func image(at i: Int) throws -> RGBImage { RGBImage(width: 2, height: 2) }
            var loadFailures: [DecodeFailure] { [DecodeFailure(path: "x.jpg", reason: "bad")] }
        }
        XCTAssertEqual(CachedDataset(Skipping(), maxBytes: 0).loadFailures.map(\.path), ["x.jpg"])
    }
}

final class BuilderLifetimeTests: XCTestCase {
    func testBuildersMadePerStepShareErrorsAndAgree() throws {
        struct Broken: Dataset {
            let count = 4; let classNames = ["a", "b"]
            var imageSize: (height: Int, width: Int)? { (4, 4) }
            func label(at i: Int) -> Int { i % 2 }
            func image(at i: Int) throws -> RGBImage {
                if i == 1 { throw DatasetError.decodeFailed(path: "one", reason: "bad") }
                return RGBImage(width: 4, height: 4, fill: (UInt8(i), 0, 0))
            }
        }
        let splits = DataSplits(name: "b", train: Broken(), val: Broken())
        let a = BatchBuilder(data: splits, imageSize: 4, augment: .light, dataKey: PRNGKey(1, 2))
        _ = a.batch(.val, epoch: 0, index: 0, size: 4)
        let b = BatchBuilder(data: splits, imageSize: 4, augment: .light, dataKey: PRNGKey(1, 2))
        XCTAssertEqual(b.errors.failures.count, 1)
        XCTAssertEqual(b.summary().decodeErrors.map(\.path), ["sample 1"])
        XCTAssertEqual(a.batch(.train, epoch: 5, index: 1, size: 2), b.batch(.train, epoch: 5, index: 1, size: 2))
    }
}
