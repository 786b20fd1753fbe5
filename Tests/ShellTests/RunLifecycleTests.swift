import Foundation
import JSON
import XCTest
@testable import Shell

/// A training run belongs to its model: building, initialising or importing
/// starts a new one, `train reset` starts over, finished runs are kept.
final class RunLifecycleTests: XCTestCase {
    func ok(_ cells: [Cell], file: StaticString = #filePath, line: UInt = #line) {
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)", file: file, line: line) }
    }

    let build = "model build convnext --depths 1,1,2,1 --dims 16,32,48,64 --classes 10 --image-size 32 --drop-path 0.1; rng seed 42; model init"
    let train = "optim adamw --lr 0.006 --warmup-steps 3 --decay-steps 8 --ema 0.999; train steps 8; eval"

    /// The sequence, word for word but 8 steps for 600: a first
    /// `step`, then the same build, seed and init, gives exactly what a fresh
    /// shell gives.
    func testRerunningTheCellsGivesTheNumbersOfAFreshShell() throws {
        let data = "data synthetic --batch 64"
        let train = "optim adamw --lr 0.006 --warmup-steps 30 --decay-steps 600 --ema 0.999; train steps 8; eval"
        let rerun = Workbench(), fresh = Workbench()
        let cells = runCommands("\(data); \(build); optim adamw; step; \(build); \(train)", workbench: rerun)
        ok(cells)
        ok(runCommands("\(data); \(build); \(train)", workbench: fresh))
        let a = rerun.snapshot, b = fresh.snapshot
        XCTAssertEqual(a.params, b.params)
        XCTAssertEqual(a.emaState, b.emaState)
        XCTAssertEqual(a.counters, b.counters)
        XCTAssertEqual(a.history.map(\.loss), b.history.map(\.loss))
        XCTAssertEqual(a.evaluations, b.evaluations)
        XCTAssertEqual(a.evaluations.last?.step, 8, "eval at step 8, not 9")
        // The rebuild said, in one line, that the first run ended.
        let rebuilt = cells.filter { $0.command.hasPrefix("model build") }[1]
        let note = try XCTUnwrap(recordField(rebuilt, "run"))
        XCTAssertTrue(note.hasPrefix("run 1 ended (1 step and the optimizer state"), note)
        // The first run is kept; the second is current.
        XCTAssertEqual(a.runLog.finished.map(\.steps), [1])
        XCTAssertEqual(a.runLog.current, 2)
    }

    /// `train reset` starts the run over: the same commands give the same numbers.
    func testTrainResetStartsOverWithTheSameNumbers() throws {
        let w = Workbench()
        ok(runCommands("data synthetic --count 160 --val-count 40 --batch 16; \(build); \(train)", workbench: w))
        let first = w.snapshot
        let reset = runCommands("train reset", workbench: w)
        ok(reset)
        XCTAssertEqual(recordField(reset[0], "run"), "run 1 ended (8 steps, 1 evaluation and the optimizer and EMA state — kept for `runs` and `show loss --compare 1`); run 2 starts at step 0")
        XCTAssertEqual(w.snapshot.counters.miniSteps, 0)
        XCTAssertNil(w.snapshot.optimizerState)
        ok(runCommands("train steps 8; eval", workbench: w))
        let second = w.snapshot
        XCTAssertEqual(first.params, second.params)
        XCTAssertEqual(first.history.map(\.loss), second.history.map(\.loss))
        XCTAssertEqual(first.evaluations, second.evaluations)

        // `runs` lists both; `show loss --compare 1` overlays them.
        let runs = runCommands("runs", workbench: w)[0]
        guard case .table(let table)? = runs.result else { return XCTFail("runs gives a table") }
        XCTAssertEqual(table.rows.count, 2)
        XCTAssertEqual(table.rows[0][0], .string("1"))
        XCTAssertEqual(table.rows[1][0], .string("2 (current)"))
        XCTAssertEqual(table.rows[0][3], .int(8))
        XCTAssertEqual(table.rows[0][4], .float(first.history.last!.loss))
        XCTAssertEqual(table.rows[0][5], .double(first.evaluations.last!.top1))
        let compare = runCommands("show loss --compare 1 --plot", workbench: w)[0]
        guard case .series(let series)? = compare.result else { return XCTFail(compare.error ?? "a series") }
        XCTAssertEqual(series.curves.count, 2)
        XCTAssertEqual(series.curves[0].y, first.history.map { Double($0.loss) })
        let text = TextRenderer(width: 80).render(compare.result!)
        XCTAssertTrue(text.contains("● run 1: custom 1,1,2,1 x 16,32,48,64"), text)
        XCTAssertTrue(text.contains("○ run 2 (current)"), text)
        XCTAssertTrue(text.split(separator: "\n").allSatisfy { $0.count <= 80 }, text)
        XCTAssertEqual(runCommands("show loss --compare 7", workbench: w)[0].error, "no run 7: runs are 1, 2 (`runs` lists them)")
    }

    /// Building without ever stepping discards nothing and says nothing;
    /// `params import` starts a new run too.
    func testQuietWhenNothingIsLostAndImportStartsARun() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-runs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = Workbench(workingDirectory: dir)
        let cells = runCommands("data synthetic --count 160 --val-count 40 --batch 16; \(build); \(build)", workbench: w)
        ok(cells)
        XCTAssertTrue(cells.allSatisfy { recordField($0, "run") == nil })
        ok(runCommands("params export p.safetensors; optim adamw; train steps 2; params import p.safetensors", workbench: w))
        let imported = w.cells.last!
        guard case .message(let text)? = imported.result else { return XCTFail("import gives a message") }
        XCTAssertTrue(text.hasSuffix("run 1 ended (2 steps and the optimizer state — kept for `runs` and `show loss --compare 1`); run 2 starts at step 0"), text)
        XCTAssertEqual(w.snapshot.counters.miniSteps, 0)
        XCTAssertTrue(w.snapshot.history.isEmpty)
        // The status shows the run and that the model is initialised.
        let status = runCommands("status", workbench: w)[0]
        XCTAssertEqual(recordField(status, "run"), "2 (1 finished: `runs`)")
    }

    /// The issue's `session load tour; model build atto …; status`: the new
    /// model's status shows none of the loaded run's steps or eval.
    func testABuildAfterSessionLoadShowsNothingOfTheLoadedRun() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-runs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = Workbench(workingDirectory: dir)
        ok(runCommands("data synthetic --count 160 --val-count 40 --batch 16; \(build); \(train); session save tour", workbench: w))
        ok(runCommands("session load tour; model build atto --classes 10 --image-size 32", workbench: w))
        let status = runCommands("status", workbench: w)[0]
        XCTAssertEqual(recordField(status, "model"), "convnext_atto, 10 classes, 32px, not initialised")
        guard case .record(let r)? = status.result else { return XCTFail("status gives a record") }
        XCTAssertEqual(r["steps"], .int(0))
        XCTAssertNil(r["last_eval"], "the loaded run's eval belongs to the loaded model")
        XCTAssertNil(r["last_loss"])
    }

    /// Top-5 with fewer than 5 classes, and the update ratio of zero weights, are undefined: `–`.
    func testUndefinedNumbersShowAsDashes() throws {
        let w = Workbench()
        ok(runCommands("data synthetic --classes 4 --count 64 --val-count 16 --batch 8; model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32; model init; optim adamw; step; eval", workbench: w))
        let eval = w.cells.last!
        guard case .record(let r)? = eval.result else { return XCTFail("eval gives a record") }
        XCTAssertEqual(r.fields.first { $0.0 == "top5" }?.1, .null)
        let line = TextRenderer().render(eval.result!).split(separator: "\n").first { $0.hasPrefix("  top5 ") }
        XCTAssertEqual(line?.split(separator: " ").last, "–")
        let update = runCommands("show update", workbench: w)[0]
        guard case .table(let t)? = update.result else { return XCTFail("show update gives a table") }
        // Biases start at zero: no ratio. Kernels start non-zero: a ratio.
        let bias = try XCTUnwrap(t.rows.first { $0[0] == .string("ConvNeXt_0/Dense_0/bias") || ($0[0].stringValue?.hasSuffix("/bias") ?? false) && $0[2] == .float(0) })
        XCTAssertEqual(bias[3], .null)
        let kernel = try XCTUnwrap(t.rows.first { $0[0].stringValue?.hasSuffix("/kernel") ?? false })
        if case .float(let ratio) = kernel[3] { XCTAssertGreaterThan(ratio, 0) } else { XCTFail("a kernel has a ratio") }
    }

    func recordField(_ cell: Cell, _ key: String) -> String? {
        guard case .record(let r)? = cell.result, let value = r.fields.first(where: { $0.0 == key })?.1 else { return nil }
        if case .string(let s) = value { return s }
        return nil
    }
}

private extension JSONValue {
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
}
