import Foundation
@testable import JupyterKernel
import JSON
import TestSupport
import XCTest

final class ScriptNotebookTests: XCTestCase {
    func testCommentsBecomeMarkdownAndCommandBlocksCodeCells() throws {
        let script = "# Title line.\n#\n# Some text:\n#   rng seed 7\n\nhelp\nhelp model\n# between\nstatus\n"
        let json = try JSONDecoder().decode(JSONValue.self, from: ScriptNotebook.make(script: script, source: "s.cnx"))
        XCTAssertEqual(json["metadata"]?["kernelspec"]?["name"]?.text, "cnx")
        XCTAssertEqual(json["nbformat"]?.integer, 4)
        guard case .array(let cells)? = json["cells"] else { return XCTFail("no cells") }
        XCTAssertEqual(cells.map { $0["cell_type"]?.text }, ["markdown", "code", "markdown", "code"])
        func source(_ cell: JSONValue) -> String {
            guard case .array(let lines)? = cell["source"] else { return "" }
            return lines.compactMap(\.text).joined()
        }
        XCTAssertEqual(source(cells[0]), "# Title line.\n\n*Made from `s.cnx` by `cnx kernel notebook`; it runs on the cnx kernel (`cnx kernel install`).*\n\nSome text:\n```\nrng seed 7\n```")
        XCTAssertEqual(source(cells[1]), "help\nhelp model")
        XCTAssertEqual(source(cells[2]), "between")
        XCTAssertEqual(source(cells[3]), "status")
        XCTAssertEqual(cells[1]["outputs"], .array([]))
        XCTAssertEqual(cells[1]["execution_count"], .null)
        XCTAssertEqual(Set(cells.compactMap { $0["id"]?.text }).count, 4, "cell ids are unique")
    }

    /// examples/notebooks holds exactly the notebooks `make notebooks` writes from examples/*.cnx, byte for byte.
    func testTheShippedNotebooksAreCurrent() throws {
        let examples = Golden.repoRoot.appendingPathComponent("examples")
        let notebooks = examples.appendingPathComponent("notebooks")
        let files = try FileManager.default.contentsOfDirectory(atPath: examples.path)
        let scripts = files.filter { $0.hasSuffix(".cnx") }.sorted()
        XCTAssertFalse(scripts.isEmpty)
        let shipped = ((try? FileManager.default.contentsOfDirectory(atPath: notebooks.path)) ?? []).filter { $0.hasSuffix(".ipynb") }.sorted()
        XCTAssertEqual(shipped, scripts.map { String($0.dropLast(4)) + ".ipynb" }, "one notebook per script: run `make notebooks`")
        for script in scripts {
            let text = try String(contentsOf: examples.appendingPathComponent(script), encoding: .utf8)
            let expected = try ScriptNotebook.make(script: text, source: script)
            let file = notebooks.appendingPathComponent(String(script.dropLast(4)) + ".ipynb")
            XCTAssertEqual(try? Data(contentsOf: file), expected, "\(file.path) is out of date: run `make notebooks`")
        }
    }
}
