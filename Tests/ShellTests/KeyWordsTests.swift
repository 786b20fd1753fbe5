import Foundation
import JaxRandom
import JSON
import XCTest
@testable import Shell

/// Keys print in one format everywhere: hex words in text, integers in
/// `--json` (issue 19), through `KeyWords` and `CellFormat.keyWords`.
final class KeyWordsTests: XCTestCase {
    /// seed 42's params key, `split(PRNGKey(42), 4)[0]` (golden).
    let params = PRNGKey(1_832_780_943, 270_669_613)
    let paramsText = "[0x6d3e048f, 0x1022172d]"

    let tinyModel = "model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 10 --image-size 32 --drop-path 0.1"

    func text(_ cell: Cell) -> String { TextRenderer().render(cell.result!) }
    func json(_ cell: Cell) -> String { cell.result!.json.jsonText }

    func line(_ field: String, in text: String) -> String? {
        text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(field + " ") }.map(String.init)
    }

    func testEveryCommandThatShowsAKeyPrintsHexWordsInTextAndIntegersInJSON() throws {
        let cells = runCommands("""
            data synthetic --batch 8 --count 80; \(tinyModel); rng seed 42; model init;
            rng sample params bits 1; rng show params; optim adamw; step forward
            """)
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)") }
        // model init
        XCTAssertEqual(line("params_key", in: text(cells[3]))?.hasSuffix(paramsText), true, text(cells[3]))
        XCTAssertTrue(json(cells[3]).contains("\"params_key\":[1832780943,270669613]"), json(cells[3]))
        // rng sample
        XCTAssertEqual(line("words", in: text(cells[4]))?.hasSuffix(paramsText), true, text(cells[4]))
        XCTAssertTrue(json(cells[4]).contains("\"words\":[1832780943,270669613]"), json(cells[4]))
        // rng show: one word per column, hex in text, integers in JSON
        XCTAssertTrue(text(cells[5]).contains("0x6d3e048f  0x1022172d"), text(cells[5]))
        XCTAssertTrue(json(cells[5]).contains("1832780943,270669613"), json(cells[5]))
        XCTAssertFalse(json(cells[5]).contains("0x"), "no hex strings in --json")
        // step forward's apply keys: the seed's step-0 keys (golden/README.md)
        let step = text(cells[7])
        XCTAssertEqual(line("dropout_key", in: step)?.hasSuffix("[0x4299654f, 0x1ecdd1d0]"), true, step)
        XCTAssertEqual(line("stochastic_depth_key", in: step)?.hasSuffix("[0xe7ba1841, 0xd839c8d0]"), true, step)
        XCTAssertTrue(json(cells[7]).contains("\"dropout_key\":[1117349199,516805072]"), json(cells[7]))
        // No key anywhere in text as decimal words.
        for c in cells { XCTAssertFalse(text(c).contains("1832780943") || text(c).contains("1,832,780,943"), "\(c.command): \(text(c))") }
    }

    func testRngSetTakesTheWordsAsRngShowPrintsThem() throws {
        let w = Workbench()
        let cells = runCommands("rng set mine 0x6d3e048f 0x1022172d; rng set other 1832780943 270669613; rng set bad 0x1ffffffff 1", workbench: w)
        XCTAssertTrue(cells[0].ok && cells[1].ok, cells.compactMap(\.error).joined())
        XCTAssertEqual(try w.snapshot.keys.key("mine"), params)
        XCTAssertEqual(try w.snapshot.keys.key("other"), params)
        XCTAssertEqual(cells[2].error, "key words are unsigned 32-bit integers, hex as `rng show` prints them (0x0000002a) or decimal (0 … 4294967295), got '0x1ffffffff 1'")
    }

    func testSessionDiffShowsKeysAsHexWords() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = Workbench(workingDirectory: dir)
        let cells = runCommands("rng seed 42; session save a; rng seed 43; session diff a live", workbench: w)
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)") }
        let shown = text(cells[3])
        let paramsRow = shown.split(separator: "\n").first { $0.hasPrefix("keys.params ") }.map(String.init) ?? ""
        XCTAssertTrue(paramsRow.contains(paramsText), shown)
        XCTAssertTrue(json(cells[3]).contains("[\"keys.params\",[1832780943,270669613],"), json(cells[3]))
    }

    func testTheKeyTreeTitleShowsTheSessionsStepAndUsesCountEveryDraw() throws {
        let w = Workbench()
        let cells = runCommands("""
            data synthetic --batch 8 --count 80; \(tinyModel); rng seed 42; model init; optim adamw;
            train steps 2; rng show; \(tinyModel); rng show; model init; rng show
            """, workbench: w)
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)") }
        guard case .table(let afterSteps)? = cells[6].result, case .table(let rebuilt)? = cells[8].result,
              case .table(let reinit)? = cells[10].result else { return XCTFail("rng show gives tables") }
        XCTAssertEqual(afterSteps.title, "key tree (seed 42, step 2; train steps: split(train/0, 3))")
        // A rebuild starts a new run at step 0; the keys stay two steps past the seed and say so.
        XCTAssertEqual(rebuilt.title, "key tree (seed 42, step 0, keys 2 train steps past the seed; train steps: split(train/0, 3))")
        func uses(_ table: Table, _ name: String) -> JSONValue? { table.rows.first { $0[0] == .string(name) }?[4] }
        XCTAssertEqual(uses(afterSteps, "params"), .int(1), "model init drew the params key")
        XCTAssertEqual(uses(afterSteps, "step/dropout"), .int(1), "the last step drew its dropout key")
        XCTAssertEqual(uses(afterSteps, "step/stochastic_depth"), .int(1))
        XCTAssertEqual(uses(reinit, "params"), .int(2), "a second init from the same key is a second draw")
        XCTAssertEqual(reinit.rows.first { $0[0] == .string("params") }?[5], .string("reused!"))
    }

    func testTrainResetDrawsTheParamsKeyWhenItInitialises() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = Workbench(workingDirectory: dir)
        // After `session load` the run's start is not saved: train reset initialises from params.
        let cells = runCommands("\(tinyModel); rng seed 42; model init; session save s; session load s; train reset", workbench: w)
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)") }
        XCTAssertEqual(try w.snapshot.keys.entry("params").uses, 2, "model init, then train reset's init")
    }

    func testTheKeyFormatAppliesOnlyToKeyWords() {
        XCTAssertEqual(TextRenderer.cell(.int(42), format: .keyWords), "0x0000002a")
        XCTAssertEqual(TextRenderer.cell(KeyWords.json(PRNGKey(0, 42)), format: .keyWords), "[0x00000000, 0x0000002a]")
        XCTAssertEqual(TextRenderer.cell(.string("-"), format: .keyWords), "-", "text stays text")
        XCTAssertEqual(TextRenderer.cell(.int(-1), format: .keyWords), "-1", "not a word: printed as it is")
        XCTAssertEqual(PRNGKey.parseWord("0X0000002A"), 42)
        XCTAssertNil(PRNGKey.parseWord("4294967296"))
    }
}
