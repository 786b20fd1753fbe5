import Foundation
import SafeTensors
import Tensors
import XCTest
@testable import Shell

/// One regression test per reproduction of issue 21, through the commands.
final class ReliabilityCommandsTests: XCTestCase {
    let p = "model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 10 --image-size 32; model init; data synthetic --count 200 --batch 8; optim adamw"

    func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-rel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func ok(_ cells: [Cell], file: StaticString = #filePath, line: UInt = #line) {
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)", file: file, line: line) }
    }

    /// The last cell fails with one line containing `fragment`.
    func refused(_ text: String, _ fragment: String, workbench: Workbench = Workbench(), file: StaticString = #filePath, line: UInt = #line) {
        let cells = runCommands(text, workbench: workbench)
        guard let last = cells.last, let error = last.error else { return XCTFail("\(text): not refused", file: file, line: line) }
        XCTAssertTrue(error.contains(fragment), "\(text): \(error)", file: file, line: line)
        XCTAssertFalse(error.contains("\n"), file: file, line: line)
    }

    func testANewBatchSizeNeverIndexesPastTheData() {
        let w = Workbench()
        ok(runCommands(p + "; train steps 5; train steps 1 --batch 50; step --batch 50; step --batch 7", workbench: w))
        XCTAssertEqual(w.snapshot.counters.cursor.sample, 40 + 50 + 50 + 7)
        XCTAssertEqual(w.snapshot.counters.miniSteps, 8)
    }

    func testHugeNumbersAreRefusedWithTheirLimit() {
        refused("model build atto --classes 9223372036854775807", "1…100000")
        refused("bench train --steps 9223372036854775807", "1…100000")
        refused("optim adamw; show lr --to 1e18", "0…2147483647")
        refused("model build atto --image-size 9223372036854775807", "1…4096")
        refused("model build convnext --depths 9223372036854775807,1,1,1 --dims 8,8,8,8", "1…1000")
        refused("bench train --steps 1e9", "1…100000")
        refused("bench infer --classes 1e9 --model atto", "1…100000")
        refused("model build tiny --classes 1e9", "1…100000")
        refused("model build atto --kernel-size 10001", "1…63")
        refused("rng split params 1e9", "1…1000000")
        refused("model build tiny --image-size 100000", "1…4096")
        refused("data synthetic --count 1e9", "1…10000000")
        refused("model build convnext --depths 100,100,100,100 --dims 4096,8192,16384,32768", "parameters; the limit is")
    }

    /// Models, data and previews that cannot fit are refused with the estimate, before allocating.
    func testAllocationsThatCannotFitAreRefusedWithTheEstimate() throws {
        guard let available = Self.available(), available < 100 * 1_073_741_824 else {
            throw XCTSkip("needs a machine with less than 100 GiB available")
        }
        refused("model build convnext --depths 30,30,30,30 --dims 4096,4096,4096,4096 --image-size 32; model init", "needs about")
        refused("data synthetic --count 10000000 --size 1024", "needs about")
        refused("model build atto --image-size 4096; data synthetic; data preview --augment --count 256", "needs about")
        refused("model build tiny --image-size 4096 --classes 10; model init; data synthetic --count 200; optim adamw; train steps 1", "needs about")
        refused("model build tiny --image-size 2048 --classes 10; model init; data synthetic --count 200; eval", "needs about")
        refused("bench train --steps 100000", "needs about")
    }

    static func available() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// `optim adamw --lr 3.4e38; train steps 1; eval; session save good` lost the good session.
    func testOverflowingUpdateIsRolledBackAndTheSessionSurvives() throws {
        let dir = try scratch()
        let w = Workbench(workingDirectory: dir)
        ok(runCommands(p + "; train steps 5; session save good", workbench: w))
        let before = w.snapshot.params
        let cells = runCommands("optim adamw --lr 3.4e38; train steps 1", workbench: w)
        XCTAssertTrue(cells[1].error?.contains("rolled back") == true, cells[1].error ?? "ok")
        XCTAssertEqual(w.snapshot.params, before)
        ok(runCommands("eval; session save good; session load good", workbench: w))
        if case .record(let r)? = runCommands("eval", workbench: w).last?.result, case .double(let loss)? = r["loss"] {
            XCTAssertTrue(loss.isFinite)
        }
    }

    func testNonRegularOutputTargetsAreRefused() throws {
        let dir = try scratch()
        let target = dir.appendingPathComponent("target.txt")
        try Data("keep".utf8).write(to: target)
        let link = dir.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let fifo = dir.appendingPathComponent("fifo")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        let w = Workbench(workingDirectory: dir)
        refused("history save /dev/full", "character device", workbench: w)
        refused("history save \(fifo.path)", "FIFO", workbench: w)
        refused("history save \(link.path)", "symbolic link", workbench: w)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("d.csv"), withIntermediateDirectories: false)
        refused("metrics export \(dir.path)/d.csv", "directory", workbench: w)
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "keep")
        var st = stat()
        XCTAssertEqual(lstat(fifo.path, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
    }

    func testFileErrorsNameThePathAndTheProblem() throws {
        let dir = try scratch()
        refused("model build atto; model init; params import \(dir.path)", "is a directory")
        refused("model build atto; model init; params import /dev/zero", "character device")
        refused("model build atto; model init; params import \(dir.path)/nope.safetensors", "no such file")
    }

    func testBadLabelsAreRefused() throws {
        let dir = try scratch()
        let w = Workbench(workingDirectory: dir)
        ok(runCommands(p + "; data batch --size 4 --out \(dir.path)/b.safetensors", workbench: w))
        let file = try SafeTensorsFile.read(dir.appendingPathComponent("b.safetensors"))
        for (name, bad) in [("neg", Float(-1)), ("nan", Float.nan)] {
            var labels = try file.tensor("labels")
            labels.scalars[0] = bad
            try SafeTensorsFile.write([("x", try file.tensor("x")), ("labels", labels)], to: dir.appendingPathComponent("\(name).safetensors"))
            refused("train batch \(dir.path)/\(name).safetensors", "labels row 0", workbench: w)
            refused("grad \(dir.path)/\(name).safetensors --out \(dir.path)/g.safetensors", "labels row 0", workbench: w)
        }
        XCTAssertEqual(w.snapshot.counters.miniSteps, 0)
    }

    func testCRLFScriptsRunLineByLine() {
        let w = Workbench()
        let runner = ScriptRunner(workbench: w, options: .init(), output: CapturedOutput())
        XCTAssertEqual(runner.run("rng seed 3\r\nrng show\r\n", source: "x.cnx"), 0)
        XCTAssertEqual(w.cells.count, 2)
    }

    func testEscapeBytesInInputAreEscapedInErrors() {
        let cells = runCommands("\u{1B}[31mfoo")
        XCTAssertFalse(cells[0].error!.contains("\u{1B}"))
        XCTAssertTrue(cells[0].error!.contains("\\e[31mfoo"), cells[0].error!)
    }

    func testLongAndHiddenSessionNamesAreExplained() throws {
        let w = Workbench(workingDirectory: try scratch())
        refused("session save \(String(repeating: "a", count: 300))", "at most 255 bytes", workbench: w)
        refused("session save .hidden", "starts with '.'", workbench: w)
    }
}
