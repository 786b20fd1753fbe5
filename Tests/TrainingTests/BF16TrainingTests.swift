import Datasets
import JaxRandom
import Models
import Optimizers
import Tensors
import XCTest
@testable import Training

/// bf16 training (issue 16): the small model learns the synthetic data in
/// bf16 as well as in float32, with the same seed, data and schedule.
final class BF16TrainingTests: XCTestCase {
    /// A small session trained `steps` steps in `dtype`, and its validation metrics.
    func trained(_ dtype: ModelDType, steps: Int, seed: Int64 = 42) throws -> (state: WorkbenchState, eval: EvalMetrics) {
        var s = WorkbenchState()
        s.keys.seed(seed)
        var config = ConvNeXtConfig(depths: [1, 1, 1, 1], dims: [16, 32, 48, 64], classes: 4, imageSize: 32, dropPathRate: 0.1)
        config.dtype = dtype
        s.modelConfig = config
        s.params = try s.requireModel().initialize(paramsKey: try s.keys.key(KeyTree.params))
        var o = OptimizerConfig()
        o.peakLearningRate = 0.002
        o.initLearningRate = 1e-4
        o.warmupSteps = 20
        o.decaySteps = steps
        s.optimizer = o
        s.data = try DataSetup(source: .synthetic(classes: 4, size: 32, trainCount: 2000, valCount: 200),
                               augment: .light, batchSize: 32)
        for _ in 0..<steps { try TrainEngine.trainStep(&s) }
        return (s, try TrainEngine.evaluate(s, ema: false))
    }

    /// 1,200 steps of batch 32 (about 19 epochs of 4 classes), seeds 1-3:
    /// float32 reaches ~0.93 top-1 (chance 0.25) and bf16 must reach the same
    /// on average. One seed is not enough: this tiny model's final accuracy
    /// swings by up to 0.1 with a handful of flipped bf16 roundings (16 of
    /// 92,740 gradient elements changed with the GEMM's summation order, and
    /// seed 2 moved from 0.86 to 0.715 at 600 steps), in float32 and bf16
    /// alike (docs/bf16.md, "Training"). The learning rate is one at which it
    /// trains steadily in both dtypes.
    func testSmallModelTrainsInBF16ToTheFloat32Accuracy() throws {
        let steps = 1200
        var f32Top1: [Double] = [], bf16Top1: [Double] = []
        for seed: Int64 in [1, 2, 3] {
            let f32 = try trained(.f32, steps: steps, seed: seed)
            let bf16 = try trained(.bf16, steps: steps, seed: seed)
            print("bf16 training, seed \(seed): \(steps) steps, val top-1 f32 \(f32.eval.top1), bf16 \(bf16.eval.top1); loss f32 \(f32.state.history.last!.loss), bf16 \(bf16.state.history.last!.loss)")
            f32Top1.append(Double(f32.eval.top1))
            bf16Top1.append(Double(bf16.eval.top1))
            // The runs really differ (bf16 rounding), and γ stayed a bf16 value through every update.
            XCTAssertNotEqual(f32.state.history.last!.loss, bf16.state.history.last!.loss)
            let gamma = bf16.state.params!["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_04_01/LayerScale_0/scale"]!
            XCTAssertTrue(gamma.isBF16, "γ is held in bf16 after training")
            XCTAssertGreaterThan(gamma.scalars.map(abs).max()!, 1e-4, "γ grew from 1e-6")
        }
        let f32Mean = f32Top1.reduce(0, +) / 3, bf16Mean = bf16Top1.reduce(0, +) / 3
        XCTAssertGreaterThanOrEqual(f32Mean, 0.8, "the float32 runs must learn (chance is 0.25) for the comparison to mean anything")
        XCTAssertGreaterThanOrEqual(bf16Mean, f32Mean - 0.05, "bf16 mean top-1 \(bf16Top1) vs float32 \(f32Top1)")
    }

    /// A bf16 model's γ is a bf16 leaf of the declared optimizer: after a
    /// train step its parameters, Adam moments and EMA hold bf16 values
    /// (optax keeps them in bf16), the MultiSteps accumulator stays float32.
    func testTrainStepKeepsGammaStateInBF16() throws {
        for accumulate in [1, 2] {
            var s = try smallState(accumulate: accumulate, ema: 0.9999)
            s.modelConfig!.dtype = .bf16
            s.params = try s.requireModel().heldParameters(s.params!)
            let model = try s.requireModel()
            let gammas = Set(model.parameterSpecs().map(\.path).filter(model.isHeldInBF16))
            XCTAssertEqual(gammas.count, 5)
            XCTAssertEqual(try s.requireDeclaredOptimizer().bf16Leaves, gammas)
            for _ in 0..<(2 * accumulate) { try TrainEngine.trainStep(&s) }
            let moments = try XCTUnwrap(s.optimizerState?.adamMoments)
            XCTAssertEqual(Int(moments.count), 2)
            let average = try XCTUnwrap(s.emaState.flatMap(EMA.average))
            for path in gammas {
                XCTAssertTrue(s.params![path]!.isBF16, path)
                XCTAssertTrue(moments.mu[path]!.isBF16 && moments.nu[path]!.isBF16, path)
                XCTAssertTrue(average[path]!.isBF16, path)
                XCTAssertNotEqual(moments.nu[path]!.scalars.max(), 0, "γ's second moment moved")
            }
            // A float32 leaf's moments are float32 values, not bf16 ones.
            let kernel = "ConvNeXtBackbone_0/Stem_Conv/kernel"
            XCTAssertNotNil(moments.nu[kernel])
            XCTAssertFalse(moments.nu[kernel]!.isBF16)
        }
    }
}
