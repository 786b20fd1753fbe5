import Foundation
import JaxRandom
import XCTest
@testable import Shell

/// Runs commands on a fresh workbench and returns the cells.
func runCommands(_ text: String, workbench: Workbench = Workbench()) -> [Cell] {
    try! Tokenizer.commands(text).map { workbench.execute($0, text: $0.map(\.text).joined(separator: " ")) }
}

final class RNGCommandsTests: XCTestCase {
    func record(_ cell: Cell) throws -> Record {
        guard case .record(let r)? = cell.result else { throw XCTSkip("expected a record, got \(cell.error ?? "\(String(describing: cell.result))")") }
        return r
    }

    func testSampleUsesTheNamedKeyItselfAndWarnsOnReuse() throws {
        let cells = runCommands("rng seed 42; rng sample params uniform 4; rng sample params uniform 4")
        XCTAssertTrue(cells.allSatisfy(\.ok), cells.compactMap(\.error).joined())
        let first = try record(cells[1]), second = try record(cells[2])
        let expected = Random.uniform(PRNGKey(seed: 42).split(3)[0], count: 4)
        XCTAssertEqual(first["values"], .array(expected.map { .float($0) }))
        XCTAssertEqual(first["words"], .array([.int(1832780943), .int(270669613)]), "golden params key for seed 42")
        XCTAssertNil(first["warning"])
        XCTAssertEqual(second["values"], first["values"])
        XCTAssertNotNil(second["warning"])
    }

    func testSplitFoldAndSetMatchJax() throws {
        let workbench = Workbench()
        let cells = runCommands("rng seed 7; rng split dropout 3; rng fold params 5; rng set mine 1 2; rng split mine 2", workbench: workbench)
        XCTAssertTrue(cells.allSatisfy(\.ok), cells.compactMap(\.error).joined())
        let keys = workbench.snapshot.keys
        let dropout = PRNGKey(seed: 7).split(3)[1]
        XCTAssertEqual(try keys.key("dropout/2"), dropout.split(3)[2])
        XCTAssertEqual(try keys.key("params@5"), PRNGKey(seed: 7).split(3)[0].foldIn(5))
        XCTAssertEqual(try keys.key("mine/1"), PRNGKey(1, 2).split(2)[1])
    }

    func testBadInputGivesOneLine() {
        let errors = runCommands("rng sample nope bits 2; rng sample root bernoulli:1.5 3; rng split root -1; rng sample root gauss 2; rng set k 1 99999999999; rng fold root 99999999999")
            .map { $0.error ?? "no error" }
        XCTAssertTrue(errors[0].hasPrefix("unknown key 'nope'"), errors[0])
        XCTAssertTrue(errors[1].contains("outside [0, 1]"), errors[1])
        XCTAssertTrue(errors[2].contains("must be 1…1000000"), errors[2])
        XCTAssertTrue(errors[3].hasPrefix("unknown distribution 'gauss'"), errors[3])
        XCTAssertTrue(errors[4].contains("unsigned 32-bit"), errors[4])
        XCTAssertTrue(errors[5].contains("32 bits"), errors[5])
        XCTAssertTrue(errors.allSatisfy { !$0.contains("\n") })
    }

    func testFloatValuesRoundTripInText() throws {
        let cell = runCommands("rng sample root normal 6")[0]
        let text = TextRenderer().render(cell.result!)
        let line = text.split(separator: "\n").first { $0.contains("values") }!
        let printed = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst()
            .map { Float(String($0).trimmingCharacters(in: CharacterSet(charactersIn: ","))) }
        XCTAssertEqual(printed, Random.normal(PRNGKey(seed: 42), count: 6).map { Optional($0) })
    }

    /// `train steps` follows the seed's train.py: after one step `rng show`
    /// lists the golden step-0 keys (golden/README.md: dropout
    /// [1117349199, 516805072], stochastic_depth [3887732801, 3627665616],
    /// next [4259745679, 3873525537]) with their lineage.
    func testOneTrainStepShowsTheSeedsStepZeroKeys() throws {
        let cells = runCommands("""
            data synthetic --batch 8 --count 80; model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 10 --image-size 32 --drop-path 0.1;
            rng seed 42; model init; optim adamw; train steps 1; rng show
            """)
        XCTAssertTrue(cells.allSatisfy(\.ok), cells.compactMap(\.error).joined())
        guard case .table(let t)? = cells.last?.result else { return XCTFail("rng show gives a table") }
        func row(_ name: String) -> [String]? {
            t.rows.first { $0.first == .string(name) }.map { $0.enumerated().map { TextRenderer.cell($1, format: t.columns[$0].format) } }
        }
        XCTAssertEqual(row("step/dropout")?[1...3], ["split(train/0, 3)[0] at step 0", "0x4299654f", "0x1ecdd1d0"])
        XCTAssertEqual(row("step/stochastic_depth")?[1...3], ["split(train/0, 3)[1] at step 0", "0xe7ba1841", "0xd839c8d0"])
        XCTAssertEqual(row("train/0")?[1...3], ["split(train/0, 3)[2] at step 0", "0xfde68f8f", "0xe6e14f21"])
        XCTAssertEqual(row("step/stochastic_depth")?[4], "1", "the step drew from it once")
        XCTAssertEqual(PRNGKey(0x4299_654f, 0x1ecd_d1d0), PRNGKey(1_117_349_199, 516_805_072))
        XCTAssertEqual(PRNGKey(0xe7ba_1841, 0xd839_c8d0), PRNGKey(3_887_732_801, 3_627_665_616))
        XCTAssertEqual(PRNGKey(0xfde6_8f8f, 0xe6e1_4f21), PRNGKey(4_259_745_679, 3_873_525_537))
    }
}
