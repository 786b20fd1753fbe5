import Datasets
import Foundation
@testable import JupyterKernel
import JSON
import Shell
import XCTest

/// Collects what the kernel logs (dropped messages).
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

/// The kernel in-process on free local ports, driven by `KernelClient`.
final class JupyterKernelTests: XCTestCase {
    var kernel: JupyterKernel!
    var client: KernelClient!
    var log: LogLines!

    override func setUpWithError() throws {
        let info = testConnection()
        log = LogLines()
        let log = log!
        kernel = try JupyterKernel(connection: info, workbench: Workbench(), log: { log.add($0) })
        kernel.start()
        client = try KernelClient(info)
    }

    override func tearDown() {
        kernel.stop()
        XCTAssertTrue(kernel.waitUntilStopped(timeout: 10), "the kernel's threads end after stop")
        client = nil
        kernel = nil
    }

    func testKernelInfoAndHeartbeat() throws {
        let info = try client.handshake().content
        XCTAssertEqual(info["protocol_version"]?.text, "5.3")
        XCTAssertEqual(info["implementation"]?.text, "cnx")
        XCTAssertEqual(info["language_info"]?["name"]?.text, "cnx")
        XCTAssertEqual(info["language_info"]?["file_extension"]?.text, ".cnx")
        XCTAssertEqual(info["language_info"]?["mimetype"]?.text, "text/plain")
        XCTAssertTrue(info["banner"]?.text?.contains("cnx") == true)
        // The heartbeat echoes what it gets.
        try client.heartbeat.send([Array("ping".utf8)])
        XCTAssertEqual(try client.heartbeat.receive(timeout: 5), [Array("ping".utf8)])
        // kernel_info also answers on control.
        let request = try client.send("kernel_info_request", .object([]), on: client.control)
        XCTAssertEqual(try client.reply(to: request, on: client.control).type, "kernel_info_reply")
    }

    func testExecutePublishesInputStreamResultInOrder() throws {
        _ = try client.handshake()
        let (reply, outputs) = try client.execute("# a comment\nhelp model build\nhelp model\nhelp")
        XCTAssertEqual(reply.content["status"]?.text, "ok")
        XCTAssertEqual(reply.content["execution_count"]?.integer, 1)
        XCTAssertEqual(outputs.map(\.type), ["status", "execute_input", "stream", "display_data", "execute_result", "status"])
        XCTAssertEqual(outputs.first?.content["execution_state"]?.text, "busy")
        XCTAssertEqual(outputs[1].content["execution_count"]?.integer, 1)
        // The same text the terminal renders, for each command of the cell:
        // text is printed, a table is displayed, the last result is Out[1].
        let renderer = TextRenderer(width: 100)
        let registry = StandardCommands.registry()
        XCTAssertEqual(outputs[2].content["name"]?.text, "stdout")
        XCTAssertEqual(outputs[2].content["text"]?.text, renderer.render(try registry.help(for: ["model", "build"])) + "\n")
        XCTAssertEqual(outputs[3].content["data"]?["text/plain"]?.text, renderer.render(try registry.help(for: ["model"])))
        let data = outputs[4].content["data"]
        XCTAssertEqual(data?["text/plain"]?.text, renderer.render(try registry.help(for: [])))
        XCTAssertTrue(data?["text/html"]?.text?.hasPrefix("<table>") == true, "a table also comes as HTML")
        XCTAssertTrue(data?["text/html"]?.text?.contains("<td>model build</td>") == true)
        XCTAssertEqual(outputs[4].content["execution_count"]?.integer, 1)
        // Counting goes on; a silent cell publishes nothing but its status and is not counted.
        XCTAssertEqual(try client.execute("help train").reply.content["execution_count"]?.integer, 2)
        let silent = try client.execute("help", silent: true)
        XCTAssertEqual(silent.outputs.map(\.type), ["status", "status"])
        XCTAssertEqual(silent.reply.content["execution_count"]?.integer, 2)
        XCTAssertEqual(try client.execute("help").reply.content["execution_count"]?.integer, 3)
        // The workbench ran every command, the silent one too (as cells).
        XCTAssertEqual(kernel.workbench.cells.count, 6)
        // History holds the stored cells (not the silent one), numbered by execution count.
        let history = try client.send("history_request", .object([("hist_access_type", "tail"), ("n", 2), ("output", false), ("raw", true)]))
        XCTAssertEqual(try client.reply(to: history).content["history"], .array([.array([0, 2, "help train"]), .array([0, 3, "help"])]))
    }

