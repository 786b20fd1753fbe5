import Models
import Optimizers
import Tensors
import XCTest
@testable import Training

/// The optimizer declared once for the model: its decay flags decide every
/// parameter as the seed's rule does, and it follows the model and settings.
final class DeclaredOptimizerTests: XCTestCase {
    func testFlagsDecideEveryParameterAsTheRule() throws {
        let paths = try ConvNeXt(config: try ConvNeXtConfig.variant("tiny")).parameterSpecs().map(\.path)
        let declared = try DeclaredOptimizer(config: OptimizerConfig(), parameterPaths: paths)
        guard case .paths(let decayed) = declared.decayMask else { return XCTFail("expected flags, got \(declared.decayMask)") }
        for path in paths {
            XCTAssertEqual(decayed.contains(path), ParameterMask.seedDecay.contains(path), path)
        }
        XCTAssertTrue(decayed.count > 0 && decayed.count < paths.count, "some parameters decay, not all")
        XCTAssertEqual((declared.transformation as? AdamW)?.mask, declared.decayMask)
    }

    func testStateRedeclaresWhenModelOrSettingsChange() throws {
        var state = try smallState(accumulate: 1)
        let first = try XCTUnwrap(state.declaredOptimizer)
        XCTAssertEqual(first.config, state.optimizer)
        state.optimizer?.decayExclude = ["bias"]
        let second = try XCTUnwrap(state.declaredOptimizer)
        XCTAssertNotEqual(first.decayMask, second.decayMask, "LayerNorm scales decay once only bias is excluded")
        state.modelConfig = nil
        XCTAssertNil(state.declaredOptimizer)
        XCTAssertThrowsError(try state.requireDeclaredOptimizer())
    }

    func testDeclaredStepEqualsTheRulesChain() throws {
        // A step through the declared flags equals one through the rule's chain, bit for bit.
        var state = try smallState(accumulate: 1, ema: nil)
        let params = try XCTUnwrap(state.params)
        let grads = params.map { _, p in Tensor(shape: p.shape, scalars: p.scalars.map { $0 * 0.5 + 0.01 }) }
        let rule = try XCTUnwrap(state.optimizer).transformation()
        let (expected, _) = try rule.apply(grads, state: rule.initialize(params), params: params)
        _ = try TrainEngine.applyGradients(&state, grads, step: 0)
        XCTAssertEqual(state.params, expected)
    }
}
