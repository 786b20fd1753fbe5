import Foundation
import JupyterKernel
import JSON
import Shell
import XCTest

/// `session export --ipynb` and back: the notebook names the cnx kernel, and
/// running its cells on a fresh kernel gives the saved outputs again.
final class NotebookRoundTripTests: XCTestCase {
    /// A kernel on a fresh workbench in `dir`, with its client.
    func startKernel(in dir: URL) throws -> (JupyterKernel, KernelClient) {
        let info = testConnection()
        let kernel = try JupyterKernel(connection: info, workbench: Workbench(workingDirectory: dir), log: { _ in })
        kernel.start()
        let client = try KernelClient(info)
        _ = try client.handshake()
        return (kernel, client)
    }

    /// The text of a cell's outputs as a notebook stores it, with the
    /// wall-clock fields (`seconds`, `img_s`) blanked: they are the only
    /// numbers that may differ between two runs.
    func comparable(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let key = line.split(separator: " ").first.map(String.init) ?? ""
            return ["seconds", "img_s"].contains(key) ? key + " …" : String(line)
        }.joined(separator: "\n")
    }

    func testAnExportedSessionRunsAgainOnTheKernelWithTheSameNumbers() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-roundtrip-\(UUID().uuidString)")
        let first = root.appendingPathComponent("first"), second = root.appendingPathComponent("second")
        for dir in [first, second] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(at: root) }

        // A session made in one kernel, saved and exported.
        let commands = ["rng seed 3", "data synthetic --classes 4 --size 32 --batch 8",
                        "model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32 --drop-path 0.1",
                        "model init", "optim adamw --lr 0.002 --warmup-steps 2 --decay-steps 10", "train steps 4", "show loss",
                        "show lr", "show layerscale", "status"]
        let (kernelA, clientA) = try startKernel(in: first)
        defer { kernelA.stop(); _ = kernelA.waitUntilStopped(timeout: 10) }
        for command in commands {
            XCTAssertEqual(try clientA.execute(command, timeout: 120).reply.content["status"]?.text, "ok", command)
        }
        XCTAssertEqual(try clientA.execute("session save s").reply.content["status"]?.text, "ok")
        XCTAssertEqual(try clientA.execute("session export s --ipynb s.ipynb").reply.content["status"]?.text, "ok")
        let notebook = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: first.appendingPathComponent("s.ipynb")))
        XCTAssertEqual(notebook["metadata"]?["kernelspec"]?["name"]?.text, KernelSpec.defaultName, "the notebook names this kernel")
        XCTAssertEqual(notebook["metadata"]?["language_info"]?["name"]?.text, "cnx")

        // Its code cells, run in order on a fresh kernel elsewhere.
        guard case .array(let cells)? = notebook["cells"] else { return XCTFail("no cells") }
        let code = cells.filter { $0["cell_type"]?.text == "code" }
        XCTAssertEqual(code.count, commands.count)
        let (kernelB, clientB) = try startKernel(in: second)
        defer { kernelB.stop(); _ = kernelB.waitUntilStopped(timeout: 10) }
        func joined(_ value: JSONValue?) -> String {
            if case .array(let lines)? = value { return lines.compactMap(\.text).joined() }
            return value?.text ?? ""
        }
        for cell in code {
            let source = joined(cell["source"])
            guard case .array(let saved)? = cell["outputs"] else { return XCTFail("no outputs in \(source)") }
            let savedText = saved.filter { $0["output_type"]?.text == "stream" }.map { joined($0["text"]) }.joined()
            let (reply, outputs) = try clientB.execute(source, timeout: 120)
            XCTAssertEqual(reply.content["status"]?.text, "ok", source)
            let result = outputs.filter { $0.type == "execute_result" || $0.type == "stream" }
                .map { $0.type == "stream" ? ($0.content["text"]?.text ?? "") : ($0.content["data"]?["text/plain"]?.text ?? "") + "\n" }.joined()
            XCTAssertFalse(savedText.isEmpty, source)
            XCTAssertEqual(comparable(result), comparable(savedText), source)
        }
        // The numbers behind the text are the same too: the loss history, bit for bit.
        XCTAssertEqual(kernelB.workbench.snapshot.history.map(\.loss), kernelA.workbench.snapshot.history.map(\.loss))
        XCTAssertEqual(kernelB.workbench.snapshot.history.count, 4)
    }
}
