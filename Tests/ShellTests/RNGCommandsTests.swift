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
        XCTAssertTrue(errors[2].contains("at least 1"), errors[2])
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
}
