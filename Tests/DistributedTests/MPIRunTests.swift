import Foundation
import XCTest
import SafeTensors
import Tensors
import TestSupport

/// `mpirun -np 2 cnx run SCRIPT` against one process with the global batch:
/// the same parameters to float32 summation order, the same top-1, and a
/// failure on one rank that ends every rank with one line.
///
/// Skipped with a message when `mpirun` or the built binary is missing;
/// failed instead when the environment variable `CI` is set.
final class MPIRunTests: XCTestCase {
    /// Per-tensor bounds on max |p_2 ranks − p_1 process| / max(max |p_1 process|, 1e-3),
    /// measured and justified in docs/distributed.md (“Numbers”).
    static let toleranceAfterOneStep: Float = 1e-4
    static let toleranceAfterTwentySteps: Float = 1e-3

    /// A small ConvNeXt with stochastic depth and head dropout (their masks
    /// are sliced per rank) and every per-sample augmentation but Mixup/CutMix
    /// (which mixes within a rank's rows, as timm does under DDP).
    static func script(batch: Int) -> String {
        """
        data synthetic --classes 10 --count 320 --val-count 90 --batch \(batch)
        data augment off mix
        model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 10 --image-size 32 --drop-path 0.3 --head-dropout 0.2
        rng seed 0
        model init
        optim adamw --lr 0.004
        train steps 1
        params export p1.safetensors
        train steps 19
        params export p20.safetensors
        eval
        """
    }

    func testTwoRanksMatchOneProcessWithTheGlobalBatch() throws {
        let mpirun = try Self.mpirun(), cnx = try Self.binary()
        let one = try Self.directory(), two = try Self.directory()
        try Self.script(batch: 16).write(to: one.appendingPathComponent("train.cnx"), atomically: true, encoding: .utf8)
        try Self.script(batch: 8).write(to: two.appendingPathComponent("train.cnx"), atomically: true, encoding: .utf8)
        let single = try Self.run(cnx, ["run", "train.cnx", "--json", "--threads", "1"], in: one)
        let multi = try Self.run(mpirun, Self.mpirunFlags + [cnx.path, "run", "train.cnx", "--json", "--threads", "1"], in: two)
        XCTAssertEqual(single.status, 0, single.stderr)
        XCTAssertEqual(multi.status, 0, multi.stderr)
        // Only rank 0 prints: one JSON line per command, as in one process.
        let lines1 = single.stdout.split(separator: "\n"), lines2 = multi.stdout.split(separator: "\n")
        XCTAssertEqual(lines1.count, 11)
        XCTAssertEqual(lines2.count, 11, multi.stdout)

        for (name, tolerance) in [("p1", Self.toleranceAfterOneStep), ("p20", Self.toleranceAfterTwentySteps)] {
            let a = try SafeTensorsFile.read(one.appendingPathComponent("\(name).safetensors")).tree()
            let b = try SafeTensorsFile.read(two.appendingPathComponent("\(name).safetensors")).tree()
            XCTAssertEqual(a.map(\.key), b.map(\.key))
            var worst: Float = 0
            for (path, x) in a {
                guard let y = b[path] else { continue }
                XCTAssertEqual(x.shape, y.shape, path)
                let scale = max(x.scalars.map(abs).max() ?? 0, 1e-3)
                let d = zip(x.scalars, y.scalars).map { abs($0 - $1) }.max() ?? 0
                worst = max(worst, d / scale)
                XCTAssertLessThanOrEqual(d / scale, tolerance, "\(name) \(path)")
            }
            // The runs are not the same bits (summation order), but close.
            print("MPIRunTests: \(name) worst per-tensor relative difference \(worst)")
        }
        // eval shards the validation set and sums counts: exactly the single-process figures.
        let eval1 = try Self.record(lines1.last!), eval2 = try Self.record(lines2.last!)
        XCTAssertEqual(eval1["samples"] as? Int, 90)
        for key in ["top1", "top5", "samples"] {
            XCTAssertEqual("\(eval1[key] ?? "-")", "\(eval2[key] ?? "-")", key)
        }
    }

