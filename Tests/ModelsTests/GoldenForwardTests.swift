import XCTest
import Tensors
import JaxRandom
import TestSupport
@testable import Models

/// Eval- and train-mode logits, loss, intermediates and gradients against the
/// JAX/Flax golden outputs (tolerances from golden/README.md).
final class GoldenForwardTests: XCTestCase {
    struct Setup {
        var model: ConvNeXt
        var params: TensorTree
        var x: Tensor
        var labels: Tensor
        var rngs: ApplyRNGs
        var json: [String: Any]
    }

    func setup(dropPath: Double? = nil, headDropout: Double = 0, alt: Bool = false) throws -> Setup {
        let model = try ConvNeXt(config: G.smallConfig(dropPath: dropPath, headDropout: headDropout))
        let params = alt ? try G.params(model, file: "optax_adamw.safetensors", prefix: "params_step10/")
                         : try G.params(model, file: "small_init_params.safetensors")
        let input = try G.tensors("small_input.safetensors")
        let j = try G.object("small_model.json")
        let r = (j["train"] as! [String: Any])["rngs"] as! [String: Any]
        let rngs = ApplyRNGs(dropout: G.key(r["dropout"]), stochasticDepth: G.key(r["stochastic_depth"]))
        return Setup(model: model, params: params, x: input["x"]!, labels: input["labels"]!, rngs: rngs, json: j)
    }

    func testEvalLogitsLossIntermediatesAndGrads() throws {
        let s = try setup()
        let golden = try G.tensors("small_eval.safetensors")
        let r = s.model.valueAndGradient(s.x, labels: s.labels, params: s.params, train: false, rngs: nil)
        G.assertClose(r.logits, golden["logits"]!, atol: 1e-5, "eval logits")
        let eval = s.json["eval"] as! [String: Any]
        XCTAssertEqual(r.loss, G.float(eval["loss"]), accuracy: 1e-5)

        // Every golden intermediate the cache holds (all but the first block's
        // LayerNorm_0/LayerScale_0, the last block and the head, checked below).
        let ours = Dictionary(r.cache.intermediates(), uniquingKeysWith: { a, _ in a })
        let recomputed: Set<String> = ["backbone/BottleneckConvNeXtBlock_01_01/LayerNorm_0",
                                       "backbone/BottleneckConvNeXtBlock_01_01/LayerScale_0",
                                       "backbone/BottleneckConvNeXtBlock_04_01", "backbone_output", "head_LayerNorm_0"]
        var seen = 0
        for (name, want) in golden where name.hasPrefix("intermediates/") {
            let key = String(name.dropFirst("intermediates/".count))
            if recomputed.contains(key) { continue }
            guard let t = ours[key] else { XCTFail("cache lacks intermediate \(key)"); continue }
            G.assertClose(t, want, atol: 1e-5 * max(1, G.maxAbs(want)), "intermediate \(key)")
            seen += 1
        }
        XCTAssertEqual(seen, 15)
        let n = layerNormForward(r.cache.stages[0].blocks[0].depthwise.tensor,
                                 scale: s.params["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/LayerNorm_0/scale"]!,
                                 bias: s.params["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/LayerNorm_0/bias"]!, epsilon: 1e-6).y
        G.assertClose(n, golden["intermediates/backbone/BottleneckConvNeXtBlock_01_01/LayerNorm_0"]!, atol: 1e-5, "block LayerNorm_0")
        // LayerScale output of the first block, the backbone output and the head LayerNorm.
        let b1 = r.cache.stages[0].blocks[0]
        let ls = layerScaleForward(b1.branch.tensor, gamma: s.params["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/LayerScale_0/scale"]!)
        G.assertClose(ls, golden["intermediates/backbone/BottleneckConvNeXtBlock_01_01/LayerScale_0"]!, atol: 1e-9, "LayerScale_0")
        let out = golden["intermediates/backbone_output"]!
        G.assertClose(r.cache.pooledFeatures, out.reshaped([4, 64]), atol: 1e-5 * max(1, G.maxAbs(out)), "backbone output (1x1)")
        let hn = layerNormForward(r.cache.pooledFeatures, scale: s.params["LayerNorm_0/scale"]!,
                                  bias: s.params["LayerNorm_0/bias"]!, epsilon: 1e-6).y
        G.assertClose(hn, golden["intermediates/head_LayerNorm_0"]!, atol: 1e-5, "head LayerNorm_0")

        let worst = G.assertGradsClose(r.grads, golden, prefix: "grads/")
        print("eval grads worst rel diff \(worst), logits max diff \(G.maxAbsDiff(r.logits, golden["logits"]!))")
    }

