import Foundation
import XCTest
import Tensors
import SafeTensors
import TestSupport
@testable import Optimizers

/// The optimizer against `golden/optax.json` and `optax_adamw.safetensors`
/// (optax 0.2.8 under jax.jit on XLA:CPU).
final class OptaxGoldenTests: XCTestCase {
    private var optax: [String: Any]!
    private var params: TensorTree!
    private var grads: TensorTree!

    override func setUpWithError() throws {
        optax = try Golden.json("optax.json") as? [String: Any]
        params = try SafeTensorsFile.read(try Golden.url("small_init_params.safetensors")).tree()
        grads = try SafeTensorsFile.read(try Golden.url("small_eval.safetensors")).tree(prefix: "grads/")
    }

    /// The test schedule and adamw the golden data used.
    private func goldenAdamW() throws -> AdamW {
        let s = (optax["adamw"] as! [String: Any])["test_schedule"] as! [String: Any]
        let schedule = try Schedule.warmupCosineDecay(
            initValue: (s["init_value"] as! NSNumber).doubleValue, peakValue: (s["peak_value"] as! NSNumber).doubleValue,
            warmupSteps: s["warmup_steps"] as! Int, decaySteps: s["decay_steps"] as! Int,
            endValue: (s["end_value"] as! NSNumber).doubleValue)
        return adamw(schedule, b1: 0.9, b2: 0.999, eps: 1e-8, weightDecay: 0.05, mask: .seedDecay)
    }

    /// Number of elements whose bits differ, over all leaves; and the largest abs difference.
    private func compare(_ ours: TensorTree, _ file: SafeTensorsFile, prefix: String) throws -> (mismatches: Int, maxAbs: Float) {
        var mismatches = 0
        var maxAbs: Float = 0
        XCTAssertEqual(ours.count, file.names.filter { $0.hasPrefix(prefix) }.count)
        for (path, t) in ours {
            let ref = try file.tensor(prefix + path)
            XCTAssertEqual(ref.shape, t.shape, path)
            for (a, b) in zip(t.scalars, ref.scalars) where a.bitPattern != b.bitPattern {
                mismatches += 1
                maxAbs = max(maxAbs, abs(a - b))
            }
        }
        return (mismatches, maxAbs)
    }

    func testSeedScheduleBits() throws {
        let s = optax["seed_schedule"] as! [String: Any]
        let schedule = try Schedule.warmupCosineDecay(initValue: 0, peakValue: 0.004, warmupSteps: s["warmup_steps"] as! Int,
                                                      decaySteps: s["decay_steps"] as! Int, endValue: 1e-6)
        let steps = s["steps"] as! [Int]
        let bits = (s["bits"] as! [String]).map(bitsFromHex)
        for (step, b) in zip(steps, bits) {
            XCTAssertEqual(schedule(step).bitPattern, b, "step \(step): \(schedule(step)) vs \(Float(bitPattern: b))")
        }
    }

    func testTestScheduleLearningRateBits() throws {
        let lr = (optax["adamw"] as! [String: Any])["lr_used_per_step"] as! [String: Any]
        let schedule = try goldenAdamW().schedule
        for (count, b) in zip(lr["count"] as! [Int], (lr["bits"] as! [String]).map(bitsFromHex)) {
            XCTAssertEqual(schedule(count).bitPattern, b, "count \(count)")
        }
    }

    func testBiasCorrectionBits() throws {
        for rec in (optax["adamw"] as! [String: Any])["bias_corrections"] as! [[String: Any]] {
            let t = Int32(rec["t"] as! Int)
            let c1 = bitsFromHex((rec["one_minus_b1_pow_t"] as! [String: Any])["bits"] as! String)
            let c2 = bitsFromHex((rec["one_minus_b2_pow_t"] as! [String: Any])["bits"] as! String)
            XCTAssertEqual(ScaleByAdam.biasCorrection(0.9, t).bitPattern, c1, "t \(t)")
            XCTAssertEqual(ScaleByAdam.biasCorrection(0.999, t).bitPattern, c2, "t \(t)")
        }
    }

