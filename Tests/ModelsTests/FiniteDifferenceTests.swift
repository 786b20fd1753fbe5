import XCTest
import Tensors
import JaxRandom
@testable import Models

/// Central finite differences of the full network (float32) on a micro
/// config, in train mode with stochastic depth and head dropout active and
/// asymmetric SAME padding (12 -> 3 -> 2).
final class FiniteDifferenceTests: XCTestCase {
    func testFullNetworkGradientsMatchFiniteDifferences() throws {
        let model = try ConvNeXt(config: ConvNeXtConfig(depths: [1, 1], dims: [8, 16], classes: 5, imageSize: 12,
                                                         dropPathRate: 0.5, headDropout: 0.3))
        // Random, non-degenerate parameters: init plus noise so LayerScale,
        // biases and LayerNorm affine terms all matter.
        var params = model.initialize(paramsKey: PRNGKey(seed: 1))
        var i: UInt32 = 0
        params = params.map { path, t in
            i += 1
            let noise = Random.normal(PRNGKey(seed: 100).foldIn(i), count: t.count)
            let scale: Float = path.hasSuffix("kernel") ? 0.25 : 0.3
            return Tensor(shape: t.shape, scalars: zip(t.scalars, noise).map { $0 + scale * $1 })
        }
        let batch = 2
        let x = Tensor(shape: [batch, 12, 12, 3], scalars: Random.uniform(PRNGKey(seed: 7), count: batch * 12 * 12 * 3, minval: -1, maxval: 1))
        let raw = Random.uniform(PRNGKey(seed: 8), count: batch * 5, minval: 0.1, maxval: 1)
        var labels = [Float](repeating: 0, count: batch * 5)
        for b in 0..<batch {
            let s = raw[(b * 5)..<(b * 5 + 5)].reduce(0, +)
            for k in 0..<5 { labels[b * 5 + k] = raw[b * 5 + k] / s }
        }
        let y = Tensor(shape: [batch, 5], scalars: labels)
        // Keys under which the second block keeps exactly one of the two samples.
        var rngs: ApplyRNGs?
        for seed in 0..<64 {
            let r = ApplyRNGs(dropout: PRNGKey(seed: Int64(seed)), stochasticDepth: PRNGKey(seed: Int64(seed + 1000)))
            if let k = ConvNeXt.stochasticDepthMask(r.stochasticDepth, block: ConvNeXt.blockName(stage: 1, index: 0), rate: 0.5, batch: batch),
               k.filter({ $0 }).count == 1 { rngs = r; break }
        }
        let keys = try XCTUnwrap(rngs)

        let analytic = model.valueAndGradient(x, labels: y, params: params, train: true, rngs: keys)
        XCTAssertEqual(analytic.cache.blockRecords[1].droppedSamples.count, 1)
        XCTAssertGreaterThan(analytic.cache.headDropoutKept!.filter { !$0 }.count, 0)
        func loss(_ p: TensorTree) -> Float {
            let logits = model.forward(x, params: p, train: true, rngs: keys).logits
            return model.loss(logits: logits, labels: y).loss
        }
        var checked = 0
        for spec in model.parameterSpecs() {
            let g = analytic.grads[spec.path]!
            let maxG = g.scalars.map(abs).max()!
            // The two largest-gradient coordinates and one pseudo-random one.
            let order = g.scalars.indices.sorted { abs(g.scalars[$0]) > abs(g.scalars[$1]) }
            var coords = Array(order.prefix(2))
            coords.append((spec.path.utf8.count * 7919) % g.count)
            for c in Set(coords) {
                let theta = params[spec.path]!.scalars[c]
                let h: Float = 1e-2 * max(1, abs(theta))
                var plus = params, minus = params
                plus.tensors[spec.path]!.scalars[c] = theta + h
                minus.tensors[spec.path]!.scalars[c] = theta - h
                let fd = (loss(plus) - loss(minus)) / (2 * h)
                let an = g.scalars[c]
                XCTAssertLessThanOrEqual(abs(fd - an), 2e-2 * abs(an) + 2e-3 * maxG + 5e-5,
                                         "\(spec.path)[\(c)]: finite difference \(fd) vs analytic \(an)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 60)
    }
}