    func testTrainMasksLogitsAndGrads() throws {
        let s = try setup()
        let golden = try G.tensors("small_train.safetensors")
        let r = s.model.valueAndGradient(s.x, labels: s.labels, params: s.params, train: true, rngs: s.rngs)
        // Stochastic-depth masks equal the recorded ones exactly.
        let records = (s.json["train"] as! [String: Any])["stochastic_depth"] as! [[String: Any]]
        XCTAssertEqual(records.count, r.cache.blockRecords.count)
        for (rec, got) in zip(records, r.cache.blockRecords) {
            XCTAssertEqual(got.block.name, rec["block"] as! String)
            if rec["has_module"] as! Bool {
                XCTAssertEqual(got.kept, (rec["kept"] as! [Int]).map { $0 == 1 }, got.block.name)
                XCTAssertEqual(Float(1 - got.block.dropPathRate), G.float(rec["keep_prob"]), got.block.name)
                let k = FlaxRNG.moduleKey(s.rngs.stochasticDepth, path: ["ConvNeXtBackbone_0", got.block.name, "StochasticDepth_0"], counter: 1)
                XCTAssertEqual(k, G.key(rec["key"]))
                XCTAssertEqual(ConvNeXt.keepScale(rate: got.block.dropPathRate), G.float(rec["reciprocal_keep_prob"]))
            } else {
                XCTAssertNil(got.kept)
            }
        }
        XCTAssertEqual(r.cache.blockRecords.map(\.droppedSamples).flatMap { $0 }.count, 2)
        G.assertClose(r.logits, golden["logits"]!, atol: 1e-5, "train logits")
        XCTAssertEqual(r.loss, G.float((s.json["train"] as! [String: Any])["loss"]), accuracy: 1e-5)
        let worst = G.assertGradsClose(r.grads, golden, prefix: "grads/")
        print("train grads worst rel diff \(worst), logits max diff \(G.maxAbsDiff(r.logits, golden["logits"]!))")
        // Train and eval grads of a dropped sample's branch differ: make sure we are not comparing eval grads.
        let evalGolden = try G.tensors("small_eval.safetensors")
        let path = "ConvNeXtBackbone_0/BottleneckConvNeXtBlock_04_01/Conv_2/kernel"
        XCTAssertGreaterThan(G.maxAbsDiff(evalGolden["grads/" + path]!, golden["grads/" + path]!),
                             1e-3 * G.maxAbs(golden["grads/" + path]!))
    }

    func testAltParamsEvalAndTrain() throws {
        let s = try setup(alt: true)
        let golden = try G.tensors("small_alt.safetensors")
        let alt = s.json["alt_params"] as! [String: Any]
        let e = s.model.valueAndGradient(s.x, labels: s.labels, params: s.params, train: false, rngs: nil)
        G.assertClose(e.logits, golden["eval/logits"]!, atol: 1e-5, "alt eval logits")
        XCTAssertEqual(e.loss, G.float((alt["eval"] as! [String: Any])["loss"]), accuracy: 1e-5)
        let t = s.model.valueAndGradient(s.x, labels: s.labels, params: s.params, train: true, rngs: s.rngs)
        G.assertClose(t.logits, golden["train/logits"]!, atol: 1e-5, "alt train logits")
        XCTAssertEqual(t.loss, G.float((alt["train"] as! [String: Any])["loss"]), accuracy: 1e-5)
        XCTAssertGreaterThan(G.maxAbsDiff(t.logits, e.logits), 1e-3, "stochastic depth must move the alt logits")
        let worst = G.assertGradsClose(t.grads, golden, prefix: "train/grads/")
        print("alt: eval logits max diff \(G.maxAbsDiff(e.logits, golden["eval/logits"]!)), train logits \(G.maxAbsDiff(t.logits, golden["train/logits"]!)), train grads worst rel \(worst)")
    }