    func testDecayMaskMatchesSeedRule() throws {
        let mask = optax["decay_mask"] as! [String: Bool]
        XCTAssertEqual(mask.count, params.count)
        for (path, expected) in mask {
            XCTAssertEqual(ParameterMask.seedDecay.contains(path), expected, path)
        }
        XCTAssertTrue(mask.values.contains(true) && mask.values.contains(false))
        // The exclusion list is configurable: with only "bias" excluded, LayerNorm scales decay too.
        XCTAssertTrue(ParameterMask.excluding(["bias"]).contains("ConvNeXtBackbone_0/LayerNorm_0/scale"))
        XCTAssertFalse(ParameterMask.excluding(["bias"]).contains("Head/bias"))
        XCTAssertTrue(ParameterMask.excluding([]).contains("Head/bias"))
    }

    /// The one decay rule (the optimizer's mask) on all 182 ConvNeXt-Tiny paths
    /// gives tiny_model.json's weight-decay flags.
    func testDecayMaskMatchesTinysGoldenFlags() throws {
        let table = (try Golden.json("tiny_model.json") as! [String: Any])["params"] as! [[String: Any]]
        XCTAssertEqual(table.count, 182)
        for row in table {
            let path = row["path"] as! String
            XCTAssertEqual(ParameterMask.seedDecay.contains(path), row["weight_decay"] as! Bool, path)
        }
    }

    func testAdamWOneStepBitExact() throws {
        let tx = try goldenAdamW()
        let (p1, state) = try tx.apply(grads, state: tx.initialize(params), params: params)
        let file = try SafeTensorsFile.read(try Golden.url("optax_adamw.safetensors"))
        let (bad, maxAbs) = try compare(p1, file, prefix: "params_step1/")
        XCTAssertEqual(bad, 0, "params after step 1 differ in \(bad) elements, max abs \(maxAbs)")

        let after = (optax["adamw"] as! [String: Any])["after_step_1"] as! [String: Any]
        guard case let .chain(states) = state, case let .adam(count, mu, nu) = states[0], case let .count(lrCount) = states[2] else {
            return XCTFail("unexpected state \(state.label)")
        }
        XCTAssertEqual(Int(count), after["adam_count"] as? Int)
        XCTAssertEqual(Int(lrCount), after["schedule_count"] as? Int)
        for (name, tree) in [("mu_digest", mu), ("nu_digest", nu)] {
            let digests = after[name] as! [String: Any]
            XCTAssertEqual(digests.count, tree.count)
            for (path, t) in tree {
                let d = LeafDigest(digests[path]!)
                XCTAssertTrue(d.matchesExactly(t), "\(name) \(path): \(d.describeDifference(t))")
            }
        }
    }

    func testAdamWTenStepsBitExact() throws {
        let tx = try goldenAdamW()
        var p = params!
        var state = tx.initialize(params)
        for _ in 0..<10 { (p, state) = try tx.apply(grads, state: state, params: p) }
        let file = try SafeTensorsFile.read(try Golden.url("optax_adamw.safetensors"))
        guard case let .chain(states) = state, case let .adam(count, mu, nu) = states[0], case let .count(lrCount) = states[2] else {
            return XCTFail("unexpected state \(state.label)")
        }
        let after = (optax["adamw"] as! [String: Any])["after_step_10"] as! [String: Any]
        XCTAssertEqual(Int(count), after["adam_count"] as? Int)
        XCTAssertEqual(Int(lrCount), after["schedule_count"] as? Int)
        for (prefix, tree) in [("params_step10/", p), ("mu_step10/", mu), ("nu_step10/", nu)] {
            let (bad, maxAbs) = try compare(tree, file, prefix: prefix)
            XCTAssertEqual(bad, 0, "\(prefix): \(bad) elements differ, max abs \(maxAbs)")
        }
    }

    /// The declared `AdamW` (one fused pass per leaf) equals the optax chain
    /// it declares, run transformation by transformation, bit for bit.
    func testAdamWEqualsItsChainBitForBit() throws {
        let fused = try goldenAdamW()
        let unfused = fused.chain
        XCTAssertEqual(unfused.transformations.count, 3)
        XCTAssertEqual((unfused.transformations[1] as? Masked)?.mask, .seedDecay)
        var (pf, sf) = (params!, fused.initialize(params))
        var (pu, su) = (params!, unfused.initialize(params))
        for _ in 0..<3 {
            (pf, sf) = try fused.apply(grads, state: sf, params: pf)
            (pu, su) = try unfused.apply(grads, state: su, params: pu)
        }
        XCTAssertEqual(pf, pu)
        XCTAssertEqual(sf, su, "the same state, in the chain's layout")
        // update() + applyUpdates rounds -lr*u first: not the jitted bits, but within an ulp of lr.
        let (u, _) = try fused.update(grads, state: fused.initialize(params), params: params)
        let p1 = try applyUpdates(params, u)
        let (p1f, _) = try fused.apply(grads, state: fused.initialize(params), params: params)
        for (path, t) in p1 {
            for (x, y) in zip(t.scalars, p1f[path]!.scalars) { XCTAssertEqual(x, y, accuracy: 1e-9 + 1e-6 * abs(y)) }
        }
    }

