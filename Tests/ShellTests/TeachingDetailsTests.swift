import Foundation
import JSON
import Models
import TestSupport
import XCTest
@testable import Shell

/// The details a student trusts: errors name what was typed and where,
/// clipped settings say so, finished schedules say so, decode errors show.
final class TeachingDetailsTests: XCTestCase {
    func testDashCErrorsNameTheCommandsPosition() {
        let output = CapturedOutput()
        let runner = ScriptRunner(workbench: Workbench(), options: .init(), output: output)
        XCTAssertEqual(runner.run("rng seed 1; rng show; rng show nope", source: "-c"), 1)
        XCTAssertEqual(output.stderr.count, 1)
        XCTAssertTrue(output.stderr[0].hasPrefix("-c:3: "), output.stderr[0])
        // A file still names the line.
        let fileOutput = CapturedOutput()
        _ = ScriptRunner(workbench: Workbench(), options: .init(), output: fileOutput).run("rng seed 1; rng show nope", source: "a.cnx")
        XCTAssertTrue(fileOutput.stderr[0].hasPrefix("a.cnx:1: "), fileOutput.stderr[0])
    }

    func testDataSyntheticNamesTheFlagsTyped() {
        let cells = runCommands("data synthetic --count 100 --val-count 3; data synthetic --count 40 --batch 64; data synthetic --count 40 --batch 40")
        XCTAssertEqual(cells[0].error, "--val-count must be at least the class count (10), got 3")
        XCTAssertEqual(cells[1].error, "--batch 64 is larger than the 40 training images: use --batch 40 or less (or more images)")
        XCTAssertNil(cells[2].error)
    }

    func testRandAugmentMagnitudeAboveItsMaximumSaysItIsClipped() {
        let w = Workbench()
        let cells = runCommands("data synthetic --count 100 --batch 10; data augment set randaugment.magnitude=15; data augment set randaugment.magnitude=9", workbench: w)
        guard case .group(let parts)? = cells[1].result, case .message(let note)? = parts.last else {
            return XCTFail("a note follows the table: \(String(describing: cells[1].result))")
        }
        XCTAssertEqual(note, "note: randaugment.magnitude 15.0 is above randaugment.magnitudemax 10.0: every sampled magnitude is clipped to 10.0, as in timm (raise magnitudemax to use it)")
        guard case .message(let line)? = cells[2].result else { return XCTFail("no note within the maximum") }
        XCTAssertEqual(line, "augmentations: set randaugment.magnitude=9; now on: crop, flip (`data augment show` lists every parameter)")
    }

