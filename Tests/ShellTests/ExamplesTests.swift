import Foundation
import SafeTensors
import TestSupport
import XCTest
@testable import Shell

/// Every teaching script in examples/ runs through `cnx run`'s runner, and
/// the tour's small ConvNeXt really learns the synthetic set.
final class ExamplesTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-examples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// Runs examples/NAME in a fresh workbench whose working directory is a temp folder.
    func run(_ name: String) throws -> (status: Int32, workbench: Workbench, errors: [String]) {
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

    /// The lesson shows a dropped sample's share of its block's gradient is
    /// exactly 0, and compares drop path 0.1 with 0 on the same seed.
    func testStochasticDepthExample() throws {
        let r = try run("stochastic-depth.cnx")
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"))
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
    }

    func testRNGExample() throws { try expectSuccess("rng.cnx") }

    /// The MultiSteps lesson explains its first update at lr 0.
    func testScheduleExample() throws {
        let r = try run("schedule.cnx")
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"))
        let train = try XCTUnwrap(r.workbench.cells.first { $0.command == "train steps 8" })
        guard case .record(let record)? = train.result, case .string(let note)? = record["lr_0"] else { return XCTFail("the lr 0 note") }
        XCTAssertTrue(note.contains("step 4's update used lr 0"), note)
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

    func expectSuccess(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(name)
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"), file: file, line: line)
    }
}
