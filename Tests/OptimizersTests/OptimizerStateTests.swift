import Foundation
import XCTest
import Tensors
import SafeTensors
@testable import Optimizers

/// Optimizer state flattens to stable names and restores from them.
final class OptimizerStateTests: XCTestCase {
    private let params: TensorTree = {
        var t = TensorTree()
        t["Stem_Conv/kernel"] = Tensor(shape: [2, 2], scalars: [0.5, -1, 2, 0.25])
        t["Stem_Conv/bias"] = Tensor(shape: [2], scalars: [0.1, -0.2])
        t["LayerNorm_0/scale"] = Tensor(shape: [2], scalars: [1, 1])
        return t
    }()

    private func grads(_ k: Float) -> TensorTree { params.map { _, t in Tensor(shape: t.shape, scalars: t.scalars.map { $0 * k + 0.01 }) } }

    private func optimizer() throws -> MultiSteps {
        let s = try Schedule.warmupCosineDecay(initValue: 0.001, peakValue: 0.01, warmupSteps: 2, decaySteps: 10)
        return try MultiSteps(adamw(s, weightDecay: 0.05, mask: .seedDecay), everyK: 2)
    }

    func testNamesAreStable() throws {
        let state = try optimizer().initialize(params)
        let names = state.flattened().map(\.name)
        XCTAssertEqual(Array(names.prefix(3)), ["mini_step", "gradient_step", "acc/Stem_Conv/kernel"])
        XCTAssertTrue(names.contains("inner/adam/count"))
        XCTAssertTrue(names.contains("inner/adam/mu/Stem_Conv/kernel"))
        XCTAssertTrue(names.contains("inner/adam/nu/LayerNorm_0/scale"))
        XCTAssertTrue(names.contains("inner/schedule/count"))
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertEqual(names.count, 2 + 3 + 1 + 3 + 3 + 1)
        let ema = EMA(decay: 0.9999).initialize(params).flattened().map(\.name)
        XCTAssertEqual(ema, ["count", "ema/Stem_Conv/kernel", "ema/Stem_Conv/bias", "ema/LayerNorm_0/scale"])
        // Repeated kinds in one chain get an index.
        let twice = Chain([ScaleByAdam(), ScaleByAdam()]).initialize(params).flattened().map(\.name)
        XCTAssertTrue(twice.contains("adam_0/count") && twice.contains("adam_1/mu/Stem_Conv/bias"))
    }

