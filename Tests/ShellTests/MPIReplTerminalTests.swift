import Foundation
import XCTest
import TestSupport

/// `mpirun -np 2 cnx` on a pseudo-terminal, as a person would start it:
/// rank 0 takes mpirun's terminal (libedit, Ctrl-C), every line it reads
/// runs on both ranks, a failure is one error, Ctrl-C stops `train` after
/// the same step on both ranks (the next command would hang otherwise),
/// and Ctrl-D ends every rank with status 0.
final class MPIReplTerminalTests: XCTestCase {
    func testRankZeroOwnsTheTerminalAndEveryRankRunsEachLine() throws {
        guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile) else {
            let message = "mpirun is not installed: install openmpi-bin (scripts/bootstrap does) to run the MPI shell test"
            if Golden.isCI() { return XCTFail(message) }
            throw XCTSkip(message)
        }
        let cnx = try PseudoTerminal.binary()
        let directory = try PseudoTerminal.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let t = try PseudoTerminal(executable: URL(fileURLWithPath: mpirun),
                                   arguments: ["--allow-run-as-root", "--oversubscribe", "-np", "2", cnx.path, "--threads", "1"],
                                   directory: directory,
                                   environment: ["NO_COLOR": "1", "OMPI_MCA_btl_vader_single_copy_mechanism": "none"])
        t.expect("In [1]: ", timeout: 60)
        XCTAssertTrue(t.plainText.contains("processes  2 (mpirun)"), t.plainText)

        t.type("model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32; model init; "
               + "optim adamw --lr 0.001; data synthetic --classes 4 --size 32 --batch 4\r")
        t.expect("In [5]: ", timeout: 60)
        XCTAssertFalse(t.plainText.contains("error:"), t.plainText)
        t.type("status\r")
        t.expect("2 (mpirun): batch 4 on each, 8 a step", timeout: 30)

        // Ctrl-C on rank 0 stops the job; rank 1 stops after the same step.
        t.type("train steps 100000\r")
        t.expect("train steps 100000", timeout: 30)
        usleep(1_500_000)
        let mark = t.plainText.count
        t.type(PseudoTerminal.ctrlC)
        t.expect("stopped by request after step", after: mark, timeout: 60)
        // Both ranks answer the next command together (their sessions are compared after it).
        t.type("train steps 2\r")
        t.expect("train steps 2: done", after: mark, timeout: 60)
        XCTAssertFalse(t.plainText.dropFirst(mark).contains("sessions differ"), t.plainText)

        // A failing command: one error, and the shell goes on on every rank.
        let before = t.plainText.count
        t.type("model biuld tiny\r")
        t.expect("error:", after: before, timeout: 30)
        t.type("status\r")
        t.expect("processes", after: before, timeout: 30)

        // Ctrl-D: the trained session is unsaved, so rank 0 asks first.
        let end = t.plainText.count
        t.type(PseudoTerminal.ctrlD)
        t.expect(ReplTerminalTests.exitQuestion, after: end, timeout: 30)
        t.type("y\r")
        XCTAssertEqual(t.waitForExit(timeout: 60), 0, t.plainText)
    }
}