    func testAFailureOnRankZeroEndsEveryRankWithOneLine() throws {
        let mpirun = try Self.mpirun(), cnx = try Self.binary()
        let dir = try Self.directory()
        // Rank 0 alone runs `params export` (it changes nothing): its failure must stop
        // rank 1 too, before the train step (whose allreduce would otherwise wait forever).
        let script = """
            data synthetic --classes 4 --count 64 --batch 4
            model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32
            model init
            optim adamw
            params export blocker/p.safetensors
            train steps 1
            """
        try script.write(to: dir.appendingPathComponent("fail.cnx"), atomically: true, encoding: .utf8)
        // A file where the export needs a folder: the write fails.
        try Data().write(to: dir.appendingPathComponent("blocker"))
        let r = try Self.run(mpirun, Self.mpirunFlags + [cnx.path, "run", "fail.cnx", "--threads", "1"], in: dir)
        XCTAssertNotEqual(r.status, 0)
        let ours = r.stderr.split(separator: "\n").filter { $0.hasPrefix("fail.cnx:") }
        XCTAssertEqual(ours.count, 1, r.stderr)
        XCTAssertTrue(ours.first?.hasPrefix("fail.cnx:5: ") ?? false, r.stderr)
        XCTAssertFalse(r.stdout.contains("train steps"), r.stdout)
        XCTAssertFalse(r.stderr.contains("train steps"), r.stderr)
    }

    func testAnUnknownCommandFailsOnEveryRank() throws {
        let mpirun = try Self.mpirun(), cnx = try Self.binary()
        let dir = try Self.directory()
        let r = try Self.run(mpirun, Self.mpirunFlags + [cnx.path, "-c", "rng seed 1; model biuld tiny"], in: dir)
        XCTAssertNotEqual(r.status, 0)
        let ours = r.stderr.split(separator: "\n").filter { $0.hasPrefix("-c:2: ") }
        XCTAssertEqual(ours.count, 1, r.stderr)
    }

    // MARK: - Launching

    static let mpirunFlags = ["--allow-run-as-root", "--oversubscribe", "-np", "2"]

    /// `mpirun` on PATH, or a skip (a failure under CI).
    static func mpirun() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        let message = "mpirun is not on PATH: install openmpi-bin (scripts/bootstrap does) to run the MPI tests"
        if Golden.isCI() { XCTFail(message); throw CIFailure(message) }
        throw XCTSkip(message)
    }

    /// The built `cnx`, or a skip (a failure under CI).
    static func binary() throws -> URL {
        let url = Golden.repoRoot.appendingPathComponent(".build/debug/cnx")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            let message = "\(url.path) is missing: run 'swift build --product cnx' (make test does)"
            if Golden.isCI() { XCTFail(message); throw CIFailure(message) }
            throw XCTSkip(message)
        }
        return url
    }

    struct CIFailure: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = d } }

    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs `executable` in `directory` (stdin empty, output to files), killed after `timeout` seconds.
    static func run(_ executable: URL, _ arguments: [String], in directory: URL,
                    timeout: TimeInterval = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        // Shared memory between ranks without CMA (unavailable in most containers).
        env["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        process.environment = env
        let out = directory.appendingPathComponent("stdout.txt"), err = directory.appendingPathComponent("stderr.txt")
        try Data().write(to: out)
        try Data().write(to: err)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            XCTFail("\(executable.lastPathComponent) \(arguments.joined(separator: " ")) ran past \(Int(timeout)) s")
        }
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    /// The `result.fields` of a `--json` line.
    static func record(_ line: Substring) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let result = object?["result"] as? [String: Any]
        return result?["fields"] as? [String: Any] ?? [:]
    }
}
