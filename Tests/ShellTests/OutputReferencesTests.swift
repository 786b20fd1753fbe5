import Foundation
import JSON
import XCTest
@testable import Shell

/// IPython's `_`, `__`, `_N` and `Out[N]`: alone they show an earlier output
/// again; as a word of a command they stand for the file it wrote.
final class OutputReferencesTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func testAReferenceAloneShowsThatOutputAgain() {
        let cells = runCommands("rng seed 1; rng show; rng show nope; _; Out[1]; __; _2", workbench: Workbench(workingDirectory: directory))
        XCTAssertNotNil(cells[2].error, "a failed cell is not an output")
        XCTAssertEqual(cells[3].result, cells[1].result, "_ is the last output (the failed cell is skipped)")
        XCTAssertEqual(cells[4].result, cells[0].result)
        XCTAssertEqual(cells[5].result, cells[1].result, "__: the output before the last one, Out[4] (a copy of Out[2])")
        XCTAssertEqual(cells[6].result, cells[1].result)
        XCTAssertEqual(cells[3].command, "_", "the cell records what was typed")
    }

    /// The parity lesson's two forwards, compared with references instead of file names.
    func testAReferenceInACommandIsTheFileItsOutputWrote() throws {
        let w = Workbench(workingDirectory: directory)
        let cells = runCommands("""
            data synthetic --classes 4 --count 64 --val-count 16 --batch 8;
            model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32 --drop-path 0.5; rng seed 0; model init;
            data batch --out b.safetensors; forward _ --out eval.safetensors; forward Out[5] --train --out train.safetensors;
            tensors diff _6 _; rng show; forward _ --out x.safetensors
            """, workbench: w)
        for c in cells.prefix(8) where !c.ok { XCTFail("\(c.command): \(c.error!)") }
        let b = directory.appendingPathComponent("b.safetensors").path
        XCTAssertEqual(cells[5].command, "forward \(b) --out eval.safetensors", "recorded with the file, so a replay is exact")
        XCTAssertEqual(cells[6].command, "forward \(b) --train --out train.safetensors")
        XCTAssertEqual(cells[7].command, "tensors diff \(directory.appendingPathComponent("eval.safetensors").path) \(directory.appendingPathComponent("train.safetensors").path)")
        guard case .group(let parts)? = cells[7].result, case .table(let t) = parts[0] else { return XCTFail("tensors diff gives a table") }
        XCTAssertEqual(t.title, "eval.safetensors vs train.safetensors")
        XCTAssertEqual(cells[9].error, "'_' is Out[9] (`rng show`), which wrote no file: as a word of a command, `_` and `Out[N]` stand for the file an output's command wrote (--out, a PNG, params export …)")
    }

    func testReferencesThatNameNoOutputAreRefusedInOneLine() {
        let cells = runCommands("_; rng seed 1; __; Out[7]; tensors diff _1 '_'; help _", workbench: Workbench(workingDirectory: directory))
        XCTAssertEqual(cells[0].error, "'_' refers to the last output, and there are 0 so far")
        XCTAssertEqual(cells[2].error, "'__' refers to the second-to-last output, and there is only 1 so far")
        XCTAssertEqual(cells[3].error, "'Out[7]': cell 7 has no output yet; outputs so far: Out[2]")
        XCTAssertEqual(cells[4].error, "'_1': cell 1 has no output (it failed or showed nothing); outputs so far: Out[2]")
        guard case .record(let help)? = cells[5].result else { return XCTFail("help _ explains the references: \(cells[5].error ?? "")") }
        XCTAssertEqual(help.title, "_ and Out[N]: earlier outputs, as in IPython")
    }

    func testAQuotedUnderscoreIsText() {
        let cells = runCommands("rng seed 1; rng set '_' 1 2", workbench: Workbench(workingDirectory: directory))
        XCTAssertNil(cells[1].error)
    }
}
