import Datasets
import JaxRandom
import Models
import Optimizers
import SafeTensors
import Tensors
import TestSupport
import XCTest
@testable import Training

/// A small session: the golden README's small ConvNeXt on a small synthetic set.
func smallState(dropPath: Double = 0.1, accumulate: Int = 1, ema: Double? = 0.99, batch: Int = 8) throws -> WorkbenchState {
    var s = WorkbenchState()
    s.keys.seed(42)
    s.modelConfig = ConvNeXtConfig(depths: [1, 1, 2, 1], dims: [16, 32, 48, 64], classes: 10, imageSize: 32, dropPathRate: dropPath)
    s.params = try s.requireModel().initialize(paramsKey: try s.keys.key(KeyTree.params))
    var o = OptimizerConfig()
    o.peakLearningRate = 0.004
    o.initLearningRate = 1e-4  // a zero first step would hide updates
    o.warmupSteps = 2
    o.decaySteps = 20
    o.accumulate = accumulate
    o.emaDecay = ema
    s.optimizer = o
    s.data = try DataSetup(source: .synthetic(classes: 10, size: 32, trainCount: 80, valCount: 20), augment: .convnext, batchSize: batch)
    return s
}

final class TrainEngineTests: XCTestCase {
    func assertSameTraining(_ a: WorkbenchState, _ b: WorkbenchState, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.params, b.params, "parameters differ", file: file, line: line)
        XCTAssertEqual(a.optimizerState, b.optimizerState, "optimizer state differs", file: file, line: line)
        XCTAssertEqual(a.emaState, b.emaState, "EMA differs", file: file, line: line)
        XCTAssertEqual(a.keys, b.keys, "keys differ", file: file, line: line)
        XCTAssertEqual(a.counters, b.counters, "counters differ", file: file, line: line)
        XCTAssertEqual(a.history.map(\.loss), b.history.map(\.loss), "losses differ", file: file, line: line)
    }

    func testSteppedStepEqualsWholeStep() throws {
        var stepped = try smallState()
        var whole = stepped
        for _ in 0..<2 {
            try TrainEngine.forward(&stepped)
            XCTAssertEqual(stepped.counters.miniSteps, whole.counters.miniSteps, "nothing moves before the update")
            try TrainEngine.loss(&stepped)
            try TrainEngine.backward(&stepped)
            try TrainEngine.update(&stepped)
            try TrainEngine.trainStep(&whole)
        }
        assertSameTraining(stepped, whole)
        XCTAssertEqual(whole.counters.miniSteps, 2)
        XCTAssertEqual(whole.keys.step, 2, "each step splits dropout and stochastic_depth")
    }

    func testAbortLeavesTheSessionAsItWas() throws {
        var s = try smallState()
        let before = s
        try TrainEngine.forward(&s)
        try TrainEngine.loss(&s)
        s.pending = nil  // step abort
        assertSameTraining(s, before)
        XCTAssertThrowsError(try TrainEngine.backward(&s)) { XCTAssertTrue("\($0)".contains("no step in progress")) }
    }

    func testStagesRefuseTheWrongOrder() throws {
        var s = try smallState()
        try TrainEngine.forward(&s)
        XCTAssertThrowsError(try TrainEngine.update(&s)) { XCTAssertTrue("\($0)".contains("the next stage is `step loss`"), "\($0)") }
        XCTAssertThrowsError(try TrainEngine.forward(&s)) { XCTAssertTrue("\($0)".contains("already at 'forward'"), "\($0)") }
    }

    func testMultiStepsAppliesEveryKthStep() throws {
        var s = try smallState(accumulate: 3)
        let initial = s.params
        try TrainEngine.trainStep(&s)
        try TrainEngine.trainStep(&s)
        XCTAssertEqual(s.params, initial, "MultiSteps only accumulates on the first k-1 mini-steps")
        XCTAssertEqual(s.counters.optimizerSteps, 0)
        XCTAssertNil(s.emaState, "the EMA follows applied updates only")
        try TrainEngine.trainStep(&s)
        XCTAssertNotEqual(s.params, initial)
        XCTAssertEqual(s.counters.optimizerSteps, 1)
        XCTAssertEqual(s.history.map(\.applied), [false, false, true])
        XCTAssertEqual(s.history.map(\.learningRate)[0...1], [0, 0])
    }

    func testNonFiniteLossStopsAndKeepsTheParameters() throws {
        var s = try smallState()
        try TrainEngine.trainStep(&s)
        // Poison one weight: the next forward gives a NaN loss.
        var poisoned = s
        poisoned.params!["Head/kernel"]!.scalars[0] = .nan
        let before = poisoned
        XCTAssertThrowsError(try TrainEngine.trainStep(&poisoned)) { error in
            XCTAssertTrue("\(error)".contains("step 2: the loss is nan"), "\(error)")
        }
        XCTAssertEqual(poisoned.params, before.params)
        XCTAssertEqual(poisoned.counters, before.counters)
        XCTAssertNil(poisoned.pending)
    }

    func testRefusesABatchThatDoesNotFitInMemory() throws {
        var s = try smallState()
        s.modelConfig = try ConvNeXtConfig.variant("tiny", classes: 10)
        s.params = try s.requireModel().initialize(paramsKey: PRNGKey(seed: 0))
        s.data = try DataSetup(source: .synthetic(classes: 10, size: 32, trainCount: 1_000_000, valCount: 10), augment: .light, batchSize: 100_000)
        XCTAssertThrowsError(try TrainEngine.forward(&s)) { error in
            XCTAssertTrue("\(error)".contains("a train step at batch 100000 needs about"), "\(error)")
        }
    }

    func testDataAndModelWithDifferentClassCountsAreRefused() throws {
        // 10 classes of data, a 4-class model: the labels would not fit the logits.
        var s = try smallState()
        s.modelConfig?.classes = 4
        s.params = try s.requireModel().initialize(paramsKey: PRNGKey(seed: 0))
        let before = s.params
        XCTAssertThrowsError(try TrainEngine.trainStep(&s)) { error in
            XCTAssertEqual("\(error)", "the data has 10 classes but the model has 4: rebuild it with `--classes 10` (`model build VARIANT --classes 10`), or load data with 4 classes")
        }
        XCTAssertThrowsError(try TrainEngine.evaluate(s, ema: false)) { XCTAssertTrue("\($0)".hasPrefix("the data has 10 classes")) }
        XCTAssertNil(s.pending)
        XCTAssertEqual(s.params, before, "nothing moved")
    }

    func testMissingPiecesAreNamed() throws {
        var s = WorkbenchState()
        XCTAssertThrowsError(try TrainEngine.trainStep(&s)) { XCTAssertTrue("\($0)".hasPrefix("no model yet")) }
        s = try smallState()
        s.optimizer = nil
        XCTAssertThrowsError(try TrainEngine.trainStep(&s)) { XCTAssertTrue("\($0)".hasPrefix("no optimizer yet")) }
        s = try smallState()
        s.data = nil
        XCTAssertThrowsError(try TrainEngine.trainStep(&s)) { XCTAssertTrue("\($0)".hasPrefix("no data yet")) }
    }

    /// One train step on the golden batch (drop path 0, so train = eval mode)
    /// with the golden's test schedule equals optax's first adamw step.
    func testOneStepOnTheGoldenBatchMatchesOptax() throws {
        let input = try SafeTensorsFile.read(try Golden.url("small_input.safetensors"))
        let expected = try SafeTensorsFile.read(try Golden.url("optax_adamw.safetensors"))
        var s = try smallState(dropPath: 0, ema: nil)
        var o = OptimizerConfig()
        o.initLearningRate = 1e-4
        o.peakLearningRate = 4e-3
        o.warmupSteps = 4
        o.decaySteps = 12
        o.endLearningRate = 1e-6
        o.weightDecay = 0.05
        s.optimizer = o
        let batch = Batch(x: try input.tensor("x"), labels: try input.tensor("labels"), targets: [], indices: [], mix: .none)
        let m = try TrainEngine.trainStep(&s, batch: batch)
        XCTAssertEqual(m.learningRate, 0.000100000296, "optax's lr at count 0 (golden README)")
        for (path, p) in s.params! {
            let want = try expected.tensor("params_step1/" + path)
            let scale = want.scalars.map(abs).max()!
            // Adam's first update is sign-like: a gradient near 0 can flip by ~lr (golden README).
            XCTAssertLessThanOrEqual(maxAbsDiff(p, want), 1e-6 * scale + 2.1e-4, path)
        }
    }
}
