import Foundation
import JSON
import SafeTensors
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
        XCTAssertEqual(names, ["augmentations.cnx", "distributed.cnx", "layerscale.cnx", "parity.cnx", "rng.cnx", "schedule.cnx",
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
        // The README quotes these figures: they are what the tour prints.
        let readme = try String(contentsOf: Golden.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let printed = evals.map { TextRenderer.number($0.top1) }
        XCTAssertTrue(readme.contains("it reaches \(printed[0]) val top-1 (\(printed[1]) with the EMA)"),
                      "README's tour figures must be the tour's: eval \(printed[0]), eval --ema \(printed[1])")
    }

    /// The README's 30-second session: its command prints the figures the README shows.
    func testReadmeSessionPrintsTheFiguresItShows() throws {
        let readme = try String(contentsOf: Golden.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try XCTUnwrap(readme.range(of: "$ cnx -c '"))
        let command = String(readme[start.upperBound...].prefix { $0 != "'" })
        let block = readme[start.upperBound...].prefix { $0 != "`" }
        let output = CapturedOutput()
        let status = ScriptRunner(workbench: Workbench(workingDirectory: tmp), options: .init(), output: output).run(command, source: "-c")
        XCTAssertEqual(status, 0, output.stderr.joined(separator: "\n"))
        let printed = Set(output.stdout.joined(separator: "\n").split(separator: "\n").map(String.init))
        // Every figure line of the README's transcript (all but the machine's timings) is printed as shown.
        let figures = block.split(separator: "\n").dropFirst().map(String.init).filter { line in
            !line.contains("…") && !line.hasPrefix("  seconds") && !line.hasPrefix("  img_s") && !line.isEmpty
        }
        XCTAssertGreaterThan(figures.count, 20)
        for line in figures { XCTAssertTrue(printed.contains(line), "README shows a line cnx does not print: \(line)") }
    }

    /// The MPI lesson also runs in one process (at its per-process batch):
    /// 120 mini-steps, 60 updates (accumulate 2), the loss falls, it saves.
    /// (`ExampleUnderMPITests` runs it under mpirun.)
    func testDistributedExampleRunsInOneProcess() throws {
        let r = try run("distributed.cnx")
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"))
        let s = r.workbench.snapshot
        XCTAssertEqual(s.counters.miniSteps, 120)
        XCTAssertEqual(s.counters.optimizerSteps, 60)
        XCTAssertEqual(try XCTUnwrap(s.evaluations.last).samples, 200)
        let losses = s.history.map(\.loss)
        let first = losses.prefix(20).reduce(0, +) / 20, last = losses.suffix(20).reduce(0, +) / 20
        XCTAssertLessThan(last, first, "the mean loss of the last 20 mini-steps")
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("sessions/distributed-demo/CURRENT").path))
    }

    /// The lesson shows a dropped sample's share of its block's gradient is
    /// exactly 0, and compares drop path 0.1 with 0 on the same seed.
    func testStochasticDepthExample() throws {
        let r = try run("stochastic-depth.cnx")
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"))
        // show droppath: np.linspace(0, 0.5, 5) over the blocks.
        let rates = try XCTUnwrap(table(r, "show droppath")).rows.map { number($0[3]) }
        XCTAssertEqual(rates, [0, 0.125, 0.25, 0.375, 0.5])
        let cells = r.workbench.cells
        let shares = try XCTUnwrap(cells.first { $0.command.hasPrefix("show sample-grads") })
        guard case .group(let parts)? = shares.result, case .table(let table)? = parts.first else { return XCTFail("a table of shares") }
        let dropped = table.rows.filter { $0[1] == .string("dropped") }, kept = table.rows.filter { $0[1] == .string("kept") }
        XCTAssertFalse(dropped.isEmpty, "drop path 0.5 drops some samples at the last block")
        XCTAssertFalse(kept.isEmpty)
        XCTAssertTrue(dropped.allSatisfy { $0[2] == .float(0) }, "a dropped sample contributes exactly nothing")
        XCTAssertTrue(kept.allSatisfy { if case .float(let g) = $0[2] { return g > 0 } else { return false } })
        // Two comparable runs on one seed: drop path 0.1, then 0.
        let s = r.workbench.snapshot
        let run2 = try XCTUnwrap(s.runLog.finished.first { $0.number == 2 })
        XCTAssertTrue(run2.model.hasSuffix("drop-path 0.1"), run2.model)
        XCTAssertEqual(run2.steps, 150)
        XCTAssertNotNil(run2.lastEval)
        XCTAssertEqual(s.modelConfig?.dropPathRate, 0)
        XCTAssertEqual(s.counters.miniSteps, 150)
        let overlay = try XCTUnwrap(cells.last)
        guard case .series(let series)? = overlay.result else { return XCTFail("the lesson ends with the overlay") }
        XCTAssertEqual(series.curves.map(\.x.count), [150, 150])
    }

    /// The first visible step's update is at lr 0, and the lesson says why on screen.
    func testLayerScaleExample() throws {
        let r = try run("layerscale.cnx")
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"))
        let first = try XCTUnwrap(r.workbench.cells.first { $0.command == "step" })
        guard case .group(let parts)? = first.result, case .message(let note)? = parts.last else { return XCTFail("a note under step 1") }
        XCTAssertTrue(note.hasPrefix("note: step 1's update used lr 0 — the warmup starts at --init-lr 0"), note)
        XCTAssertEqual(r.workbench.snapshot.history.first?.learningRate, 0)
        XCTAssertGreaterThan(r.workbench.snapshot.history[1].learningRate, 0)
        // At init every γ is 1e-6 (float32); after 150 steps mean |γ| has grown by orders of magnitude.
        let before = tables(r, "show layerscale")
        XCTAssertEqual(before.count, 2)
        for row in before[0].rows {
            XCTAssertEqual(number(row[1]), 1e-6, accuracy: 1e-12)
            XCTAssertEqual(number(row[2]), Double(Float(1e-6)))
            XCTAssertEqual(number(row[3]), Double(Float(1e-6)))
        }
        for row in before[1].rows { XCTAssertGreaterThan(number(row[1]), 1e-3, "\(row[0])") }
        let one = try XCTUnwrap(record(r, "show layerscale 1"))
        guard case .array(let values)? = one["values"] else { return XCTFail("no values in \(one)") }
        XCTAssertEqual(values.count, 16, "block 1 has 16 channels")
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


    /// The MultiSteps lesson explains its first update at lr 0.
    func testScheduleExample() throws {
        let r = try run("schedule.cnx")
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"))
        let train = try XCTUnwrap(r.workbench.cells.first { $0.command == "train steps 8" })
        guard case .record(let record)? = train.result, case .string(let note)? = record["lr_0"] else { return XCTFail("the lr 0 note") }
        XCTAssertTrue(note.contains("step 4's update used lr 0"), note)
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

    /// Each table once: changing augmentations answers in a line; `show` prints the table.
    func testAugmentationsExample() throws {
        let r = try run("augmentations.cnx")
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"))
        for png in ["aug-plain.png", "aug-recipe.png", "aug-randaugment.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("out/\(png)").path), png)
        }
        let tables = r.workbench.cells.filter { if case .table(let t)? = $0.result { return t.title == "augmentations" } else { return false } }
        XCTAssertEqual(tables.map(\.command), ["data augment show"])
        // The mixed batch: each image's soft label, two classes where Mixup/CutMix mixed it.
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("out/aug-mixed.png").path))
        let mixed = try XCTUnwrap(r.workbench.cells.first { $0.command.hasPrefix("data preview --mixed") })
        guard case .group(let parts)? = mixed.result, case .table(let labels)? = parts.last else { return XCTFail("soft labels") }
        XCTAssertEqual(labels.rows.count, 8)
        XCTAssertTrue(labels.rows.contains { if case .string(let l) = $0[2] { return l.contains(", ") } else { return false } },
                      "a mixed image carries two classes")
        // Train batches carry Mixup/CutMix soft labels with label smoothing; val batches one-hot labels.
        let train = try SafeTensorsFile.read(tmp.appendingPathComponent("out/aug-batch.safetensors"))
        XCTAssertEqual(try train.tensor("x").shape, [4, 64, 64, 3])
        let soft = try train.tensor("labels")
        XCTAssertEqual(soft.shape, [4, 10])
        for i in 0..<4 {
            let row = Array(soft.scalars[(i * 10)..<(i * 10 + 10)])
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(row.min()!, 0.01, accuracy: 1e-6, "smoothing 0.1 over 10 classes")
        }
        let val = try SafeTensorsFile.read(tmp.appendingPathComponent("out/aug-val.safetensors")).tensor("labels")
        XCTAssertTrue(val.scalars.allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertEqual(val.scalars.reduce(0, +), 4)
        let clipped = try XCTUnwrap(r.workbench.cells.first { $0.command.contains("magnitude=15") })
        XCTAssertTrue(TextRenderer().render(clipped.result!).contains("is clipped to 10.0"))
    }

    /// The lesson prints the largest difference between the two logits files: 0.
    func testParityExampleRoundTripsLogitsThroughTimmNames() throws {
        let r = try run("parity.cnx")
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"))
        let a = try SafeTensorsFile.read(tmp.appendingPathComponent("out/parity-logits-a.safetensors")).tensor("logits")
        let b = try SafeTensorsFile.read(tmp.appendingPathComponent("out/parity-logits-b.safetensors")).tensor("logits")
        XCTAssertEqual(a, b, "a Flax → timm → Flax round trip must not change a single logit")
        let diff = try XCTUnwrap(r.workbench.cells.first { $0.command.hasPrefix("tensors diff") })
        let text = TextRenderer().render(diff.result!)
        XCTAssertTrue(text.contains("largest difference: 0.0"), text)
        XCTAssertTrue(text.contains("identical"), text)
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
