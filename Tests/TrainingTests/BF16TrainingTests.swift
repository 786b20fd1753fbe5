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
    func trained(_ dtype: ModelDType, steps: Int) throws -> (state: WorkbenchState, eval: EvalMetrics) {
        var s = WorkbenchState()
        s.keys.seed(42)
        var config = ConvNeXtConfig(depths: [1, 1, 1, 1], dims: [8, 16, 24, 32], classes: 10, imageSize: 32, dropPathRate: 0.1)
        config.dtype = dtype
        s.modelConfig = config
        s.params = try s.requireModel().initialize(paramsKey: try s.keys.key(KeyTree.params))
        var o = OptimizerConfig()
        o.peakLearningRate = 0.01
        o.initLearningRate = 1e-4
        o.warmupSteps = 20
        o.decaySteps = steps
        s.optimizer = o
        var augment = AugmentConfig.light
        augment.crop.scaleMin = 0.9
        s.data = try DataSetup(source: .synthetic(classes: 10, size: 32, trainCount: 4000, valCount: 200),
                               augment: augment, batchSize: 16)
        for _ in 0..<steps { try TrainEngine.trainStep(&s) }
        return (s, try TrainEngine.evaluate(s, ema: false))
    }

    func testSmallModelTrainsInBF16ToTheFloat32Accuracy() throws {
        let steps = 400
        let f32 = try trained(.f32, steps: steps)
        let bf16 = try trained(.bf16, steps: steps)
        print("bf16 training: \(steps) steps, val top-1 f32 \(f32.eval.top1), bf16 \(bf16.eval.top1); loss f32 \(f32.state.history.last!.loss), bf16 \(bf16.state.history.last!.loss)")
        // Measured: f32 0.23, bf16 0.34 (deterministic: the same bits on any thread count).
        XCTAssertGreaterThanOrEqual(f32.eval.top1, 0.2, "the float32 run must learn (chance is 0.1) for the comparison to mean anything")
        XCTAssertGreaterThanOrEqual(bf16.eval.top1, f32.eval.top1 - 0.05, "bf16 top-1 \(bf16.eval.top1) vs float32 \(f32.eval.top1)")
        // The runs really differ (bf16 rounding), and γ stayed a bf16 value through every update.
        XCTAssertNotEqual(f32.state.history.last!.loss, bf16.state.history.last!.loss)
        let gamma = bf16.state.params!["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_04_01/LayerScale_0/scale"]!
        XCTAssertTrue(gamma.isBF16, "γ is held in bf16 after training")
        XCTAssertGreaterThan(gamma.scalars.map(abs).max()!, 1e-4, "γ grew from 1e-6")
    }
}
