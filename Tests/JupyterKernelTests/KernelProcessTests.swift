import Foundation
import JupyterKernel
import TestSupport
import XCTest

/// The real binary as Jupyter starts it: `cnx kernel -f CONNECTION_FILE`.
final class KernelProcessTests: XCTestCase {
    func testTheBinaryServesAConnectionFileSurvivesSIGINTAndExitsOnShutdown() throws {
        let binary = Golden.repoRoot.appendingPathComponent(".build/debug/cnx")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw XCTSkip("\(binary.path) is missing: run 'swift build --product cnx' (make test does)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-kernel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let info = testConnection()
        let file = dir.appendingPathComponent("kernel-test.json")
        try JSONEncoder().encode(info).write(to: file)

        let process = Process()
        process.executableURL = binary
        process.arguments = ["kernel", "-f", file.path, "--threads", "1"]
        process.currentDirectoryURL = dir
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let client = try KernelClient(info)
        XCTAssertEqual(try client.handshake().content["implementation"]?.text, "cnx")
        XCTAssertEqual(try client.execute("help model").reply.content["status"]?.text, "ok")
        // SIGINT with nothing running interrupts nothing and ends nothing.
        kill(process.processIdentifier, SIGINT)
        XCTAssertEqual(try client.execute("help").reply.content["execution_count"]?.integer, 2)
        XCTAssertTrue(process.isRunning)

        let shutdown = try client.send("shutdown_request", .object([("restart", false)]), on: client.control)
        XCTAssertEqual(try client.reply(to: shutdown, on: client.control).type, "shutdown_reply")
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(process.isRunning, "the kernel exits after shutdown")
        if !process.isRunning { XCTAssertEqual(process.terminationStatus, 0) }
    }
}