    func testAltHighStochasticDepth() throws {
        let s = try setup(dropPath: 0.6, alt: true)
        let golden = try G.tensors("small_alt.safetensors")
        let hs = (s.json["alt_params"] as! [String: Any])["high_sd"] as! [String: Any]
        let r = s.model.valueAndGradient(s.x, labels: s.labels, params: s.params, train: true, rngs: s.rngs)
        G.assertClose(r.logits, golden["high_sd/logits"]!, atol: 1e-5, "high-SD logits")
        XCTAssertEqual(r.loss, G.float(hs["loss"]), accuracy: 1e-5)
        let observed = hs["observed_kept"] as! [String: Any]
        for rec in r.cache.blockRecords {
            if let o = observed[rec.block.name] as? [String: Any] {
                XCTAssertEqual(rec.kept, (o["kept"] as! [Int]).map { $0 == 1 }, rec.block.name)
            }
        }
        checkDigests(r.grads, hs["grads_digest"] as! [String: Any])
    }

    func testAltHeadDropout() throws {
        let s = try setup(headDropout: 0.25, alt: true)
        let golden = try G.tensors("small_alt.safetensors")
        let hd = (s.json["alt_params"] as! [String: Any])["head_dropout"] as! [String: Any]
        let r = s.model.valueAndGradient(s.x, labels: s.labels, params: s.params, train: true, rngs: s.rngs)
        let mask = try G.int32s("small_alt.safetensors", "head_dropout/mask_kept")
        XCTAssertEqual(mask.shape, [4, 64])
        XCTAssertEqual(r.cache.headDropoutKept, mask.values.map { $0 == 1 })
        XCTAssertEqual(r.cache.headDropoutKept?.filter { !$0 }.count, hd["n_dropped"] as? Int)
        XCTAssertEqual(FlaxRNG.moduleKey(s.rngs.dropout, path: ["Dropout_0"], counter: 1), G.key(hd["dropout_key"]))
        G.assertClose(r.logits, golden["head_dropout/logits"]!, atol: 1e-5, "head-dropout logits")
        XCTAssertEqual(r.loss, G.float(hd["loss"]), accuracy: 1e-5)
        checkDigests(r.grads, hd["grads_digest"] as! [String: Any])
    }

    /// Compare gradients with golden digests (first 4 values, sum and max |g|).
    func checkDigests(_ grads: TensorTree, _ digests: [String: Any], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(grads.count, digests.count, file: file, line: line)
        for (path, g) in grads {
            guard let d = digests[path] as? [String: Any] else { XCTFail("no digest for \(path)", file: file, line: line); continue }
            let maxAbs = Float((d["max_abs"] as! NSNumber).doubleValue)
            let tol = 1e-5 * maxAbs + 1e-9
            XCTAssertEqual(G.maxAbs(g), maxAbs, accuracy: tol, "\(path) max|g|", file: file, line: line)
            let first = (d["first4_bits"] as! [String]).map { Float(bitPattern: UInt32($0.dropFirst(2), radix: 16)!) }
            for i in 0..<min(4, g.count) {
                XCTAssertEqual(g.scalars[i], first[i], accuracy: tol, "\(path)[\(i)]", file: file, line: line)
            }
            let sum = g.scalars.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, (d["sum"] as! NSNumber).doubleValue, accuracy: 2e-5 * (d["abs_sum"] as! NSNumber).doubleValue + 1e-9,
                           "\(path) sum", file: file, line: line)
        }
    }

    /// A 40x40 input exercises asymmetric SAME padding (10 -> 5 -> 3 -> 2).
    func testForty() throws {
        let s = try setup()
        let x = Tensor(shape: [2, 40, 40, 3], scalars: Random.uniform(PRNGKey(seed: 3), count: 2 * 40 * 40 * 3, minval: -1, maxval: 1))
        let labels = Tensor(shape: [2, 10], scalars: (0..<20).map { $0 % 10 == 3 ? 1 : 0 })
        let r = s.model.valueAndGradient(x, labels: labels, params: s.params, train: true, rngs: s.rngs)
        XCTAssertEqual(r.logits.shape, [2, 10])
        XCTAssertEqual(r.cache.stages.map { $0.blocks[0].input.shape[1] }, [10, 5, 3, 2])
        XCTAssertEqual(r.cache.featureShape, [2, 2, 2, 64])
        XCTAssertTrue(r.logits.scalars.allSatisfy(\.isFinite))
        XCTAssertTrue(r.loss.isFinite)
        for (path, g) in r.grads { XCTAssertTrue(g.scalars.allSatisfy(\.isFinite), path) }
        XCTAssertEqual(r.cache.byteCount, s.model.activationBytes(batch: 2, imageSize: 40, train: true))
    }
}