    func testMultiStepsFiveCalls() throws {
        let ms = try MultiSteps(try goldenAdamW(), everyK: 4)
        let record = optax["multisteps"] as! [String: Any]
        var p = params!
        var state = ms.initialize(params)
        for call in record["calls"] as! [[String: Any]] {
            let c = call["call"] as! Int
            let g = grads.map { _, t in Tensor(shape: t.shape, scalars: t.scalars.map { $0 * Float(c) }) }
            (p, state) = try ms.apply(g, state: state, params: p)
            guard case let .multiSteps(mini, gradStep, acc, inner) = state,
                  case let .chain(innerStates) = inner, case let .adam(adamCount, _, _) = innerStates[0] else {
                return XCTFail("unexpected state")
            }
            XCTAssertEqual(Int(mini), call["mini_step_after"] as? Int, "call \(c)")
            XCTAssertEqual(Int(gradStep), call["gradient_step_after"] as? Int, "call \(c)")
            XCTAssertEqual(Int(adamCount), call["inner_adam_count_after"] as? Int, "call \(c)")
            let hashes = call["params_sha256"] as! [String: String]
            XCTAssertEqual(hashes.count, p.count)
            var bad: [String] = []
            for (path, t) in p where sha256F32LE(t) != hashes[path] { bad.append(path) }
            XCTAssertEqual(bad, [], "call \(c): params differ from optax in \(bad.count) leaves")
            if let digests = call["acc_grads_digest"] as? [String: Any] {
                for (path, t) in acc {
                    let d = LeafDigest(digests[path]!)
                    XCTAssertTrue(d.matchesExactly(t), "acc \(path): \(d.describeDifference(t))")
                }
            }
        }
    }

    func testEMAv2ThreeUpdates() throws {
        let record = optax["ema_v2"] as! [String: Any]
        let ema = EMA(decay: (record["decay"] as! NSNumber).doubleValue, kind: .v2)
        let file = try SafeTensorsFile.read(try Golden.url("optax_adamw.safetensors"))
        let inputs = [params!, try file.tree(prefix: "params_step1/"), try file.tree(prefix: "params_step10/")]
        var state = ema.initialize(params)
        for (rec, input) in zip(record["updates"] as! [[String: Any]], inputs) {
            guard case let .ema(countBefore, _) = state else { return XCTFail() }
            XCTAssertEqual(Int(countBefore), rec["count_before"] as? Int)
            let decayBits = bitsFromHex((rec["decay_used"] as! [String: Any])["bits"] as! String)
            XCTAssertEqual(ema.decayUsed(count: countBefore).bitPattern, decayBits)
            let (out, next) = try ema.update(with: input, state: state)
            state = next
            guard case let .ema(countAfter, stored) = state else { return XCTFail() }
            XCTAssertEqual(Int(countAfter), rec["count_after"] as? Int)
            let digests = rec["ema_state_digest"] as! [String: Any]
            for (path, t) in stored {
                let d = LeafDigest(digests[path]!)
                XCTAssertTrue(d.matchesExactly(t), "update \(countAfter) ema \(path): \(d.describeDifference(t))")
            }
            if let outDigests = rec["debiased_output_digest"] as? [String: Any] {
                for (path, t) in out {
                    let d = LeafDigest(outDigests[path]!)
                    XCTAssertTrue(d.matchesExactly(t), "debiased \(path): \(d.describeDifference(t))")
                }
            }
        }
    }

    func testGlobalNorm() throws {
        let rec = optax["eval_grads_global_norm"] as! [String: Any]
        let expected = Float(bitPattern: bitsFromHex(rec["bits"] as! String))
        let norm = globalNorm(grads)
        XCTAssertEqual(norm, expected, accuracy: expected * 2e-7)
        XCTAssertEqual(Double(norm), (rec["float64"] as! NSNumber).doubleValue, accuracy: 1e-5)
    }
}
