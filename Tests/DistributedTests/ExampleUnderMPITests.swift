import Foundation
import XCTest
import TestSupport

/// examples/distributed.cnx with the command its header gives: 2 processes,
/// status shows them, it trains and evaluates the whole validation split,
/// and the session rank 0 saved loads in one process.
final class ExampleUnderMPITests: XCTestCase {
    func testTheDistributedExampleRunsOnTwoProcesses() throws {
        let mpirun = try MPIRunTests.mpirun(), cnx = try MPIRunTests.binary()
        let dir = try MPIRunTests.directory()
        let example = Golden.repoRoot.appendingPathComponent("examples/distributed.cnx").path
        let r = try MPIRunTests.run(mpirun, MPIRunTests.mpirunFlags + [cnx.path, "run", example, "--threads", "1", "--json"],
                                    in: dir, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        let status = try lines.map(MPIRunTests.record).first { $0["processes"] != nil }
        XCTAssertEqual(status?["processes"] as? String, "2 (mpirun): batch 16 on each, 32 a step")
        let eval = try lines.map(MPIRunTests.record).first { $0["top1"] != nil }
        XCTAssertEqual(eval?["samples"] as? Int, 200)
        let loaded = try MPIRunTests.run(cnx, ["-c", "session load distributed-demo; status", "--threads", "1"], in: dir)
        XCTAssertEqual(loaded.status, 0, loaded.stderr)
        XCTAssertTrue(loaded.stdout.contains("120"), loaded.stdout)
    }
}