    func testRestoreThroughSafeTensorsContinuesIdentically() throws {
        let tx = try optimizer()
        var p = params
        var state = tx.initialize(params)
        for k in 1...3 { (p, state) = try tx.apply(grads(Float(k)), state: state, params: p) }

        // Save: tensors as F32, counts as I32 scalars.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-opt-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensorsFile.write(values: state.flattened().map { name, leaf in
            switch leaf {
            case .count(let c): return (name, .int32(shape: [], values: [c]))
            case .tensor(let t): return (name, .float32(t))
            }
        }, to: url)
        let file = try SafeTensorsFile.read(url)
        var leaves: [String: OptimizerStateLeaf] = [:]
        for name in file.names {
            leaves[name] = file.entry(name)!.dtype == .i32 ? .count(try file.int32s(name).values[0]) : .tensor(try file.tensor(name))
        }
        let restored = try tx.initialize(params).restored(from: leaves)
        XCTAssertEqual(restored, state)
        // Accessors used by `show opt` / `show lr`.
        XCTAssertEqual(restored.accumulation?.miniStep, 1)
        XCTAssertEqual(restored.accumulation?.gradientStep, 1)
        XCTAssertEqual(restored.scheduleCount, 1)
        XCTAssertEqual(restored.adamMoments?.count, 1)
        XCTAssertEqual(restored.adamMoments?.mu.paths, params.paths)

        var (p1, s1) = (p, state)
        var (p2, s2) = (p, restored)
        for k in 4...6 {
            (p1, s1) = try tx.apply(grads(Float(k)), state: s1, params: p1)
            (p2, s2) = try tx.apply(grads(Float(k)), state: s2, params: p2)
        }
        XCTAssertEqual(p1, p2)
        XCTAssertEqual(s1, s2)
        XCTAssertNotEqual(p1, params)
    }

    func testRestoreRejectsMissingExtraAndMisShapedEntries() throws {
        let tx = try optimizer()
        let template = tx.initialize(params)
        var leaves = Dictionary(uniqueKeysWithValues: template.flattened().map { ($0.name, $0.leaf) })
        XCTAssertEqual(try template.restored(from: leaves), template)

        var missing = leaves
        missing["inner/adam/mu/Stem_Conv/bias"] = nil
        XCTAssertThrowsError(try template.restored(from: missing)) { XCTAssertTrue("\($0)".contains("missing 'inner/adam/mu/Stem_Conv/bias'"), "\($0)") }

        var extra = leaves
        extra["inner/adam/mu/Head/kernel"] = .tensor(.zeros([1]))
        XCTAssertThrowsError(try template.restored(from: extra)) { XCTAssertTrue("\($0)".contains("Head/kernel"), "\($0)") }

        leaves["acc/Stem_Conv/kernel"] = .tensor(.zeros([4]))
        XCTAssertThrowsError(try template.restored(from: leaves)) { XCTAssertTrue("\($0)".contains("shape [4], expected [2, 2]"), "\($0)") }

        leaves["acc/Stem_Conv/kernel"] = .count(3)
        XCTAssertThrowsError(try template.restored(from: leaves))
    }

    func testConfigurationIsCodable() throws {
        let s = try Schedule.warmupExponentialDecay(initValue: 0, peakValue: 0.004, warmupSteps: 10, transitionSteps: 50,
                                                    decayRate: 0.5, endValue: 1e-4)
        XCTAssertEqual(try JSONDecoder().decode(Schedule.self, from: JSONEncoder().encode(s)), s)
        let m = ParameterMask.excluding(["bias", "LayerNorm"])
        XCTAssertEqual(try JSONDecoder().decode(ParameterMask.self, from: JSONEncoder().encode(m)), m)
    }

    func testMismatchedTreesAreOneLineErrors() throws {
        let tx = try optimizer()
        var bad = grads(1)
        bad["Stem_Conv/bias"] = nil
        bad["Head/bias"] = .zeros([2])
        XCTAssertThrowsError(try tx.apply(bad, state: tx.initialize(params), params: params)) {
            XCTAssertFalse("\($0)".contains("\n"))
            XCTAssertTrue("\($0)".contains("Head/bias") || "\($0)".contains("Stem_Conv/bias"), "\($0)")
        }
        // A state of the wrong kind is refused, not trapped on.
        XCTAssertThrowsError(try ScaleByAdam().update(grads(1), state: .count(0), params: params))
        XCTAssertThrowsError(try MultiSteps(ScaleByAdam(), everyK: 0))
    }

    func testMultiStepsEmitsZerosUntilTheKthCall() throws {
        let tx = try optimizer()
        var state = tx.initialize(params)
        XCTAssertFalse(tx.emitsNext(state))
        let (u1, s1) = try tx.update(grads(1), state: state, params: params)
        XCTAssertTrue(u1.allSatisfy { $0.value.scalars.allSatisfy { $0 == 0 } })
        XCTAssertTrue(tx.emitsNext(s1))
        state = s1
        let (u2, s2) = try tx.update(grads(3), state: state, params: params)
        XCTAssertTrue(u2.allSatisfy { $0.value.scalars.allSatisfy { $0 != 0 } })
        guard case let .multiSteps(mini, step, acc, _) = s2 else { return XCTFail() }
        XCTAssertEqual(mini, 0)
        XCTAssertEqual(step, 1)
        XCTAssertTrue(acc.allSatisfy { $0.value.scalars.allSatisfy { $0 == 0 } })
        // The inner adam saw the mean of the two gradients: its mu is 0.1 * mean.
        guard case let .multiSteps(_, _, _, .chain(inner)) = s2, case let .adam(count, mu, _) = inner[0] else { return XCTFail() }
        XCTAssertEqual(count, 1)
        let mean = grads(2)["Stem_Conv/kernel"]!.scalars
        for (m, g) in zip(mu["Stem_Conv/kernel"]!.scalars, mean) { XCTAssertEqual(m, 0.1 * g, accuracy: 1e-7) }
    }
}
