import XCTest
@testable import Shell

final class CapturedOutput: OutputSink, @unchecked Sendable {
    var stdout: [String] = []
    var stderr: [String] = []
    func out(_ text: String) { stdout.append(text) }
    func err(_ text: String) { stderr.append(text) }
}

final class ScriptRunnerTests: XCTestCase {
    func run(_ script: String, json: Bool = false, keepGoing: Bool = false, echo: Bool = false)
        -> (status: Int32, output: CapturedOutput, workbench: Workbench) {
        let workbench = Workbench(registry: echoRegistry())
        let output = CapturedOutput()
        let runner = ScriptRunner(workbench: workbench,
                                  options: .init(json: json, keepGoing: keepGoing, echo: echo), output: output)
        return (runner.run(script, source: "test.cnx"), output, workbench)
    }

    func testSuccessExitsZero() {
        let r = run("model init\n# comment\n\nstep")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.workbench.cells.count, 2)
        XCTAssertTrue(r.output.stderr.isEmpty)
    }

    func testFailureNamesTheLineAndStops() {
        let r = run("model init\nmodle init\nstep")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.output.stderr, ["test.cnx:2: unknown command 'modle' — did you mean 'model'?; type 'help' for the list"])
        XCTAssertEqual(r.workbench.cells.count, 2, "the third command must not run")
    }

    func testKeepGoingRunsEverythingButStillFails() {
        let r = run("fail\nstep\nfail", keepGoing: true)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.workbench.cells.count, 3)
        XCTAssertEqual(r.output.stderr.count, 2)
    }

    func testTokenizerErrorsFailTheScript() {
        let r = run("step 'unclosed")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.output.stderr[0].hasPrefix("test.cnx:1: unterminated single quote"))
    }

    func testJSONShape() {
        let r = run("model build tiny --classes 3; fail", json: true)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.output.stdout.count, 2)
        XCTAssertTrue(r.output.stdout[0].hasPrefix(#"{"cell":1,"command":"model build tiny --classes 3","ok":true,"result":{"kind":"record","fields":{"args":["tiny"],"classes":"3"}}"#), r.output.stdout[0])
        XCTAssertTrue(r.output.stdout[1].hasPrefix(#"{"cell":2,"command":"fail","ok":false,"error":"this command failed on purpose""#), r.output.stdout[1])
    }

    func testEchoPrintsCellNumbers() {
        let r = run("step; model init", echo: true)
        XCTAssertEqual(r.output.stdout.filter { $0.hasPrefix("In [") }, ["In [1]: step", "In [2]: model init"])
    }

    func testHelpListsEveryRegisteredCommand() throws {
        let workbench = Workbench()
        let cell = workbench.execute(try Tokenizer.commands("help")[0], text: "help")
        guard case .table(let table)? = cell.result else { return XCTFail("help must return a table") }
        let listed = Set(table.rows.map { TextRenderer.cell($0[0]) })
        XCTAssertEqual(listed, Set(workbench.registry.commands.map(\.name)))
    }
}
