import Datasets
import Models
import Optimizers
import Tensors
import XCTest
@testable import Training

/// Regression tests for issue 21 in the training engine: the data cursor,
/// counters at their limit, NaN/Inf rollback, label checks, evaluation.
final class ReliabilityTests: XCTestCase {
    /// `train steps 5; train steps 1 --batch 50` crashed: the cursor was a
    /// batch index. Now it is a sample offset: the larger batch takes the
    /// next 50 samples, and a batch that does not fit starts the next epoch.
    func testNewBatchSizeTakesTheNextSamples() throws {
        var s = try smallState(batch: 8)  // 80 training samples
        for _ in 0..<5 { try TrainEngine.trainStep(&s) }
        XCTAssertEqual(s.counters.cursor, DataCursor(epoch: 0, sample: 40))
        let order = s.data!.builder(imageSize: 32, dataKey: try s.dataKey()).order(epochKey: s.data!.builder(imageSize: 32, dataKey: try s.dataKey()).epochKey(0))
        try TrainEngine.forward(&s, batchSize: 30)
        XCTAssertEqual(s.pending?.batch.indices, Array(order[40..<70]), "the very next 30 samples: none skipped")
        try TrainEngine.trainStep(&s)
        XCTAssertEqual(s.counters.cursor, DataCursor(epoch: 0, sample: 70))
        try TrainEngine.trainStep(&s, batchSize: 10)  // exactly the 10 left
        XCTAssertEqual(s.counters.cursor, DataCursor(epoch: 0, sample: 80))
        XCTAssertEqual(s.history.last?.epoch, 0)
        try TrainEngine.trainStep(&s, batchSize: 50)  // none left: starts epoch 1
        XCTAssertEqual(s.counters.cursor, DataCursor(epoch: 1, sample: 50))
        XCTAssertEqual(s.history.last?.epoch, 1)
    }

    func testAnUnusableCursorIsRefusedNotIndexed() throws {
        var s = try smallState()
        s.counters.cursor = DataCursor(epoch: 0, sample: 1_000_000_000)
        XCTAssertThrowsError(try TrainEngine.trainStep(&s)) { XCTAssertTrue("\($0)".contains("data cursor"), "\($0)") }
        XCTAssertEqual(s.counters.miniSteps, 0)
    }

    /// Counters near `Int.max` used to wrap negative; now a step at the limit is refused.
    func testCountersAtTheirLimitRefuseAStep() throws {
        var s = try smallState()
        s.counters.miniSteps = TrainCounters.limit
        let before = s.params
        XCTAssertThrowsError(try TrainEngine.trainStep(&s)) { XCTAssertTrue("\($0)".contains("limit"), "\($0)") }
        XCTAssertEqual(s.params, before)
        XCTAssertEqual(s.counters.miniSteps, TrainCounters.limit)
    }

    /// `optim adamw --lr 3.4e38; train steps 1` reported "done" with -inf
    /// parameters. The update is now rolled back, naming the first bad tensor.
    func testAnUpdateThatOverflowsIsRolledBack() throws {
        var s = try smallState(ema: 0.99)
        for _ in 0..<2 { try TrainEngine.trainStep(&s) }
        let before = s
        s.optimizer!.peakLearningRate = 3.4e38
        s.optimizer!.initLearningRate = 3.4e38
        s.optimizer!.decaySteps = 0
        XCTAssertThrowsError(try TrainEngine.trainStep(&s)) { error in
            XCTAssertTrue("\(error)".contains("non-finite"), "\(error)")
            XCTAssertTrue("\(error)".contains("params/"), "names the tensor: \(error)")
        }
        XCTAssertEqual(s.params, before.params)
        XCTAssertEqual(s.optimizerState, before.optimizerState)
        XCTAssertEqual(s.emaState, before.emaState)
        XCTAssertEqual(s.counters, before.counters)
        XCTAssertNil(s.pending)
        XCTAssertNil(FiniteState.firstNonFinite(params: s.params, optimizerState: s.optimizerState, emaState: s.emaState))
    }

    func testFirstNonFiniteNamesOptimizerAndEMATensors() throws {
        var s = try smallState(ema: 0.99)
        try TrainEngine.trainStep(&s)
        XCTAssertNil(FiniteState.firstNonFinite(params: s.params, optimizerState: s.optimizerState, emaState: s.emaState))
        var leaves = Dictionary(uniqueKeysWithValues: s.emaState!.flattened())
        let name = leaves.keys.sorted().first { if case .tensor = leaves[$0]! { return true } else { return false } }!
        guard case .tensor(var t) = leaves[name]! else { return XCTFail() }
        t.scalars[0] = .nan
        leaves[name] = .tensor(t)
        let ema = try s.emaState!.restored(from: leaves)
        XCTAssertEqual(FiniteState.firstNonFinite(params: s.params, optimizerState: s.optimizerState, emaState: ema), "ema/\(name)")
    }

    /// `eval` reported top-1 1.0 with NaN logits: a non-finite logit is wrong.
    func testEvalCountsNonFiniteLogitsAsWrong() throws {
        var s = try smallState()
        let head = "Head/bias"
        var bias = s.params![head]!
        for i in bias.scalars.indices { bias.scalars[i] = .nan }
        s.params![head] = bias
        let m = try TrainEngine.evaluate(s, ema: false)
        XCTAssertEqual(m.top1, 0)
        XCTAssertEqual(m.top5, 0)
        XCTAssertTrue(m.loss.isNaN)
    }

    /// `train batch` trained on negative soft labels (loss -126); NaN labels were accepted.
    func testGivenLabelsMustBeDistributions() throws {
        var s = try smallState()
        let b = s.data!.builder(imageSize: 32, dataKey: try s.dataKey()).batch(.train, epoch: 0, index: 0, size: 4)
        for bad: Float in [-1, .nan, .infinity, 0.5] {
            var labels = b.labels
            labels.scalars[3] = bad
            XCTAssertThrowsError(try TrainEngine.trainStep(&s, batch: Batch(x: b.x, labels: labels, targets: [], indices: [], mix: .none))) {
                XCTAssertTrue("\($0)".contains("labels row 0"), "\($0)")
            }
        }
        XCTAssertEqual(s.counters.miniSteps, 0)
        XCTAssertNoThrow(try TrainEngine.trainStep(&s, batch: b))
    }
}
