import XCTest
import TestSupport
@testable import JaxRandom

/// Every case in golden/prng.json, bit for bit.
final class GoldenPRNGTests: XCTestCase {
    func testPRNGKeyFromSeed() throws {
        let cases = try G.prng("prng_key")
        XCTAssertEqual(cases.count, 6)
        for c in cases {
            XCTAssertEqual(PRNGKey(seed: try G.int64(c["seed"])), try G.key(c["key"]), "seed \(c["seed"]!)")
        }
    }

    func testSplit() throws {
        let cases = try G.prng("split")
        XCTAssertEqual(cases.count, 18)
        for c in cases {
            let key = PRNGKey(seed: try G.int64(c["seed"]))
            let want = try G.keys(c["keys"])
            XCTAssertEqual(key.split(try G.int(c["n"])), want, "seed \(c["seed"]!) n \(c["n"]!)")
            for (i, k) in want.enumerated() { XCTAssertEqual(key.splitKey(i), k) }
        }
    }

    func testFoldIn() throws {
        let cases = try G.prng("fold_in")
        XCTAssertEqual(cases.count, 30)
        for c in cases {
            let key = PRNGKey(seed: try G.int64(c["seed"]))
            XCTAssertEqual(key.foldIn(try G.u32(c["data"])), try G.key(c["key"]), "seed \(c["seed"]!) data \(c["data"]!)")
        }
    }

    func testBits() throws {
        let cases = try G.prng("random_bits32")
        XCTAssertEqual(cases.count, 18)
        for c in cases {
            let key = PRNGKey(seed: try G.int64(c["seed"]))
            let want = try G.list(c["bits"]).map { try G.u32($0) }
            XCTAssertEqual(Random.bits(key, count: try G.count(c["shape"])), want, "seed \(c["seed"]!)")
        }
    }

    func testUniformDefaultAndRanged() throws {
        let cases = try G.prng("uniform")
        XCTAssertEqual(cases.count, 36)
        var ranged = 0
        for c in cases {
            let key = PRNGKey(seed: try G.int64(c["seed"]))
            let lo = Float(try G.double(c["minval"])), hi = Float(try G.double(c["maxval"]))
            if lo != 0 { ranged += 1 }
            let got = Random.uniform(key, count: try G.count(c["shape"]), minval: lo, maxval: hi)
            XCTAssertEqual(got.map(\.bitPattern), try G.bits(c["bits"]), "seed \(c["seed"]!) [\(lo), \(hi))")
        }
        XCTAssertEqual(ranged, 18)
    }

    func testNormal() throws {
        let cases = try G.prng("normal")
        XCTAssertEqual(cases.count, 18)
        for c in cases {
            let key = PRNGKey(seed: try G.int64(c["seed"]))
            let got = Random.normal(key, count: try G.count(c["shape"]))
            XCTAssertEqual(got.map(\.bitPattern), try G.bits(c["bits"]), "seed \(c["seed"]!) shape \(c["shape"]!)")
        }
    }

    func testTruncatedNormal() throws {
        let cases = try G.prng("truncated_normal")
        XCTAssertEqual(cases.count, 18)
        for c in cases {
            let key = PRNGKey(seed: try G.int64(c["seed"]))
            let got = Random.truncatedNormal(key, count: try G.count(c["shape"]),
                                             lower: Float(try G.double(c["lower"])), upper: Float(try G.double(c["upper"])))
            XCTAssertEqual(got.map(\.bitPattern), try G.bits(c["bits"]), "seed \(c["seed"]!) shape \(c["shape"]!)")
        }
    }

    func testBernoulli() throws {
        let cases = try G.prng("bernoulli")
        XCTAssertEqual(cases.count, 6)
        for c in cases {
            let key = PRNGKey(seed: try G.int64(c["seed"]))
            let want = try G.list(c["values"]).map { try G.int($0) != 0 }
            XCTAssertEqual(Random.bernoulli(key, count: try G.count(c["shape"]), p: Float(try G.double(c["p"]))), want)
        }
    }

    func testPermutation() throws {
        let cases = try G.prng("permutation")
        XCTAssertEqual(cases.count, 6)
        for c in cases {
            let key = PRNGKey(seed: try G.int64(c["seed"]))
            let want = try G.list(c["values"]).map { try G.int($0) }
            XCTAssertEqual(Random.permutation(key, n: try G.int(c["n"])), want, "seed \(c["seed"]!)")
        }
    }

    func testRandint() throws {
        let cases = try G.prng("randint")
        XCTAssertEqual(cases.count, 18)
        for c in cases {
            let key = PRNGKey(seed: try G.int64(c["seed"]))
            let want = try G.list(c["values"]).map { Int32(try G.int($0)) }
            let got = Random.randint(key, count: try G.count(c["shape"]),
                                     minval: Int32(try G.int(c["minval"])), maxval: Int32(try G.int(c["maxval"])))
            XCTAssertEqual(got, want, "seed \(c["seed"]!) [\(c["minval"]!), \(c["maxval"]!))")
        }
    }

