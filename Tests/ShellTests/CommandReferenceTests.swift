import Foundation
import TestSupport
import XCTest
@testable import Shell

final class CommandReferenceTests: XCTestCase {
    func testDocsCommandReferenceIsCurrent() throws {
        let url = Golden.repoRoot.appendingPathComponent("docs/commands.md")
        let onDisk = try String(contentsOf: url, encoding: .utf8)
        let generated = CommandReference.markdown(StandardCommands.registry())
        XCTAssertEqual(onDisk, generated + "\n", "docs/commands.md is stale: run `make docs`")
    }

    func testEveryCommandIsDocumented() {
        let text = CommandReference.markdown(StandardCommands.registry())
        for spec in StandardCommands.registry().commands {
            XCTAssertTrue(text.contains("### `\(spec.name)`"), "\(spec.name) missing from the reference")
            XCTAssertFalse(spec.summary.isEmpty, "\(spec.name) has no summary")
        }
    }
}