    func testTrainingPastTheScheduleSaysItContinuesAtTheFloor() throws {
        let w = Workbench()
        let cells = runCommands("data synthetic --classes 4 --count 64 --val-count 16 --batch 8; model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32; model init; optim adamw --lr 0.004 --warmup-steps 1 --decay-steps 3; train steps 3; train steps 2", workbench: w)
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)") }
        func note(_ cell: Cell) -> JSONValue? {
            guard case .record(let r)? = cell.result else { return nil }
            return r.fields.first { $0.0 == "note" }?.1
        }
        XCTAssertNil(note(cells[4]), "within the schedule: no note")
        XCTAssertEqual(note(cells[5]), .string("the learning-rate schedule ended at update 3; training continued at its floor, lr 1e-06 (set a longer schedule with `optim adamw --decay-steps N`)"))
    }

    func testSampleGradientsNeedAStepStoppedAfterItsLoss() {
        let cells = runCommands("data synthetic --classes 4 --count 64 --val-count 16 --batch 8; model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32 --drop-path 0.5; model init; optim adamw; show sample-grads BottleneckConvNeXtBlock_04_01; step forward; step loss; show sample-grads Nope; show sample-grads BottleneckConvNeXtBlock_04_01")
        XCTAssertEqual(cells[4].error, "per-sample gradients need a step stopped after its loss: run `step forward` then `step loss` (not yet `step backward`)")
        XCTAssertTrue(cells[7].error?.hasPrefix("no block 'Nope'") ?? false, cells[7].error ?? "no error")
        XCTAssertNil(cells[8].error)
    }

    func testModelBuildWarnsWhenTrainingWouldTakeHours() {
        let cells = runCommands("model build tiny --classes 10; model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 10 --image-size 32")
        func warning(_ c: Cell) -> String? {
            guard case .record(let r)? = c.result, case .string(let w)? = r["warning"] else { return nil }
            return w
        }
        let tiny = warning(cells[0])
        XCTAssertTrue(tiny?.hasPrefix("at 224 px one train step of batch 32 takes about ") ?? false, tiny ?? "no warning")
        XCTAssertNil(warning(cells[1]), "a teaching-sized model trains in minutes")
        // The estimate matches docs/performance.md's measurement: ConvNeXt-T at 224 px, ~4.6 img/s on 2 cores,
        // and the README's 30-second session: the tour's model at 32 px, 3,255 img/s on 2 cores.
        XCTAssertEqual(1 / ComputeEstimate.trainSecondsPerImage(macs: 4_470_000_000, imageSize: 224, cores: 2), 4.6, accuracy: 0.3)
        XCTAssertEqual(1 / ComputeEstimate.trainSecondsPerImage(macs: 659_000, imageSize: 32, cores: 2), 3255, accuracy: 300)
    }

    /// `train steps N` says when N steps would take hours, as the job starts
    /// (the shell prints it above the bar) and again in its summary.
    func testTrainStepsWarnsWhenTheStepsWouldTakeHours() throws {
        let w = Workbench()
        let notices = NoticeLog()
        w.onNotice = { notices.add($0) }
        let cells = runCommands("data synthetic --classes 4 --count 64 --val-count 16 --batch 8; model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32; model init; optim adamw; train steps 2", workbench: w)
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)") }
        XCTAssertEqual(notices.lines, [], "two small steps: no warning")
        guard case .record(let short)? = cells[4].result else { return XCTFail("a summary record") }
        XCTAssertNil(short["warning"])
        // Millions of steps: warned at once; the job is stopped at its first step boundary.
        let long = runCommands("train steps 90000000 &", workbench: w)[0]
        XCTAssertNil(long.error)
        w.cancelRunningJob()
        _ = w.lastJob?.wait(seconds: 60)
        XCTAssertEqual(notices.lines.count, 1)
        let line = notices.lines.first ?? ""
        XCTAssertTrue(line.hasPrefix("warning: 90000000 steps of batch 8 at 32 px take about "), line)
        XCTAssertTrue(line.contains(" h on \(ProcessInfo.processInfo.activeProcessorCount) core"), line)
        guard case .finished(.record(let summary))? = w.lastJob?.outcome else { return XCTFail("the stopped job's summary") }
        XCTAssertEqual(summary["warning"].map { "warning: " + TextRenderer.cell($0) }, line, "the summary repeats it")
        // The estimate behind it: the tour's model trains ~8 s per 100 steps of 64 here, far from an hour.
        XCTAssertNil(ComputeEstimate.trainingWarning(try ConvNeXt(config: ConvNeXtConfig(depths: [1, 1, 2, 1], dims: [16, 32, 48, 64], classes: 10, imageSize: 32)), steps: 900, batch: 64))
    }

    /// float32 values print as the shortest decimal that reads back the same float32.
    func testLearningRatesPrintAsTheShortestRoundTrip() {
        let cells = runCommands("model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32; optim adamw --lr 0.006 --warmup-steps 30 --decay-steps 600; show lr --at 30,31; status")
        let text = cells.compactMap(\.result).map { TextRenderer().render($0) }.joined(separator: "\n")
        XCTAssertTrue(text.contains("peak 0.006,"), text)
        XCTAssertTrue(text.contains("  30         0.006"), text)
        XCTAssertTrue(text.contains("adamw lr 0.006"), text)
        XCTAssertFalse(text.contains("0.00599998") || text.contains("0.006000000"), text)
    }

    func testDataShowListsDecodeErrors() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-decode-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let fixtures = Golden.repoRoot.appendingPathComponent("Tests/DatasetsTests/Fixtures")
        let pngs = try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".png") }.sorted()
        for (i, name) in ["cats", "dogs"].enumerated() {
            let dir = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for png in pngs[(i * 2)..<(i * 2 + 2)] {
                try FileManager.default.copyItem(at: fixtures.appendingPathComponent(png), to: dir.appendingPathComponent(png))
            }
        }
        try Data("not an image".utf8).write(to: root.appendingPathComponent("cats/broken.png"))
        let cells = runCommands("data imagefolder \(root.path) --batch 2; data show")
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)") }
        guard case .group(let parts)? = cells[1].result, case .record(let r)? = parts.first,
              case .string(let errors)? = r.fields.first(where: { $0.0 == "decode_errors" })?.1 else {
            return XCTFail("data show has a decode_errors line")
        }
        XCTAssertTrue(errors.hasPrefix("1 skipped: broken.png ("), errors)
    }
}

/// Notices a workbench said, collected across threads.
final class NoticeLog: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    func add(_ line: String) { lock.withLock { _lines.append(line) } }
    var lines: [String] { lock.withLock { _lines } }
}
