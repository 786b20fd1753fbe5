import Foundation
import SafeTensors
import Sessions
import TestSupport
import XCTest
@testable import Shell

/// Every teaching script in examples/ runs through `cnx run`'s runner, and
/// each test checks the result the script is there to show (the tour's
/// accuracy, the drop counts, γ's growth, the schedule's values …) from the
/// cells' structured results, not only the exit status.
final class ExamplesTests: XCTestCase {
    var tmp: URL!
    typealias ScriptRun = (status: Int32, workbench: Workbench, errors: [String])

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-examples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// Runs examples/NAME in a fresh workbench whose working directory is a temp folder.
    func run(_ name: String) throws -> ScriptRun {
        let url = Golden.repoRoot.appendingPathComponent("examples/\(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        let workbench = Workbench(workingDirectory: tmp)
        let output = CapturedOutput()
        let status = ScriptRunner(workbench: workbench, options: .init(), output: output).run(text, source: name)
        return (status, workbench, output.stderr)
    }

    func testEveryExampleIsTested() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Golden.repoRoot.appendingPathComponent("examples").path)
            .filter { $0.hasSuffix(".cnx") }.sorted()
        XCTAssertEqual(names, ["augmentations.cnx", "layerscale.cnx", "parity.cnx", "rng.cnx", "schedule.cnx",
                               "stochastic-depth.cnx", "tour.cnx"], "add a test for each new example")
    }

    func testTourLearnsAboveNinetyPercent() throws {
        let r = try run("tour.cnx")
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"))
        let evals = r.workbench.snapshot.evaluations
        XCTAssertEqual(evals.count, 2, "eval and eval --ema")
        for e in evals {
            XCTAssertGreaterThanOrEqual(e.top1, 0.9, "val top-1 \(e.top1) (ema: \(e.ema)) after the tour's training")
        }
        // LayerScale grew from its 1e-6 init.
        let gamma = r.workbench.snapshot.params!["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_04_01/LayerScale_0/scale"]!
        XCTAssertGreaterThan(gamma.scalars.map(abs).max()!, 1e-3)
    }

    func testStochasticDepthExampleDropsWholeSamplesAtTheLinspaceRates() throws {
        let r = try expectSuccess("stochastic-depth.cnx")
        // show droppath: np.linspace(0, 0.5, 5) over the blocks.
        let rates = try XCTUnwrap(table(r, "show droppath")).rows.map { number($0[3]) }
        XCTAssertEqual(rates, [0, 0.125, 0.25, 0.375, 0.5])
        // show activations after each of the two stepped forwards: which samples each block dropped.
        let passes = tables(r, "show activations")
        XCTAssertEqual(passes.count, 2)
        var dropped: [[[Int]]] = []
        for t in passes {
            XCTAssertEqual(t.rows.count, 5)
            XCTAssertEqual(t.rows[0][5], .string("–"), "block 1 (rate 0) has no StochasticDepth module")
            dropped.append(t.rows.dropFirst().map { row in
                guard case .string(let text) = row[5], text != "none" else { return [] }
                return text.split(separator: ",").compactMap { Int($0) }
            })
        }
        for pass in dropped { for samples in pass { XCTAssertTrue(samples.allSatisfy { (0..<16).contains($0) }, "\(samples)") } }
        // Expected drops over both passes: 2 * 16 * (0.125 + 0.25 + 0.375 + 0.5) = 40 (std ≈ 5).
        let total = dropped.joined().reduce(0) { $0 + $1.count }
        XCTAssertTrue((20...60).contains(total), "\(total) samples dropped over two steps, expected about 40")
        XCTAssertNotEqual(dropped[0], dropped[1], "the stochastic_depth key is split afresh every step")
        // 150 steps with heavy drop path still learn: better than chance (10 classes).
        let top1 = try XCTUnwrap(r.workbench.snapshot.evaluations.last).top1
        XCTAssertGreaterThan(top1, 0.1, "val top-1 \(top1)")
    }

    func testLayerScaleExampleGrowsGammaFromItsInit() throws {
        let r = try expectSuccess("layerscale.cnx")
        let before = tables(r, "show layerscale")
        XCTAssertEqual(before.count, 2)
        // At init every γ is 1e-6 (float32); after 150 steps mean |γ| has grown by orders of magnitude.
        for row in before[0].rows {
            XCTAssertEqual(number(row[1]), 1e-6, accuracy: 1e-12)
            XCTAssertEqual(number(row[2]), Double(Float(1e-6)))
            XCTAssertEqual(number(row[3]), Double(Float(1e-6)))
        }
        for row in before[1].rows { XCTAssertGreaterThan(number(row[1]), 1e-3, "\(row[0])") }
        let one = try XCTUnwrap(record(r, "show layerscale 1"))
        guard case .array(let values)? = one["values"] else { return XCTFail("no values in \(one)") }
        XCTAssertEqual(values.count, 16, "block 1 has 16 channels")
        // LayerScale is excluded from weight decay (the seed's mask).
        let updates = try XCTUnwrap(table(r, "show update LayerScale"))
        XCTAssertEqual(updates.rows.count, 5)
        XCTAssertTrue(updates.rows.allSatisfy { $0[4] == .bool(false) })
    }

    func testRNGExampleShowsReuseSplitAndFold() throws {
        let r = try expectSuccess("rng.cnx")
        let draws = records(r, "rng sample dropout uniform 4")
        XCTAssertEqual(draws.count, 2)
        XCTAssertEqual(draws[0]["values"], draws[1]["values"], "the same key gives the same numbers")
        XCTAssertNil(draws[0]["warning"])
        XCTAssertNotNil(draws[1]["warning"], "drawing twice from one key warns")
        let child0 = try XCTUnwrap(record(r, "rng sample dropout/0 uniform 4"))["values"]
        let child1 = try XCTUnwrap(record(r, "rng sample dropout/1 uniform 4"))["values"]
        XCTAssertNotEqual(child0, child1)
        XCTAssertNotEqual(child0, draws[0]["values"])
        // fold_in(dropout, 1) is split(dropout, 2)[1]: the same words.
        let keys = try XCTUnwrap(table(r, "rng show dropout")).rows
        func words(_ name: String) -> [JSONValue]? { keys.first { $0[0] == .string(name) }.map { Array($0[2...3]) } }
        XCTAssertNotNil(words("dropout@1"))
        XCTAssertEqual(words("dropout@1"), words("dropout/1"))
        // Every train step splits train/0 in three: the step's dropout and stochastic-depth keys, and train/0 carried on.
        let afterStep1 = try XCTUnwrap(tables(r, "rng show").last).rows
        func row(_ rows: [[JSONValue]], _ name: String) -> [JSONValue]? { rows.first { $0[0] == .string(name) } }
        for (name, index) in [("step/dropout", 0), ("step/stochastic_depth", 1), ("train/0", 2)] {
            XCTAssertEqual(row(afterStep1, name)?[1], .string("split(train/0, 3)[\(index)] at step 0"), name)
        }
        let afterStep2 = try XCTUnwrap(table(r, "rng show train/0")).rows
        XCTAssertNotNil(row(afterStep2, "train/0"))
        XCTAssertNotEqual(row(afterStep1, "train/0").map { Array($0[2...3]) }, row(afterStep2, "train/0").map { Array($0[2...3]) },
                          "train/0 moves on every step")
    }

    func testScheduleExampleWarmsUpDecaysAndAccumulates() throws {
        let r = try expectSuccess("schedule.cnx")
        let lr = try XCTUnwrap(table(r, "show lr --at 0,1,10,20,50,99,100,200")).rows
        let at = Dictionary(uniqueKeysWithValues: lr.map { (Int(number($0[0])), number($0[1])) })
        XCTAssertEqual(at[0], 0)
        XCTAssertEqual(at[10]!, 0.002, accuracy: 1e-7, "halfway through the 20 warmup steps")
        XCTAssertEqual(at[20]!, 0.004, accuracy: 1e-7, "the peak at the end of warmup")
        XCTAssertGreaterThan(at[20]!, at[50]!)
        XCTAssertGreaterThan(at[50]!, at[99]!)
        XCTAssertEqual(at[100]!, 1e-6, accuracy: 1e-9, "the end value once decay is over")
        XCTAssertEqual(at[200]!, 1e-6, accuracy: 1e-9)
        // --accumulate 4: 8 mini-steps make 2 optimizer updates, applied on steps 4 and 8.
        let state = r.workbench.snapshot
        XCTAssertEqual(state.counters.miniSteps, 8)
        XCTAssertEqual(state.counters.optimizerSteps, 2)
        XCTAssertEqual(state.history.filter(\.applied).map(\.step), [4, 8])
    }

    func testAugmentationsExampleWritesGridsAndMixedBatches() throws {
        try expectSuccess("augmentations.cnx")
        for png in ["aug-plain.png", "aug-recipe.png", "aug-randaugment.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("out/\(png)").path), png)
        }
        // Train batches carry Mixup/CutMix soft labels with label smoothing; val batches one-hot labels.
        let train = try SafeTensorsFile.read(tmp.appendingPathComponent("out/aug-batch.safetensors"))
        XCTAssertEqual(try train.tensor("x").shape, [4, 64, 64, 3])
        let soft = try train.tensor("labels")
        XCTAssertEqual(soft.shape, [4, 10])
        var mixed = 0
        for i in 0..<4 {
            let row = Array(soft.scalars[(i * 10)..<(i * 10 + 10)])
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(row.min()!, 0.01, accuracy: 1e-6, "smoothing 0.1 over 10 classes")
            if row.filter({ $0 > 0.011 }).count == 2 { mixed += 1 }
        }
        XCTAssertGreaterThan(mixed, 0, "Mixup/CutMix mixes two classes into some rows")
        let val = try SafeTensorsFile.read(tmp.appendingPathComponent("out/aug-val.safetensors")).tensor("labels")
        XCTAssertTrue(val.scalars.allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertEqual(val.scalars.reduce(0, +), 4)
    }

    func testParityExampleRoundTripsLogitsThroughTimmNames() throws {
        try expectSuccess("parity.cnx")
        let a = try SafeTensorsFile.read(tmp.appendingPathComponent("out/parity-logits-a.safetensors")).tensor("logits")
        let b = try SafeTensorsFile.read(tmp.appendingPathComponent("out/parity-logits-b.safetensors")).tensor("logits")
        XCTAssertEqual(a, b, "a Flax → timm → Flax round trip must not change a single logit")
    }

    @discardableResult
    func expectSuccess(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> ScriptRun {
        let r = try run(name)
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"), file: file, line: line)
        return r
    }

    // MARK: - The structured results of a script's cells

    /// The results of every cell whose command is exactly `command`, in order.
    func results(_ r: ScriptRun, _ command: String) -> [CommandResult] {
        r.workbench.cells.filter { $0.command == command }.compactMap(\.result)
    }

    /// The parts of a result (a group's items, or the result itself).
    func parts(_ result: CommandResult) -> [CommandResult] {
        if case .group(let items) = result { return items.flatMap(parts) }
        return [result]
    }

    func tables(_ r: ScriptRun, _ command: String) -> [Table] {
        results(r, command).compactMap { result in
            parts(result).lazy.compactMap { if case .table(let t) = $0 { return t } else { return nil } }.first
        }
    }

    func table(_ r: ScriptRun, _ command: String) -> Table? { tables(r, command).first }

    func records(_ r: ScriptRun, _ command: String) -> [Record] {
        results(r, command).compactMap { result in
            parts(result).lazy.compactMap { if case .record(let rec) = $0 { return rec } else { return nil } }.first
        }
    }

    func record(_ r: ScriptRun, _ command: String) -> Record? { records(r, command).first }

    func number(_ v: JSONValue) -> Double {
        switch v {
        case .int(let i): return Double(i)
        case .float(let f): return Double(f)
        case .double(let d): return d
        default: XCTFail("not a number: \(v)"); return .nan
        }
    }
}
