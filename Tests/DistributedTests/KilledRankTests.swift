import Foundation
import XCTest

/// A rank killed mid-training ends the job within seconds (Open MPI's
/// launcher aborts the others; no rank waits forever in a collective) with
/// one line from the rank left, and the session saved before it loads in a
/// single process.
final class KilledRankTests: XCTestCase {
    func testKillingRankOneEndsTheJobAndKeepsTheLastSave() throws {
        let mpirun = try MPIRunTests.mpirun(), cnx = try MPIRunTests.binary()
        let dir = try MPIRunTests.directory()
        let script = """
            data synthetic --classes 4 --count 64 --batch 4
            model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32
            model init
            optim adamw
            train steps 2
            session save before
            train steps 100000
            """
        try script.write(to: dir.appendingPathComponent("long.cnx"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = mpirun
        process.arguments = MPIRunTests.mpirunFlags + [cnx.path, "run", "long.cnx", "--threads", "1"]
        process.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        env["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let stderrURL = dir.appendingPathComponent("stderr.txt")
        try Data().write(to: stderrURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // Wait for the save, then for rank 1 (found by its environment and working directory).
        let saved = dir.appendingPathComponent("sessions/before/CURRENT")
        var deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: saved.path) && process.isRunning && Date() < deadline { usleep(50_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: saved.path), "the session was not saved")
        guard let rank1 = Self.process(rank: 1, in: dir) else { return XCTFail("rank 1 not found") }
        XCTAssertTrue(process.isRunning, "the job ended before rank 1 was killed")
        kill(rank1, SIGKILL)
        let killed = Date()
        deadline = killed.addingTimeInterval(15)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(process.isRunning, "rank 0 still runs 15 s after rank 1 was killed")
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
        // Rank 0 says in one line why it stopped (mpirun adds its own, naming rank 1).
        let stderr = try String(contentsOf: stderrURL, encoding: .utf8)
        XCTAssertEqual(stderr.components(separatedBy: "cnx: this process was stopped by mpirun").count - 1, 1, stderr)

        let loaded = try MPIRunTests.run(cnx, ["-c", "session load before; train steps 1", "--threads", "1"], in: dir)
        XCTAssertEqual(loaded.status, 0, loaded.stderr)
    }

    /// The `cnx` process of `rank` whose working directory is `directory`.
    static func process(rank: Int, in directory: URL) -> pid_t? {
        let want = directory.resolvingSymlinksInPath().path
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        for pid in ids {
            guard let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"),
                  URL(fileURLWithPath: cwd).resolvingSymlinksInPath().path == want,
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let vars = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if vars.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }
}
