import Datasets
import Models
import Optimizers
import TestSupport
import XCTest
@testable import Training

final class RecipeTests: XCTestCase {
    func testSeedRecipeOnImageNetGivesTheSeedSchedule() throws {
        let r = Recipe.seed
        XCTAssertEqual(try r.stepsPerEpoch(datasetSize: Recipe.imageNetTrainSize), 313)
        let (w, d) = try r.scheduleSteps(datasetSize: Recipe.imageNetTrainSize)
        XCTAssertEqual(w, 6260)
        XCTAssertEqual(d, 93900)
        let schedule = try r.optimizer(datasetSize: Recipe.imageNetTrainSize).schedule()
        let reference = try Schedule.warmupCosineDecay(initValue: 0, peakValue: 0.004, warmupSteps: 6260, decaySteps: 93900, endValue: 1e-6)
        XCTAssertEqual(schedule, reference)
        // And so the golden seed-schedule bits.
        let golden = (try Golden.json("optax.json") as! [String: Any])["seed_schedule"] as! [String: Any]
        for (step, bits) in zip(golden["steps"] as! [Int], golden["bits"] as! [String]) {
            XCTAssertEqual(schedule(step).bitPattern, UInt32(bits.dropFirst(2), radix: 16)!, "step \(step)")
        }
    }

    func testOptimizerIsMultiStepsAroundMaskedAdamW() throws {
        let config = try Recipe.seed.optimizer(datasetSize: 50_000)
        let ms = try XCTUnwrap(try config.transformation() as? MultiSteps)
        XCTAssertEqual(ms.everyK, 4)
        let inner = try XCTUnwrap(ms.inner as? AdamW)
        XCTAssertEqual(inner.mask, .seedDecay)
        XCTAssertEqual(inner.adam.contraction, .moment, "inside MultiSteps XLA contracts Adam's moments the other way")
        XCTAssertEqual(inner.schedule.landmarks.map(\.step), [20 * 13, 300 * 13])
        XCTAssertEqual(config.ema?.decay, 0.9999)
        XCTAssertEqual(config.ema?.kind, .v2)

        var r = Recipe.seed
        r.optimizer.accumulate = 1
        r.optimizer.clipNorm = 1
        let plain = try XCTUnwrap(try r.optimizer(datasetSize: 50_000).transformation() as? Chain)
        XCTAssertTrue(plain.transformations[0] is ClipByGlobalNorm)
    }

    /// The recipe holds the configurations it sets: what `recipe seed` applies
    /// is exactly what `recipe show` lists.
    func testRecipeBuildsTheConfigurationsItShows() throws {
        var r = Recipe.seed
        r.augment.labelSmoothing = 0.2
        r.augment.randAugment.magnitude = 7
        r.dropPathRate = 0.3
        let byName = Dictionary(uniqueKeysWithValues: try r.entries().map { ($0.name, $0.value) })
        XCTAssertEqual(byName["label_smoothing"], "0.2")
        XCTAssertEqual(byName["randaug"], "layers 2, magnitude 7, std 0.5")
        XCTAssertEqual(byName["drop_path"], "0.3")
        XCTAssertEqual(r.model(try .variant("atto")).dropPathRate, 0.3)
        XCTAssertEqual(Recipe.seed.augment, .convnext)
        XCTAssertEqual(try JSONDecoder().decode(Recipe.self, from: JSONEncoder().encode(r)), r)
    }

    func testScalingToASmallDatasetAndEntries() throws {
        var r = Recipe.seed
        r.batchSize = 32
        r.optimizer.accumulate = 2
        XCTAssertEqual(try r.stepsPerEpoch(datasetSize: 1000), 16)   // ceil(1000 / 64)
        XCTAssertEqual(try r.scheduleSteps(datasetSize: 1000).warmup, 320)
        XCTAssertEqual(try r.optimizer(datasetSize: 1000).decaySteps, 4800)
        XCTAssertThrowsError(try r.stepsPerEpoch(datasetSize: 0))
        let entries = try r.entries(datasetSize: 1000)
        XCTAssertTrue(entries.allSatisfy { !$0.source.isEmpty && !$0.value.isEmpty })
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.value) })
        XCTAssertEqual(byName["lr.peak"], "0.004")
        XCTAssertEqual(byName["weight_decay"], "0.05")
        XCTAssertEqual(byName["steps_per_epoch"], "16")
        XCTAssertEqual(byName["decay_steps"], "4800")
        XCTAssertEqual(byName["label_smoothing"], "0.1")
        XCTAssertEqual(byName["drop_path"], "0.1")
        XCTAssertEqual(byName["ema"], "ema_v2 0.9999")
    }
}
