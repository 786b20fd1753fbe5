import XCTest
import Tensors
import JaxRandom
import TestSupport
@testable import Models

final class InitTests: XCTestCase {
    /// `rng seed 42; model init` on the small dev config reproduces
    /// small_init_params.safetensors (reports the worst ulp distance; expected 0).
    func testSmallInitMatchesGolden() throws {
        let model = try ConvNeXt(config: G.smallConfig())
        let j = try G.object("small_model.json")
        let paramsKey = G.key((j["init"] as! [String: Any])["params_rng"])
        XCTAssertEqual(paramsKey, PRNGKey(seed: 42).split(3)[0])
        let params = model.initialize(paramsKey: paramsKey)
        let want = try G.tensors("small_init_params.safetensors")
        XCTAssertEqual(params.count, want.count)
        XCTAssertEqual(params.paths, model.parameterSpecs().map(\.path))
        var worst = 0, inexact = 0, total = 0
        for (path, t) in params {
            guard let w = want[path] else { XCTFail("golden lacks \(path)"); continue }
            XCTAssertEqual(t.shape, w.shape, path)
            for (a, b) in zip(t.scalars, w.scalars) {
                let u = G.ulps(a, b)
                worst = max(worst, u)
                if u != 0 { inexact += 1 }
                total += 1
            }
        }
        XCTAssertLessThanOrEqual(worst, 4, "init differs from Flax by up to \(worst) ulp")
        XCTAssertEqual(inexact, 0, "\(inexact) of \(total) init values are not bit-exact (worst \(worst) ulp)")
        // The README's worked example.
        let ex = params["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/Conv_1/kernel"]!
        XCTAssertEqual(Array(ex.scalars.prefix(4)), [0.027340598, -0.010543546, 0.012824676, -0.012867717])
    }

    /// ConvNeXt-Tiny init statistics from tiny_model.json: shapes, sums, first
    /// 8 values (bits) and the sha256 of every parameter.
    func testTinyInitMatchesGoldenStatistics() throws {
        let j = try G.object("tiny_model.json")
        let table = j["params"] as! [[String: Any]]
        let model = try ConvNeXt(config: .variant("tiny", classes: j["num_classes"] as! Int))
        let paramsKey = G.key((j["init"] as! [String: Any])["params_rng"])
        let params = model.initialize(paramsKey: paramsKey)
        XCTAssertEqual(params.scalarCount, 28_589_128)
        var shaMismatch: [String] = []
        for row in table {
            let path = row["path"] as! String
            guard let t = params[path] else { XCTFail("missing \(path)"); continue }
            XCTAssertEqual(t.shape, row["shape"] as! [Int], path)
            let first8 = (row["first8_bits"] as! [String]).map { Float(bitPattern: UInt32($0.dropFirst(2), radix: 16)!) }
            let n = min(8, t.count)
            for i in 0..<n { XCTAssertLessThanOrEqual(G.ulps(t.scalars[i], first8[i]), 4, "\(path)[\(i)]") }
            let sum = t.scalars.reduce(0.0) { $0 + Double($1) }
            let wantSum = (row["sum"] as! NSNumber).doubleValue
            let absSum = (row["abs_sum"] as! NSNumber).doubleValue
            XCTAssertEqual(sum, wantSum, accuracy: 1e-6 * max(1, absSum), path)
            if sha256F32LE(t) != row["sha256_f32le"] as! String { shaMismatch.append(path) }
        }
        XCTAssertEqual(shaMismatch, [], "not bit-exact: \(shaMismatch.count) of \(table.count) params")
    }
}