    func testAnErrorEndsTheCellWithOneLine() throws {
        _ = try client.handshake()
        let (reply, outputs) = try client.execute("help model build\nmodel biuld\nhelp")
        XCTAssertEqual(reply.content["status"]?.text, "error")
        XCTAssertEqual(reply.content["ename"]?.text, "CommandError")
        XCTAssertEqual(outputs.map(\.type), ["status", "execute_input", "stream", "error", "status"])
        let evalue = try XCTUnwrap(outputs[3].content["evalue"]?.text)
        XCTAssertTrue(evalue.contains("biuld") && !evalue.contains("\n"), evalue)
        XCTAssertEqual(kernel.workbench.cells.count, 2, "the line after the error did not run")
        // A line that cannot be read runs nothing at all; magics are refused with one line.
        XCTAssertEqual(try client.execute("help\nhelp \"open").reply.content["ename"]?.text, "SyntaxError")
        let magic = try client.execute("%time help").reply.content
        XCTAssertTrue(magic["evalue"]?.text?.contains("magics") == true)
        XCTAssertEqual(kernel.workbench.cells.count, 2)
        // `CMD?` is help, as in the shell.
        let shortcut = try client.execute("train steps?").outputs
        XCTAssertTrue(shortcut.first { $0.type == "execute_result" }?.content["data"]?["text/plain"]?.text?.contains("train steps") == true)
    }

    func testStopOnErrorAbortsTheQueuedCells() throws {
        _ = try client.handshake()
        // The second request is queued while the first is still sleeping.
        let first = try client.send("execute_request", .object([("code", "sleep 0.5\nmodel biuld"), ("silent", false), ("stop_on_error", true)]))
        let second = try client.send("execute_request", .object([("code", "help"), ("silent", false)]))
        XCTAssertEqual(try client.reply(to: first).content["status"]?.text, "error")
        XCTAssertEqual(try client.reply(to: second).content["status"]?.text, "aborted")
        // Without stop_on_error the next cell runs.
        let third = try client.send("execute_request", .object([("code", "sleep 0.5\nmodel biuld"), ("stop_on_error", false)]))
        let fourth = try client.send("execute_request", .object([("code", "help")]))
        XCTAssertEqual(try client.reply(to: third).content["status"]?.text, "error")
        XCTAssertEqual(try client.reply(to: fourth).content["status"]?.text, "ok")
    }

    func testABadSignatureIsDroppedNeverExecuted() throws {
        _ = try client.handshake()
        let forger = try MessageSigner(key: "not the key")
        let request = try client.send("execute_request", .object([("code", "rng seed 7")]), signer: forger)
        XCTAssertNil(try client.shell.receive(timeout: 1), "no reply to a forged message")
        XCTAssertEqual(kernel.workbench.cells.count, 0, "nothing ran")
        XCTAssertTrue(log.all.contains { $0.contains("bad HMAC signature") }, "\(log.all)")
        _ = request
        // The kernel still serves signed requests.
        XCTAssertEqual(try client.execute("help").reply.content["status"]?.text, "ok")
        XCTAssertEqual(kernel.workbench.cells.count, 1)
    }

    func testCompleteInspectAndIsComplete() throws {
        _ = try client.handshake()
        let complete = try client.send("complete_request", .object([("code", "help\nmodel bu"), ("cursor_pos", 13)]))
        let matches = try client.reply(to: complete).content
        XCTAssertEqual(matches["matches"], .array(["build"]))
        XCTAssertEqual(matches["cursor_start"]?.integer, 11)
        XCTAssertEqual(matches["cursor_end"]?.integer, 13)

        let inspect = try client.send("inspect_request", .object([("code", "train steps 5"), ("cursor_pos", 8), ("detail_level", 0)]))
        let found = try client.reply(to: inspect).content
        XCTAssertEqual(found["found"], .bool(true))
        let expected = TextRenderer(width: 100).render(try StandardCommands.registry().help(for: ["train", "steps"]))
        XCTAssertEqual(found["data"]?["text/plain"]?.text, expected)
        let nothing = try client.send("inspect_request", .object([("code", "zzz"), ("cursor_pos", 1)]))
        XCTAssertEqual(try client.reply(to: nothing).content["found"], .bool(false))

        for (code, status) in [("help\nmodel summary", "complete"), ("help \"open", "invalid")] {
            let request = try client.send("is_complete_request", .object([("code", .string(code))]))
            XCTAssertEqual(try client.reply(to: request).content["status"]?.text, status, code)
        }
        let comms = try client.send("comm_info_request", .object([]))
        XCTAssertEqual(try client.reply(to: comms).content["comms"], .object([]))
    }

