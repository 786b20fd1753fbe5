import Foundation
import XCTest
@testable import JaxRandom

final class KeyTreeTests: XCTestCase {
    func testSeedMakesTheSeedsFourWaySplit() throws {
        let tree = KeyTree(seed: 42)
        XCTAssertEqual(tree.names, ["root", "params", "dropout", "stochastic_depth", "train", "train/0", "data"])
        XCTAssertEqual(try tree.key("root"), PRNGKey(0, 42))
        // prng.json seed_usage split4 (the dev numbers in golden/README.md).
        XCTAssertEqual(try tree.key("params"), PRNGKey(1_832_780_943, 270_669_613))
        XCTAssertEqual(try tree.key("dropout"), PRNGKey(64_467_757, 2_916_123_636))
        XCTAssertEqual(try tree.key("stochastic_depth"), PRNGKey(2_465_931_498, 255_383_827))
        XCTAssertEqual(try tree.key("train"), PRNGKey(3_134_548_294, 894_150_801))
        XCTAssertEqual(try tree.entry("dropout").lineage, "split(root, 4)[1]")
        XCTAssertEqual(try tree.entry("train/0").lineage, "split(train, 1)[0]")
        // cnx's own data key: the next index after the seed's four.
        XCTAssertEqual(try tree.entry("data").lineage, "split(root, 5)[4]")
        XCTAssertNotEqual(try tree.key("data"), try tree.key("train"))
        XCTAssertEqual(try tree.entry("root").lineage, "PRNGKey(42)")
        XCTAssertEqual(tree.step, 0)
    }

    func testUnknownNameIsATypedOneLineError() {
        let tree = KeyTree(seed: 0)
        XCTAssertThrowsError(try tree.key("dropuot")) { error in
            XCTAssertEqual(error as? KeyTreeError, .unknownKey("dropuot", known: tree.names))
            let text = "\(error)"
            XCTAssertTrue(text.contains("unknown key 'dropuot'"), text)
            XCTAssertTrue(text.contains("dropout"), text)
            XCTAssertFalse(text.contains("\n"))
        }
    }

    func testSplitAddsChildrenEqualToSplit() throws {
        var tree = KeyTree(seed: 42)
        let names = try tree.split("dropout", 8)
        XCTAssertEqual(names, (0..<8).map { "dropout/\($0)" })
        let dropout = try tree.key("dropout")
        for i in 0..<8 {
            XCTAssertEqual(try tree.key("dropout/\(i)"), dropout.split(8)[i])
            XCTAssertEqual(try tree.entry("dropout/\(i)").lineage, "split(dropout, 8)[\(i)]")
        }
        // brief_usage dropout_split8[0].
        XCTAssertEqual(try tree.key("dropout/0"), PRNGKey(3_187_376_881, 129_218_101))
        XCTAssertThrowsError(try tree.split("dropout", 0)) { XCTAssertEqual($0 as? KeyTreeError, .invalidSplitCount(0)) }
        XCTAssertThrowsError(try tree.split("dropout", -3)) { XCTAssertEqual($0 as? KeyTreeError, .invalidSplitCount(-3)) }
        XCTAssertThrowsError(try tree.split("nope", 2))
    }

    func testFoldAndFlaxChildren() throws {
        var tree = KeyTree(seed: 42)
        let name = try tree.fold("params", 7)
        XCTAssertEqual(name, "params@7")
        XCTAssertEqual(try tree.key(name), try tree.key("params").foldIn(7))
        XCTAssertEqual(try tree.entry(name).lineage, "fold_in(params, 7)")
        // The worked example: Conv_1 kernel key of block 01_01.
        let (child, key) = try tree.flax("params", modulePath: ["ConvNeXtBackbone_0", "BottleneckConvNeXtBlock_01_01", "Conv_1"])
        XCTAssertEqual(child, "params/ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/Conv_1")
        XCTAssertEqual(key, PRNGKey(3_884_193_508, 4_030_088_738))
        XCTAssertThrowsError(try tree.flax("params", modulePath: ["Dense_0"], counter: 0))
        XCTAssertThrowsError(try tree.fold("params", 1, as: "has space")) {
            XCTAssertEqual($0 as? KeyTreeError, .invalidName("has space"))
        }
    }

