import Datasets
import Foundation
import SafeTensors
import XCTest
@testable import Shell

final class TrainCommandsTests: XCTestCase {
    let setup = """
    data synthetic --count 400 --val-count 40 --batch 8
    model build convnext --depths 1,1,2,1 --dims 16,32,48,64 --classes 10 --image-size 32 --drop-path 0.2
    rng seed 3
    model init
    optim adamw --lr 0.004 --init-lr 1e-4 --warmup-steps 2 --decay-steps 40 --accumulate 2 --ema 0.99
    """

    func ok(_ cells: [Cell], file: StaticString = #filePath, line: UInt = #line) {
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)", file: file, line: line) }
    }

    /// Stopping a job at a step boundary leaves a state from which continuing
    /// gives exactly what never stopping gives.
    func testStoppingAndContinuingEqualsNeverStopping() throws {
        let straight = Workbench()
        ok(runCommands(setup + "\ntrain steps 12", workbench: straight))

        let stopped = Workbench()
        ok(runCommands(setup, workbench: stopped))
        ok(runCommands("train steps 12 &", workbench: stopped))
        Thread.sleep(forTimeInterval: 0.05)
        ok(runCommands("stop; wait", workbench: stopped))
        let done = stopped.snapshot.counters.miniSteps
        XCTAssertLessThanOrEqual(done, 12)
        if done < 12 { ok(runCommands("train steps \(12 - done)", workbench: stopped)) }

        let a = straight.snapshot, b = stopped.snapshot
        XCTAssertEqual(a.params, b.params)
        XCTAssertEqual(a.optimizerState, b.optimizerState)
        XCTAssertEqual(a.emaState, b.emaState)
        XCTAssertEqual(a.keys, b.keys)
        XCTAssertEqual(a.counters, b.counters)
        XCTAssertEqual(a.history.map(\.loss), b.history.map(\.loss))
    }

    /// The debugger-style stages give exactly `train steps 1`.
    func testSteppedCommandsEqualTrainStepsOne() {
        let whole = Workbench(), stepped = Workbench()
        ok(runCommands(setup + "\ntrain steps 1", workbench: whole))
        ok(runCommands(setup + "\nstep forward; show activations; step loss; step backward; show grads; step update; show update", workbench: stepped))
        XCTAssertEqual(whole.snapshot.params, stepped.snapshot.params)
        XCTAssertEqual(whole.snapshot.keys, stepped.snapshot.keys)
        XCTAssertEqual(whole.snapshot.counters, stepped.snapshot.counters)
    }

    func testMissingPiecesAndBadBatchesAreOneLine() {
        let errors = runCommands("train steps 5; data synthetic --count 100; train steps 5; step abort").map { $0.error ?? "ok" }
        XCTAssertTrue(errors[0].hasPrefix("no model yet"), errors[0])
        XCTAssertTrue(errors[2].hasPrefix("no model yet"), errors[2])
        XCTAssertEqual(errors[3], "ok", "step abort with nothing pending is a message, not an error")
        let w = Workbench()
        ok(runCommands(setup, workbench: w))
        let bad = runCommands("train steps 2 --batch 1000; train steps 0; eval --ema", workbench: w).map { $0.error ?? "ok" }
        XCTAssertTrue(bad[0].contains("--batch must be 1…400"), bad[0])
        XCTAssertEqual(bad[1], "N of 'train steps' must be 1…1000000000, got 0")
        XCTAssertTrue(bad[2].hasPrefix("no EMA parameters yet"), bad[2])
    }

    func testMetricsExportAndTrainBatch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = Workbench(workingDirectory: dir)
        ok(runCommands(setup + "\ndata batch --size 4 --out b.safetensors; train batch b.safetensors --steps 3; metrics export m.csv; metrics export m.jsonl", workbench: w))
        let csv = try String(contentsOf: dir.appendingPathComponent("m.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 4, "a header and three steps")
        XCTAssertTrue(csv[0].hasPrefix("step,epoch,loss"))
        let jsonl = try String(contentsOf: dir.appendingPathComponent("m.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(jsonl.count, 3)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(jsonl[0].utf8)) as? [String: Any])
        XCTAssertEqual(runCommands("metrics export m.txt", workbench: w)[0].error, "metrics export writes .jsonl or .csv, not '.txt'")
    }

    /// The script on a real folder of JPEGs and PNGs.
    func testImageFolderScriptOnRealFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-folder-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let synthetic = try SyntheticDataset(classes: 3, size: 40, count: 30, key: .init(seed: 1))
        for split in ["train", "val"] {
            for i in 0..<(split == "train" ? 24 : 6) {
                let image = synthetic.render(i)
                let folder = dir.appendingPathComponent("\(split)/\(synthetic.classNames[synthetic.label(at: i)])")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                if i % 2 == 0 {
                    try PNGCodec.write(image, to: folder.appendingPathComponent("img\(i).PNG"))
                } else {
                    let jpeg = try JPEGCodec.encode(image.pixels, width: image.width, height: image.height, format: .rgb, quality: 90)
                    try Data(jpeg).write(to: folder.appendingPathComponent("img\(i).jpg"))
                }
            }
        }
        try Data("not an image".utf8).write(to: dir.appendingPathComponent("train/circle/broken.jpeg"))
        let w = Workbench(workingDirectory: dir)
        let cells = runCommands("data imagefolder train --val val; data show; data errors; data preview --augment --out p.png; data batch --split val --size 4 --out b.safetensors", workbench: w)
        ok(cells)
        XCTAssertEqual(w.snapshot.data?.splits.classNames, ["circle", "square", "triangle"])
        guard case .table(let errors)? = cells[2].result else { return XCTFail("data errors lists the broken file") }
        XCTAssertTrue(errors.rows.contains { TextRenderer.cell($0[0]).hasSuffix("broken.jpeg") })
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("p.png").path))
        let batch = try SafeTensorsFile.read(dir.appendingPathComponent("b.safetensors"))
        XCTAssertEqual(try batch.tensor("labels").shape, [4, 3])
        XCTAssertEqual(runCommands("data imagefolder nowhere", workbench: w)[0].error.map { !$0.contains("\n") }, true)
    }
}
