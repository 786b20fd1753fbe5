import Foundation
import JupyterKernel
import JSON
import Shell
import XCTest

/// The terminal's questions over the stdin channel: `session load` and
/// `exit` with unsaved work ask the front end (`input_request`) when the
/// request allows stdin, and are refused with one line when it does not.
final class StdinTests: XCTestCase {
    var dir: URL!
    var kernel: JupyterKernel!
    var client: KernelClient!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-stdin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let info = testConnection()
        kernel = try JupyterKernel(connection: info, workbench: Workbench(workingDirectory: dir), log: { _ in })
        kernel.start()
        client = try KernelClient(info)
        _ = try client.handshake()
    }

    override func tearDown() {
        kernel.stop()
        XCTAssertTrue(kernel.waitUntilStopped(timeout: 10))
        try? FileManager.default.removeItem(at: dir)
    }

    /// Sends `code` with allow_stdin, answers the one input_request with `answer`; returns the request's prompt and the reply.
    func executeAnswering(_ code: String, _ answer: String) throws -> (prompt: String?, reply: JupyterMessage, outputs: [JupyterMessage]) {
        let request = try client.send("execute_request", .object([("code", .string(code)), ("silent", false), ("allow_stdin", true)]))
        var prompt: String?
        if let frames = try client.stdin.receive(timeout: 10) {
            let input = try WireFormat.decode(frames, signer: client.signer)
            XCTAssertEqual(input.type, "input_request")
            XCTAssertEqual(input.parentHeader["msg_id"]?.text, request.id, "the question names its execute request")
            XCTAssertEqual(input.content["password"], .bool(false))
            prompt = input.content["prompt"]?.text
            let reply = JupyterMessage(type: "input_reply", session: client.session, content: .object([("value", .string(answer))]), parent: input)
            try client.stdin.send(WireFormat.encode(reply, signer: client.signer))
        }
        let reply = try client.reply(to: request)
        return (prompt, reply, try client.outputs(of: request))
    }

    func ok(_ code: String) throws {
        XCTAssertEqual(try client.execute(code).reply.content["status"]?.text, "ok", code)
    }

    func testSessionLoadOverUnsavedWorkAsksOrRefuses() throws {
        try ok("rng seed 5")
        try ok("session save s")
        try ok("rng seed 6")
        let question = try XCTUnwrap(kernel.workbench.loadOverUnsavedWorkQuestion)
        XCTAssertTrue(question.contains("1 command since the last save or load"), question)

        // No stdin (nbclient, nbconvert): one line saying how to go on; nothing loaded.
        let refused = try client.execute("session load s").reply.content
        XCTAssertEqual(refused["status"]?.text, "error")
        let line = try XCTUnwrap(refused["evalue"]?.text)
        XCTAssertFalse(line.contains("\n"))
        XCTAssertTrue(line.contains("session save NAME") && line.contains("`session load s --force`"), line)
        XCTAssertNil(kernel.workbench.cells.first { $0.command.hasPrefix("session load") }, "nothing ran")
        XCTAssertNil(try client.stdin.receive(timeout: 0.3), "no question without allow_stdin")

        // With stdin: the terminal's question; "n" keeps the session and the cell goes on.
        let kept = try executeAnswering("session load s\nhelp model", "n")
        XCTAssertEqual(kept.prompt, question)
        XCTAssertEqual(kept.reply.content["status"]?.text, "ok")
        XCTAssertTrue(kept.outputs.contains { $0.type == "stream" && $0.content["text"]?.text == "kept the session; nothing was loaded\n" })
        XCTAssertNil(kernel.workbench.cells.first { $0.command.hasPrefix("session load") })
        XCTAssertNotNil(kernel.workbench.cells.last { $0.command == "help model" })

        // "y" loads.
        let loaded = try executeAnswering("session load s", "y")
        XCTAssertEqual(loaded.prompt, question)
        let result = try XCTUnwrap(loaded.outputs.first { $0.type == "execute_result" }?.content["data"]?["text/plain"]?.text)
        XCTAssertTrue(result.contains("session loaded"), result)
        XCTAssertNil(kernel.workbench.loadOverUnsavedWorkQuestion, "nothing unsaved right after a load")

        // --force loads without asking, stdin or not.
        try ok("rng seed 7")
        XCTAssertEqual(try client.execute("session load s --force", allowStdin: true).reply.content["status"]?.text, "ok")
        XCTAssertNil(try client.stdin.receive(timeout: 0.3), "--force asks nothing")
    }

    /// One `ask_exit` payload that lets the front end shut the kernel down.
    func isAskExit(_ payload: JSONValue?) -> Bool {
        guard case .array(let items)? = payload, items.count == 1 else { return false }
        return items[0]["source"]?.text == "ask_exit" && items[0]["keepkernel"] == .bool(false)
    }

    func testExitAsksTheFrontEndToCloseAfterAskingAboutUnsavedWork() throws {
        // Nothing to lose: the ask_exit payload at once.
        let plain = try client.execute("exit").reply.content
        XCTAssertEqual(plain["status"]?.text, "ok")
        XCTAssertTrue(isAskExit(plain["payload"]), "\(plain)")
        try ok("rng seed 1")
        // Unsaved work, no stdin: refused with one line.
        let refused = try client.execute("quit").reply.content
        XCTAssertEqual(refused["status"]?.text, "error")
        XCTAssertTrue(refused["evalue"]?.text?.contains("session save NAME") == true)
        // With stdin: the exit question; "no" keeps the session, "y" asks the front end to close.
        let kept = try executeAnswering("exit", "")
        XCTAssertEqual(kept.prompt, kernel.workbench.unsavedWorkQuestion)
        XCTAssertEqual(kept.reply.content["payload"], .array([]))
        let leaving = try executeAnswering("exit", "Y")
        XCTAssertTrue(isAskExit(leaving.reply.content["payload"]), "\(leaving.reply.content)")
        XCTAssertFalse(kernel.stopping, "the front end shuts the kernel down, not the cell")
        // `exit` among other lines is refused before anything runs.
        XCTAssertEqual(try client.execute("help\nexit").reply.content["ename"]?.text, "SyntaxError")
    }
}