    func testSetAndRederive() throws {
        var tree = KeyTree(seed: 7)
        try tree.split("params", 2)
        try tree.set("root", 0, 42)
        // Re-deriving from the new root gives the seed-42 tree.
        let fresh = KeyTree(seed: 42)
        for n in ["params", "dropout", "stochastic_depth"] { XCTAssertEqual(try tree.key(n), try fresh.key(n)) }
        XCTAssertEqual(try tree.key("params/1"), try fresh.key("params").splitKey(1))
        try tree.set("mine", 1, 2)
        XCTAssertEqual(try tree.key("mine"), PRNGKey(1, 2))
        XCTAssertEqual(try tree.entry("mine").lineage, "set")
    }

    func testUseCounterReportsReuse() throws {
        var tree = KeyTree(seed: 42)
        let first = try tree.sample("dropout", .uniform, count: 4)
        XCTAssertFalse(first.use.isReuse)
        XCTAssertEqual(first.values, .floats(Random.uniform(try tree.key("dropout"), count: 4)))
        XCTAssertTrue(tree.reused.isEmpty)
        let second = try tree.sample("dropout", .normal, count: 2)
        XCTAssertTrue(second.use.isReuse)
        XCTAssertEqual(second.use.uses, 2)
        XCTAssertEqual(tree.reused.map(\.name), ["dropout"])
        // Bad requests do not count as uses.
        XCTAssertThrowsError(try tree.sample("params", .uniform, count: -1)) { XCTAssertEqual($0 as? KeyTreeError, .negativeCount(-1)) }
        XCTAssertThrowsError(try tree.sample("params", .bernoulli(1.5), count: 3)) {
            XCTAssertEqual($0 as? KeyTreeError, .invalidProbability(1.5))
        }
        XCTAssertEqual(try tree.entry("params").uses, 0)
        // Looking is not drawing.
        _ = try tree.key("params")
        XCTAssertEqual(try tree.entry("params").uses, 0)
    }

    /// The seed's train.py (prng.json seed_usage and golden/README.md):
    /// params, dropout, stochastic_depth, train = split(root, 4); device 0's
    /// key split(train, 1)[0]; each step dropout, stochastic_depth, next =
    /// split(rng, 3).
    func testAdvanceTrainStepFollowsTheSeed() throws {
        var tree = KeyTree(seed: 42)
        XCTAssertEqual(tree.schedule, .seed)
        XCTAssertEqual(try tree.key("params"), PRNGKey(1_832_780_943, 270_669_613))
        XCTAssertEqual(try tree.key("dropout"), PRNGKey(64_467_757, 2_916_123_636))
        XCTAssertEqual(try tree.key("stochastic_depth"), PRNGKey(2_465_931_498, 255_383_827))
        XCTAssertEqual(try tree.key("train"), PRNGKey(3_134_548_294, 894_150_801))
        XCTAssertEqual(try tree.key("train/0"), PRNGKey(2_463_158_877, 4_047_937_370))
        XCTAssertEqual(try tree.key("data"), PRNGKey(seed: 42).splitKey(4))
        XCTAssertThrowsError(try tree.key(KeyTree.stepKeyName("stochastic_depth")), "no step key before a step")
        let now = try tree.advanceTrainStep()
        XCTAssertEqual(now.dropout, PRNGKey(1_117_349_199, 516_805_072))
        XCTAssertEqual(now.stochasticDepth, PRNGKey(3_887_732_801, 3_627_665_616))
        XCTAssertEqual(try tree.key("step/stochastic_depth"), now.stochasticDepth)
        XCTAssertEqual(try tree.key("train/0"), PRNGKey(4_259_745_679, 3_873_525_537))
        XCTAssertEqual(try tree.entry("step/dropout").lineage, "split(train/0, 3)[0] at step 0")
        XCTAssertEqual(try tree.entry("train/0").lineage, "split(train/0, 3)[2] at step 0")
        XCTAssertEqual(try tree.key("dropout"), PRNGKey(64_467_757, 2_916_123_636), "the init rngs stay")
        XCTAssertEqual(tree.step, 1)
        // A per-layer key under the step key follows the next step.
        let path = ["ConvNeXtBackbone_0", "BottleneckConvNeXtBlock_03_01", "StochasticDepth_0"]
        let (layer, k1) = try tree.flax("step/stochastic_depth", modulePath: path)
        XCTAssertEqual(k1, PRNGKey(4_281_206_203, 169_552_881), "golden/README.md's worked example")
        let rng1 = try tree.key("train/0")
        try tree.advanceTrainStep()
        XCTAssertEqual(try tree.key("step/stochastic_depth"), rng1.splitKey(1))
        XCTAssertEqual(try tree.key(layer), FlaxRNG.moduleKey(rng1.splitKey(1), path: path, counter: 1))
        XCTAssertEqual(try tree.key("train/0"), rng1.splitKey(2))
    }

