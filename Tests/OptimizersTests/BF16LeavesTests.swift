import Tensors
import XCTest
@testable import Optimizers

/// The bf16 arithmetic on leaves held in bfloat16 (`BF16Leaves.swift`):
/// its constants and consequences, and that float32 leaves keep their bits.
final class BF16LeavesTests: XCTestCase {
    /// 64 bf16 gradients of varied size and sign.
    let g: [Float] = (0..<64).map { roundToBF16(Float(sin(Double($0) * 1.7) * pow(2, Double($0 % 7) - 3))) }

    func tree(_ values: [Float]) -> TensorTree {
        TensorTree(["gamma": Tensor(shape: [values.count], scalars: values)])
    }

    func testOptaxHyperparametersBecomeBF16Constants() {
        XCTAssertEqual(roundToBF16(Float(0.9)), 0.8984375)
        XCTAssertEqual(roundToBF16(Float(1 - 0.9)), 0.100097656)
        XCTAssertEqual(roundToBF16(Float(0.999)), 1, "b2 = 0.999 is 1 in bf16: the second moment does not decay")
        XCTAssertEqual(roundToBF16(Float(1 - 0.999)), 0.000999450684)
        XCTAssertEqual(roundToBF16(Float(1e-8)), 1.00117177e-08)
    }

    func testFirstStepMomentsUseTheBF16Constants() throws {
        let adam = ScaleByAdam(bf16Leaves: ["gamma"])
        let (_, state) = try adam.update(tree(g), state: adam.initialize(tree(g)), params: tree(g))
        guard case let .adam(_, mu, nu) = state else { return XCTFail("no Adam state") }
        let nuWant = g.map { roundToBF16(roundToBF16($0 * $0) * 0.000999450684) }
        XCTAssertEqual(nu["gamma"]!.scalars, nuWant)
        XCTAssertEqual(mu["gamma"]!.scalars, g.map { roundToBF16($0 * 0.100097656) })
        // With float32 0.001 the second moment would round differently somewhere.
        XCTAssertNotEqual(nuWant, g.map { roundToBF16(roundToBF16($0 * $0) * Float(0.001)) })
        XCTAssertTrue(nu["gamma"]!.isBF16 && mu["gamma"]!.isBF16)
    }

    func testSecondMomentAccumulatesWithoutDecay() throws {
        let adam = ScaleByAdam(bf16Leaves: ["gamma"])
        var state = adam.initialize(tree(g))
        var want = [Float](repeating: 0, count: g.count)
        for step in 1...3 {
            let grads = g.map { roundToBF16($0 * Float(step)) }
            (_, state) = try adam.update(tree(grads), state: state, params: tree(g))
            // nu = r(r(r(g²) * bf16(0.001)) + nu * 1): a running sum, not an average.
            want = zip(want, grads).map { roundToBF16(roundToBF16(roundToBF16($1 * $1) * 0.000999450684) + $0) }
        }
        XCTAssertEqual(state.adamMoments?.nu["gamma"]?.scalars, want)
    }

    /// The fused AdamW step on a bf16 leaf is the chain's bf16 ops; a float32
    /// leaf beside it keeps exactly the bits it has without any bf16 leaf.
    func testFusedStepEqualsTheChainAndFloat32LeavesKeepTheirBits() throws {
        let w = (0..<37).map { Float(sin(Double($0))) * 0.1 }
        let params = TensorTree(["blk/LayerScale_0/scale": Tensor(shape: [g.count], scalars: g.map { roundToBF16($0 * 0.01) }),
                                 "blk/Conv_2/kernel": Tensor(shape: [37], scalars: w)])
        let grads = TensorTree(["blk/LayerScale_0/scale": Tensor(shape: [g.count], scalars: g),
                                "blk/Conv_2/kernel": Tensor(shape: [37], scalars: w.map { $0 * 0.3 + 0.01 })])
        let schedule = Schedule.constant(0.004)
        let mixed = adamw(schedule, weightDecay: 0.05, mask: .seedDecay, bf16Leaves: ["blk/LayerScale_0/scale"])
        let plain = adamw(schedule, weightDecay: 0.05, mask: .seedDecay)
        var (pm, sm) = (params, mixed.initialize(params))
        var (pc, sc) = (params, mixed.chain.initialize(params))
        var (pp, sp) = (params, plain.initialize(params))
        for _ in 0..<3 {
            (pm, sm) = try mixed.apply(grads, state: sm, params: pm)
            (pc, sc) = try mixed.chain.apply(grads, state: sc, params: pc)
            (pp, sp) = try plain.apply(grads, state: sp, params: pp)
        }
        XCTAssertEqual(pm, pc)
        XCTAssertEqual(sm, sc)
        XCTAssertTrue(pm["blk/LayerScale_0/scale"]!.isBF16)
        XCTAssertEqual(pm["blk/Conv_2/kernel"], pp["blk/Conv_2/kernel"])
        XCTAssertEqual(sm.adamMoments?.nu["blk/Conv_2/kernel"], sp.adamMoments?.nu["blk/Conv_2/kernel"])
        XCTAssertNotEqual(pm["blk/LayerScale_0/scale"], pp["blk/LayerScale_0/scale"])
    }

    /// ema_v2's d becomes a bf16 constant: past d > 0.998046875 it is 1, and
    /// γ's average stops decaying towards the parameters.
    func testEMAOfABF16LeafStopsDecayingOnceDRoundsToOne() throws {
        let ema = EMA(decay: 0.9999, kind: .v2, bf16Leaves: ["gamma"])
        let average: [Float] = [0.5, -0.25, 0.125, 1]
        XCTAssertEqual(roundToBF16(ema.decayUsed(count: 5000)), 1)
        let state = OptimizerState.ema(count: 5000, ema: tree(average))
        let next = try ema.advance(with: tree([0, 0, 0, 0]), state: state)
        XCTAssertEqual(EMA.average(next)?["gamma"]?.scalars, average, "a zero parameter no longer pulls the average down")
        let f32 = try EMA(decay: 0.9999, kind: .v2).advance(with: tree([0, 0, 0, 0]), state: state)
        XCTAssertNotEqual(EMA.average(f32)?["gamma"]?.scalars, average)
        // Early on d = 0.1 rounds to bf16(0.1) and 1 - d to bf16(0.9).
        let first = try ema.advance(with: tree(g), state: ema.initialize(tree(g)))
        XCTAssertEqual(EMA.average(first)?["gamma"]?.scalars, g.map { roundToBF16(0.8984375 * $0) })
    }

    /// A float32 optimizer state saved before cnx held γ's state in bf16
    /// still loads and steps: the bf16 leaf's values are rounded on the way in.
    func testFloat32StateOfABF16LeafIsRoundedOnTheNextStep() throws {
        let adam = ScaleByAdam(bf16Leaves: ["gamma"])
        let old = OptimizerState.adam(count: 1, mu: tree(g.map { $0 * 0.1 + 1e-5 }), nu: tree(g.map { $0 * $0 * 0.001 + 1e-9 }))
        let (_, next) = try adam.update(tree(g), state: old, params: tree(g))
        XCTAssertTrue(next.adamMoments!.mu["gamma"]!.isBF16 && next.adamMoments!.nu["gamma"]!.isBF16)
    }
}