    func testInterruptStopsTrainingAtAStepBoundary() throws {
        _ = try client.handshake()
        let setup = try client.execute("model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32\n"
                                       + "model init\noptim adamw --lr 0.001\ndata synthetic --classes 4 --size 32", timeout: 60)
        XCTAssertEqual(setup.reply.content["status"]?.text, "ok", "\(setup.reply.content)")
        let train = try client.send("execute_request", .object([("code", "train steps 100000\nhelp")]))
        // Wait until the job has done a step, then interrupt on the control channel.
        let deadline = Date().addingTimeInterval(30)
        while (kernel.workbench.runningJob?.completed ?? 0) < 1 && Date() < deadline { usleep(20_000) }
        XCTAssertNotNil(kernel.workbench.runningJob, "train steps is running")
        let interrupt = try client.send("interrupt_request", .object([]), on: client.control)
        XCTAssertEqual(try client.reply(to: interrupt, on: client.control).content["status"]?.text, "ok")
        let reply = try client.reply(to: train, timeout: 30).content
        XCTAssertEqual(reply["status"]?.text, "error")
        XCTAssertEqual(reply["ename"]?.text, "Interrupted")
        let job = try XCTUnwrap(kernel.workbench.lastJob)
        XCTAssertEqual(job.state, .stopped)
        XCTAssertLessThan(job.completed, 100_000)
        XCTAssertTrue(reply["evalue"]?.text?.contains("stopped after step \(job.completed)/100000") == true, "\(reply)")
        XCTAssertEqual(kernel.workbench.snapshot.counters.miniSteps, job.completed, "the state holds whole steps")
        XCTAssertNil(kernel.workbench.cells.first { $0.command == "help" }, "the line after the job did not run")
        // The job's progress was one display, updated in place, ending at the step it stopped after.
        let outputs = try client.outputs(of: train)
        let displays = outputs.filter { $0.type == "display_data" || $0.type == "update_display_data" }
        XCTAssertEqual(displays.first?.type, "display_data")
        XCTAssertEqual(displays.filter { $0.type == "display_data" }.count, 1)
        let ids = Set(displays.compactMap { $0.content["transient"]?["display_id"]?.text })
        XCTAssertEqual(ids.count, 1, "one display id: \(ids)")
        let last = try XCTUnwrap(displays.last?.content["data"]?["text/plain"]?.text)
        XCTAssertTrue(last.contains(" \(job.completed)/100000 "), last)
        XCTAssertEqual(outputs.last { $0.type == "error" }?.content["ename"]?.text, "Interrupted")

        // A command that writes a PNG shows it; the session goes on.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-kernel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("p.png")
        let preview = try client.execute("data preview --count 2 --out \(png.path)\nstatus")
        XCTAssertEqual(preview.reply.content["status"]?.text, "ok")
        let image = try XCTUnwrap(preview.outputs.first { $0.type == "display_data" })
        XCTAssertEqual(image.content["data"]?["image/png"]?.text, try Data(contentsOf: png).base64EncodedString())
        XCTAssertEqual(preview.outputs.last { $0.type == "execute_result" }?.content["data"]?["text/plain"]?.text?.hasPrefix("status"), true)

        // Plots: a sparkline view beside its table is inline SVG in the HTML; a plot alone is an SVG image.
        let plots = try client.execute("show droppath\nshow layerscale\nshow loss --plot")
        XCTAssertEqual(plots.reply.content["status"]?.text, "ok")
        let droppath = try XCTUnwrap(plots.outputs.first { $0.type == "display_data" }?.content["data"])
        XCTAssertTrue(droppath["text/html"]?.text?.contains("<table>") == true)
        XCTAssertTrue(droppath["text/html"]?.text?.contains("<svg") == true)
        let loss = try XCTUnwrap(plots.outputs.first { $0.type == "execute_result" }?.content["data"])
        let svg = try XCTUnwrap(loss["image/svg+xml"]?.text)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("<polyline"), svg)
        XCTAssertNotNil(loss["text/plain"]?.text)
        // …and each also comes as a real PNG (libpng reads it back): one chart for the loss, one per sparkline of the view.
        let lossPNG = try PNGCodec.decode([UInt8](try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(loss["image/png"]?.text)))))
        XCTAssertEqual([lossPNG.width, lossPNG.height], [PNGPlot.width, PNGPlot.height])
        let dropPNG = try PNGCodec.decode([UInt8](try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(droppath["image/png"]?.text)))))
        XCTAssertEqual(dropPNG.width, PNGPlot.width)
        XCTAssertEqual(dropPNG.height % PNGPlot.height, 0)
        let layerscale = try XCTUnwrap(plots.outputs.filter { $0.type == "display_data" }.dropFirst().first?.content["data"])
        XCTAssertTrue(layerscale["text/plain"]?.text?.hasPrefix("LayerScale γ per block") == true)
        let gammaPNG = try PNGCodec.decode([UInt8](try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(layerscale["image/png"]?.text)))))
        XCTAssertEqual([gammaPNG.width, gammaPNG.height], [PNGPlot.width, PNGPlot.height], "mean |γ| by block")
    }

    func testShutdownRepliesThenStops() throws {
        _ = try client.handshake()
        let request = try client.send("shutdown_request", .object([("restart", false)]), on: client.control)
        let reply = try client.reply(to: request, on: client.control)
        XCTAssertEqual(reply.type, "shutdown_reply")
        XCTAssertEqual(reply.content["restart"], .bool(false))
        XCTAssertTrue(kernel.waitUntilStopped(timeout: 10))
        XCTAssertTrue(kernel.stopping)
    }
}
