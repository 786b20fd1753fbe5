import Foundation
import SafeTensors
import XCTest

/// Ranks whose sessions stop being the same (here: each reads a different
/// folder behind the same relative path) fail the command that did it, with
/// one line, before training on; parameters read from a file are rank 0's
/// on every rank.
final class DivergenceTests: XCTestCase {
    /// `params import` reads the file on every rank, then rank 0's bits
    /// replace the others': different files behind the same path no longer
    /// part the ranks (without the broadcast, the fingerprint check after the
    /// import fails this run), and rank 0's file is what every rank trains.
    func testParametersImportedOnRankZeroReachEveryRank() throws {
        let mpirun = try MPIRunTests.mpirun(), cnx = try MPIRunTests.binary()
        let a = try MPIRunTests.directory(), b = try MPIRunTests.directory(), scripts = try MPIRunTests.directory()
        let build = "model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32"
        for (dir, seed) in [(a, 1), (b, 2)] {
            let r = try MPIRunTests.run(cnx, ["-c", "\(build); rng seed \(seed); model init; params export p.safetensors"], in: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let script = scripts.appendingPathComponent("import.cnx")
        try """
            data synthetic --classes 4 --count 64 --batch 4
            \(build)
            params import p.safetensors
            params export imported.safetensors
            optim adamw
            train steps 1
            """.write(to: script, atomically: true, encoding: .utf8)
        let r = try MPIRunTests.run(mpirun, Self.twoFolders(a, b, cnx: cnx, script: script), in: scripts)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try SafeTensorsFile.read(a.appendingPathComponent("imported.safetensors")).tree(),
                       try SafeTensorsFile.read(a.appendingPathComponent("p.safetensors")).tree())
    }

    func testDifferentImageFoldersOnTheRanksAreCaught() throws {
        let mpirun = try MPIRunTests.mpirun(), cnx = try MPIRunTests.binary()
        let a = try MPIRunTests.directory(), b = try MPIRunTests.directory(), scripts = try MPIRunTests.directory()
        // The same classes and counts; one file named differently.
        for (dir, names) in [(a, ["c0/x.png", "c1/y.png"]), (b, ["c0/x.png", "c1/z.png"])] {
            let previews = names.map { "data preview --count 1 --out imgs/\($0)" }.joined(separator: "; ")
            let r = try MPIRunTests.run(cnx, ["-c", "data synthetic --classes 2; \(previews)"], in: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let script = scripts.appendingPathComponent("folder.cnx")
        try "rng seed 0\ndata imagefolder imgs --batch 1\nstatus\n".write(to: script, atomically: true, encoding: .utf8)
        try assertRanksDiffer(running: script, in: a, and: b, atLine: 2, mpirun: mpirun, cnx: cnx, from: scripts)
    }

    /// mpirun's arguments for `script` on two ranks, rank 0 in `a` and rank 1
    /// in `b` (Open MPI's MPMD form: app contexts separated by ':').
    static func twoFolders(_ a: URL, _ b: URL, cnx: URL, script: URL) -> [String] {
        let rank = { (dir: URL) in ["-np", "1", "-wdir", dir.path, cnx.path, "run", script.path, "--threads", "1"] }
        return ["--allow-run-as-root", "--oversubscribe"] + rank(a) + [":"] + rank(b)
    }

    /// Runs `script` on two ranks, one in each folder (Open MPI's MPMD form:
    /// app contexts separated by ':'), and expects one error line: the
    /// sessions differ at `line`.
    private func assertRanksDiffer(running script: URL, in a: URL, and b: URL, atLine line: Int,
                                   mpirun: URL, cnx: URL, from scripts: URL,
                                   file: StaticString = #filePath, line testLine: UInt = #line) throws {
        let r = try MPIRunTests.run(mpirun, Self.twoFolders(a, b, cnx: cnx, script: script), in: scripts)
        XCTAssertNotEqual(r.status, 0, file: file, line: testLine)
        let ours = r.stderr.split(separator: "\n").filter { $0.hasPrefix("\(script.path):") }
        XCTAssertEqual(ours.count, 1, r.stderr, file: file, line: testLine)
        XCTAssertTrue(ours.first?.hasPrefix("\(script.path):\(line): the processes' sessions differ") ?? false, r.stderr,
                      file: file, line: testLine)
    }
}
