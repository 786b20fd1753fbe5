import Foundation
import JaxRandom
import SafeTensors
import Tensors
import TestSupport
import XCTest
@testable import Models

/// bf16 parity (issue 16, docs/bf16.md) against `Fixtures/bf16.{json,safetensors}`
/// made by `scripts/golden/make_bf16.py`: the dev small model with Flax
/// `dtype=bfloat16` (γ bf16, and once γ float32) and the same in float32, on
/// the golden input, init and "alt" params, eval and train mode (the seed's
/// step-0 rngs). Two criteria:
/// * cnx bf16 against JAX bf16, within `Tolerance` (measured, see there);
/// * cnx bf16's error against JAX float32 no larger than `errorFactor` times
///   JAX bf16's own error against JAX float32, per tensor.
final class BF16GoldenTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Tolerances for cnx bf16 against JAX bf16, about 3x the worst measured
    /// (docs/bf16.md: logits 0.0028 relative, loss 0.0014, grads 0.038): both
    /// compute the same bf16 program, but float32 summation order differs
    /// (GEMMs, convs, LayerNorm statistics, pooling), and a bf16 rounding
    /// that flips (a relative step of 2^-8 = 0.4%) propagates. Logits:
    /// relative to max |logit|; grads: per tensor, relative to its max |g|.
    enum Tolerance {
        static let logits: Float = 0.01
        static let loss: Float = 0.005
        static let grads: Float = 0.1
    }

    /// cnx's error against float32 may be at most this multiple of JAX bf16's
    /// own (plus `errorFloor` relative, for tensors where JAX bf16 happens to
    /// be almost exact). Two implementations of the same bf16 program land on
    /// different but equally likely roundings, so their errors are of the
    /// same size, not the same; the measured ratio is in docs/bf16.md.
    /// Measured: median ratio 1.0, worst 2.22 over all 5 cases x 66 tensors.
    static let errorFactor: Float = 3
    static let errorFloor: Float = 0.002

    struct Case {
        var name: String
        var params: String  // "init" or "alt"
        var train: Bool
        var gammaBF16: Bool
    }

    static let bf16Cases = [
        Case(name: "bf16_init_eval", params: "init", train: false, gammaBF16: true),
        Case(name: "bf16_init_train", params: "init", train: true, gammaBF16: true),
        Case(name: "bf16_alt_eval", params: "alt", train: false, gammaBF16: true),
        Case(name: "bf16_alt_train", params: "alt", train: true, gammaBF16: true),
        Case(name: "bf16g32_alt_train", params: "alt", train: true, gammaBF16: false),
    ]

    func fixture() throws -> (tensors: [String: Tensor], keys: ApplyRNGs) {
        let file = try SafeTensorsFile.read(Self.fixtures.appendingPathComponent("bf16.safetensors"))
        var out: [String: Tensor] = [:]
        for name in file.names { out[name] = try file.tensor(name) }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("bf16.json"))) as! [String: Any]
        let keys = json["keys"] as! [String: Any]
        return (out, ApplyRNGs(dropout: G.key(keys["dropout"]), stochasticDepth: G.key(keys["stochastic_depth"])))
    }

    /// cnx's loss, logits and grads for a case.
    func run(_ c: Case, dtype: ModelDType) throws -> (loss: Float, logits: Tensor, grads: TensorTree) {
        var config = try G.smallConfig()
        config.dtype = dtype
        config.bf16LayerScale = c.gammaBF16
        let model = try ConvNeXt(config: config)
        let params = c.params == "init"
            ? try G.params(model, file: "small_init_params.safetensors")
            : try G.params(model, file: "optax_adamw.safetensors", prefix: "params_step10/")
        let input = try G.tensors("small_input.safetensors")
        let (_, keys) = try fixture()
        let r = model.valueAndGradient(input["x"]!, labels: input["labels"]!, params: model.heldParameters(params),
                                       train: c.train, rngs: c.train ? keys : nil)
        return (r.loss, r.logits, r.grads)
    }

    static func relError(_ a: Tensor, _ b: Tensor) -> Float {
        let scale = G.maxAbs(b)
        return scale > 0 ? G.maxAbsDiff(a, b) / scale : G.maxAbsDiff(a, b)
    }

    /// The float32 fixture cases agree with cnx float32 to the golden README's
    /// tolerances: the fixture's float32 side is the reference it claims to be.
    func testFloat32CasesMatchCnxFloat32() throws {
        let (want, _) = try fixture()
        for c in Self.bf16Cases where c.gammaBF16 {
            let name = c.name.replacingOccurrences(of: "bf16_", with: "f32_")
            let got = try run(c, dtype: .f32)
            G.assertClose(got.logits, want["\(name)/logits"]!, atol: 1e-5, "\(name) logits")
            XCTAssertEqual(got.loss, want["\(name)/loss"]!.scalars[0], accuracy: 1e-5, name)
            G.assertGradsClose(got.grads, want, prefix: "\(name)/grads/")
        }
    }

    /// cnx bf16 against JAX bf16: logits, loss and every gradient.
    func testBF16MatchesJAXBF16() throws {
        let (want, _) = try fixture()
        for c in Self.bf16Cases {
            let got = try run(c, dtype: .bf16)
            let logits = want["\(c.name)/logits"]!
            let le = Self.relError(got.logits, logits)
            XCTAssertLessThanOrEqual(le, Tolerance.logits, "\(c.name) logits: relative error \(le)")
            XCTAssertEqual(got.loss, want["\(c.name)/loss"]!.scalars[0], accuracy: Tolerance.loss, c.name)
            var worst: (Float, String) = (0, "")
            for (path, g) in got.grads {
                let w = try XCTUnwrap(want["\(c.name)/grads/\(path)"], path)
                let e = Self.relError(g, w)
                if e > worst.0 { worst = (e, path) }
                XCTAssertLessThanOrEqual(e, Tolerance.grads, "\(c.name) grad \(path): relative error \(e)")
            }
            print("bf16 parity \(c.name): logits rel \(le), loss \(got.loss) vs \(want["\(c.name)/loss"]!.scalars[0]), worst grad rel \(worst.0) (\(worst.1))")
        }
    }

    /// The low-precision criterion: per tensor, cnx bf16's error against JAX
    /// float32 is no larger than `errorFactor` x JAX bf16's own.
    func testBF16ErrorAgainstFloat32IsJAXsOwn() throws {
        let (want, _) = try fixture()
        for c in Self.bf16Cases {
            let got = try run(c, dtype: .bf16)
            let f32 = c.name.replacingOccurrences(of: "bf16g32_", with: "f32_").replacingOccurrences(of: "bf16_", with: "f32_")
            var pairs: [(String, Tensor, Tensor, Tensor)] = [("logits", got.logits, want["\(c.name)/logits"]!, want["\(f32)/logits"]!)]
            for (path, g) in got.grads {
                pairs.append((path, g, want["\(c.name)/grads/\(path)"]!, want["\(f32)/grads/\(path)"]!))
            }
            var ratios: [Float] = []
            for (what, mine, jax, ref) in pairs {
                let eMine = Self.relError(mine, ref), eJax = Self.relError(jax, ref)
                if eJax > 0 { ratios.append(eMine / eJax) }
                XCTAssertLessThanOrEqual(eMine, Self.errorFactor * eJax + Self.errorFloor,
                                         "\(c.name) \(what): cnx bf16 error \(eMine) vs JAX bf16 error \(eJax) (against float32)")
            }
            ratios.sort()
            print("bf16 vs f32 \(c.name): logits cnx \(Self.relError(got.logits, want["\(f32)/logits"]!)) jax \(Self.relError(want["\(c.name)/logits"]!, want["\(f32)/logits"]!)); error ratio cnx/jax median \(ratios[ratios.count / 2]) max \(ratios.last!)")
        }
    }

    /// The seed's quirk: γ is held in bf16 from init, and its gradient is a bf16 value.
    func testGammaIsHeldInBF16() throws {
        var config = try G.smallConfig()
        config.dtype = .bf16
        let model = try ConvNeXt(config: config)
        let params = model.initialize(paramsKey: PRNGKey(seed: 42))
        let gammaPath = "ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/LayerScale_0/scale"
        XCTAssertEqual(params[gammaPath]!.scalars[0], roundToBF16(1e-6))
        XCTAssertNotEqual(roundToBF16(1e-6), Float(1e-6), "1e-6 is not a bf16 value: the quirk is visible")
        XCTAssertTrue(model.isHeldInBF16(gammaPath))
        XCTAssertFalse(model.isHeldInBF16("Head/kernel"))
        config.bf16LayerScale = false
        let off = try ConvNeXt(config: config)
        XCTAssertEqual(off.initialize(paramsKey: PRNGKey(seed: 42))[gammaPath]!.scalars[0], 1e-6)
    }

    /// Inference (`logits`, which keeps no activations) gives the bits of an
    /// eval-mode `forward` that keeps them, in bf16 with both gamma dtypes.
    func testBF16InferenceEqualsForward() throws {
        let input = try G.tensors("small_input.safetensors")
        for gammaBF16 in [true, false] {
            var config = try G.smallConfig()
            config.dtype = .bf16
            config.bf16LayerScale = gammaBF16
            let model = try ConvNeXt(config: config)
            let params = model.heldParameters(try G.params(model, file: "optax_adamw.safetensors", prefix: "params_step10/"))
            let full = model.forward(input["x"]!, params: params, train: false, rngs: nil)
            XCTAssertGreaterThan(full.cache.byteCount, 0)
            let inferred = model.logits(input["x"]!, params: params)
            XCTAssertEqual(inferred.scalars.map(\.bitPattern), full.logits.scalars.map(\.bitPattern), "gamma bf16 \(gammaBF16)")
        }
    }
}
