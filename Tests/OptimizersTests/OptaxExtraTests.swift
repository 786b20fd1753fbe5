import Foundation
import XCTest
import Tensors
import SafeTensors
import TestSupport
@testable import Optimizers

/// Plain EMA, global-norm clipping and a constant-lr, unmasked adamw against
/// optax outputs recorded in OptaxExtraReference.swift (inputs from golden/).
final class OptaxExtraTests: XCTestCase {
    private var params: TensorTree!
    private var grads: TensorTree!

    override func setUpWithError() throws {
        params = try SafeTensorsFile.read(try Golden.url("small_init_params.safetensors")).tree()
        grads = try SafeTensorsFile.read(try Golden.url("small_eval.safetensors")).tree(prefix: "grads/")
    }

    private func assertHashes(_ tree: TensorTree, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let ref = optaxExtraReference[name]!
        XCTAssertEqual(ref.count, tree.count, name, file: file, line: line)
        let bad = tree.filter { sha256F32LE($0.value) != ref[$0.key] }.map(\.key)
        XCTAssertEqual(bad, [], "\(name): \(bad.count) leaves differ from optax", file: file, line: line)
    }

    func testPlainEMAMatchesOptaxEma() throws {
        let file = try SafeTensorsFile.read(try Golden.url("optax_adamw.safetensors"))
        let ema = EMA(decay: 0.999, kind: .plain)
        var state = ema.initialize(params)
        var out = TensorTree()
        for input in [params!, try file.tree(prefix: "params_step1/"), try file.tree(prefix: "params_step10/")] {
            XCTAssertEqual(ema.decayUsed(count: 0), Float(0.999))
            (out, state) = try ema.update(with: input, state: state)
        }
        assertHashes(EMA.average(state)!, "emaPlainStored")
        assertHashes(out, "emaPlainOutput")
    }

    func testClipByGlobalNormMatchesOptax() throws {
        // XLA's float32 reduction gives a norm 2 ulp above the correctly rounded
        // one (0x4224194e vs 0x4224194c), so the clipped values are compared
        // bit for bit given optax's norm, and within 3e-7 relative with ours.
        let optaxNorm = Float(bitPattern: 0x4224_194E)
        XCTAssertEqual(globalNorm(grads), optaxNorm, accuracy: 3 * optaxNorm.ulp)
        assertHashes(ClipByGlobalNorm.clip(grads, norm: optaxNorm, maxNorm: 10), "clip10")
        let clip = ClipByGlobalNorm(maxNorm: 10)
        let (clipped, _) = try clip.update(grads, state: clip.initialize(grads), params: params)
        let exact = ClipByGlobalNorm.clip(grads, norm: optaxNorm, maxNorm: 10)
        for (path, t) in clipped {
            for (a, b) in zip(t.scalars, exact[path]!.scalars) { XCTAssertEqual(a, b, accuracy: 3e-7 * abs(b)) }
        }
        XCTAssertEqual(globalNorm(clipped), 10, accuracy: 1e-5)
        // Below the limit nothing changes.
        let loose = ClipByGlobalNorm(maxNorm: 100)
        XCTAssertEqual(try loose.update(grads, state: .empty, params: params).updates, grads)
    }

    func testConstantLearningRateAdamWWithoutMask() throws {
        let tx = adamw(.constant(1e-3), weightDecay: 1e-4)
        XCTAssertTrue(tx.chain.transformations[1] is AddDecayedWeights, "no mask: the decay is not wrapped in masked")
        var (p, s) = (params!, tx.initialize(params))
        for _ in 0..<2 { (p, s) = try tx.apply(grads, state: s, params: p) }
        assertHashes(p, "adamwConstant2")
    }
}