    /// A tree saved before the seed's schedule (no `schedule` field)
    /// continues with its own: index 0 of split(stream, 2) used now, index 1
    /// carried forward (prng.json brief_usage each_split2).
    func testTreesSavedBeforeTheSeedScheduleKeepTheirs() throws {
        var legacy = try JSONDecoder().decode(KeyTree.self, from: Data("""
            {"entries": [
              {"name": "root", "key": {"k0": 0, "k1": 42}, "derivation": {"seed": {"_0": 42}}, "uses": 0},
              {"name": "dropout", "key": {"k0": 64467757, "k1": 2916123636}, "parent": "root", "derivation": {"split": {"index": 1, "count": 3}}, "uses": 0},
              {"name": "stochastic_depth", "key": {"k0": 2465931498, "k1": 255383827}, "parent": "root", "derivation": {"split": {"index": 2, "count": 3}}, "uses": 0}],
             "seedValue": 42, "step": 0}
            """.utf8))
        XCTAssertEqual(legacy.schedule, .streams)
        let d0 = try legacy.key("dropout"), s0 = try legacy.key("stochastic_depth")
        let now = try legacy.advanceTrainStep()
        XCTAssertEqual(now.dropout, PRNGKey(3_187_376_881, 129_218_101))
        XCTAssertEqual(now.stochasticDepth, PRNGKey(1_605_747_716, 4_117_073_388))
        XCTAssertEqual(now.stochasticDepth, s0.splitKey(0))
        XCTAssertEqual(try legacy.key("dropout"), d0.splitKey(1))
        XCTAssertEqual(try legacy.entry("step/dropout").lineage, "split(dropout, 2)[0] at step 0")
        // Re-encoded, it keeps its schedule; a new seed moves it to the seed's.
        let back = try JSONDecoder().decode(KeyTree.self, from: try JSONEncoder().encode(legacy))
        XCTAssertEqual(back.schedule, .streams)
        legacy.seed(42)
        XCTAssertEqual(legacy.schedule, .seed)
    }

    func testCodableRoundTrip() throws {
        var tree = KeyTree(seed: -7)
        try tree.split("params", 3)
        try tree.fold("dropout", 5)
        try tree.advanceTrainStep()
        try tree.draw("params/2")
        try tree.draw("params/2")
        let data = try JSONEncoder().encode(tree)
        let back = try JSONDecoder().decode(KeyTree.self, from: data)
        XCTAssertEqual(back, tree)
        XCTAssertEqual(back.reused.map(\.name), ["params/2"])
        XCTAssertEqual(back.seedValue, -7)
        XCTAssertEqual(try back.key("root"), PRNGKey(0, 0xFFFF_FFF9))
    }

    func testDistributionParsing() throws {
        XCTAssertEqual(try Distribution(parsing: "bits"), .bits)
        XCTAssertEqual(try Distribution(parsing: "uniform"), .uniform)
        XCTAssertEqual(try Distribution(parsing: "normal"), .normal)
        XCTAssertEqual(try Distribution(parsing: "truncated_normal"), .truncatedNormal(lower: -2, upper: 2))
        XCTAssertEqual(try Distribution(parsing: "truncated_normal:-1,3"), .truncatedNormal(lower: -1, upper: 3))
        XCTAssertEqual(try Distribution(parsing: "bernoulli:0.3"), .bernoulli(0.3))
        XCTAssertEqual(try Distribution(parsing: "permutation"), .permutation)
        XCTAssertThrowsError(try Distribution(parsing: "bernoulli:1.2")) { XCTAssertEqual($0 as? KeyTreeError, .invalidProbability(1.2)) }
        XCTAssertThrowsError(try Distribution(parsing: "bernoulli:-0.1"))
        XCTAssertThrowsError(try Distribution(parsing: "bernoulli"))
        XCTAssertThrowsError(try Distribution(parsing: "gauss")) { XCTAssertEqual($0 as? KeyTreeError, .unknownDistribution("gauss")) }
        XCTAssertThrowsError(try Distribution(parsing: "truncated_normal:3,1"))
        for text in ["bits", "uniform", "normal", "truncated_normal", "bernoulli:0.25", "permutation"] {
            XCTAssertEqual(try Distribution(parsing: text).description, text)
        }
        let key = PRNGKey(seed: 0)
        XCTAssertEqual(try Distribution.permutation.sample(key, count: 10), .ints(Random.permutation(key, n: 10)))
        XCTAssertEqual(try Distribution.bits.sample(key, count: 5), .bits(Random.bits(key, count: 5)))
    }
}