    /// 4096-sample sweeps of normal, truncated_normal and uniform[-3.5, 2.25) for
    /// seeds 0 and 42, compared through the sha256 of their float32 bytes.
    func testSweepsSHA256() throws {
        let root = try G.dict(Golden.json("prng.json"))
        let sweeps = try G.dict(root["sweeps_4096"])
        XCTAssertEqual(sweeps.count, 6)
        for seed in [0, 42] {
            let key = PRNGKey(seed: Int64(seed))
            let draws: [(String, [Float])] = [
                ("normal", Random.normal(key, count: 4096)),
                ("truncated_normal", Random.truncatedNormal(key, count: 4096, lower: -2, upper: 2)),
                ("uniform_custom", Random.uniform(key, count: 4096, minval: -3.5, maxval: 2.25)),
            ]
            for (name, values) in draws {
                let rec = try G.dict(sweeps["\(name)[\(seed)]"])
                XCTAssertEqual(sha256F32LE(values), rec["sha256_f32le"] as? String, "\(name)[\(seed)]")
                XCTAssertEqual(values.reduce(0.0) { $0 + Double($1) }, try G.double(rec["sum"]), accuracy: 1e-6)
            }
        }
    }

    func testTruncatedNormalConstants() throws {
        let root = try G.dict(Golden.json("prng.json"))
        let k = try G.dict(root["truncated_normal_constants"])
        func bits(_ name: String) throws -> UInt32 { try G.hex(try G.dict(k[name])["bits"]) }
        let sqrt2 = Float(bitPattern: try bits("sqrt2_f32"))
        XCTAssertEqual(sqrt2, Float(2.0.squareRoot()))
        let invSqrt2 = Float(bitPattern: 0x3F35_04F3)   // XLA's float32(1/sqrt2)
        XCTAssertEqual(invSqrt2, 1 / sqrt2)
        XCTAssertEqual(XLAMath.erf(-2 * invSqrt2).bitPattern, try bits("a_erf_lower_over_sqrt2"))
        XCTAssertEqual(XLAMath.erf(2 * invSqrt2).bitPattern, try bits("b_erf_upper_over_sqrt2"))
        XCTAssertEqual(Float(-2).nextUp.bitPattern, try bits("clip_low"))
        XCTAssertEqual(Float(2).nextDown.bitPattern, try bits("clip_high"))
        XCTAssertEqual(Float(-1).nextUp.bitPattern, try bits("normal_uniform_low"))
        XCTAssertEqual(Float(0.87962566103423978 as Double).bitPattern, try bits("lecun_normal_stddev_divisor"))
    }

    /// The seed's 4-way scheme (train.py) for 1 and 8 devices, steps 0 and 1.
    func testSeedUsage() throws {
        let root = try G.dict(Golden.json("prng.json"))
        let u = try G.dict(root["seed_usage"])
        let key = PRNGKey(seed: try G.int64(u["seed"]))
        XCTAssertEqual(key, try G.key(u["key"]))
        let s4 = try G.dict(u["split4"])
        let four = key.split(4)
        XCTAssertEqual(four, [try G.key(s4["params"]), try G.key(s4["dropout"]),
                              try G.key(s4["stochastic_depth"]), try G.key(s4["train"])])
        XCTAssertEqual(four[3].split(1), try G.keys(u["train_rng_per_device_n1"]))
        let devices8 = four[3].split(8)
        XCTAssertEqual(devices8, try G.keys(u["train_rng_per_device_n8"]))
        var rng = devices8[0]
        for step in 0..<2 {
            let rec = try G.dict(u["step\(step)_device0_split3"])
            let three = rng.split(3)
            XCTAssertEqual(three, [try G.key(rec["dropout"]), try G.key(rec["stochastic_depth"]), try G.key(rec["next"])])
            rng = three[2]
        }
        let all8 = try G.list(u["step0_split3_all_8_devices"])
        XCTAssertEqual(all8.count, 8)
        for (d, rec) in all8.enumerated() {
            XCTAssertEqual(devices8[d].split(3), try G.keys(rec), "device \(d)")
        }
    }

    /// The 3-way variant: split(root, 3), each split in 2, dropout split 8 ways.
    func testBriefUsage() throws {
        let root = try G.dict(Golden.json("prng.json"))
        let u = try G.dict(root["brief_usage"])
        let three = PRNGKey(seed: try G.int64(u["seed"])).split(3)
        XCTAssertEqual(three, try G.keys(u["split3"]))
        let each = try G.list(u["each_split2"])
        for i in 0..<3 { XCTAssertEqual(three[i].split(2), try G.keys(each[i])) }
        XCTAssertEqual(three[1].split(8), try G.keys(u["dropout_split8"]))
    }
}
