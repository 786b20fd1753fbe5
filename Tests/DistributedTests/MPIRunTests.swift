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
    static let gradientNormTolerance = 1e-5
    static let toleranceAfterOneStep: Float = 1e-4
    static let toleranceAfterTwentySteps: Float = 3e-3

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
        step forward
        step loss
        step backward
        show grads
        step update
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
        XCTAssertEqual(lines1.count, 15)
        XCTAssertEqual(lines2.count, 15, multi.stdout)

        // The first step's gradients, summed across ranks and scaled: each
        // parameter's norm as one process computes it, to summation order.
        let grads1 = try Self.rows(lines1[9]), grads2 = try Self.rows(lines2[9])
        XCTAssertEqual(grads1.count, 56)
        XCTAssertEqual(grads1.map(\.0), grads2.map(\.0))
        var worstNorm = 0.0
        for ((path, a), (_, b)) in zip(grads1, grads2) {
            worstNorm = max(worstNorm, abs(a - b) / max(a, 1e-30))
            XCTAssertEqual(a, b, accuracy: Self.gradientNormTolerance * a, path)
        }
        print("MPIRunTests: worst relative difference of a gradient norm \(worstNorm)")

        for (name, tolerance) in [("p1", Self.toleranceAfterOneStep), ("p20", Self.toleranceAfterTwentySteps)] {
            let a = try SafeTensorsFile.read(one.appendingPathComponent("\(name).safetensors")).tree()
            let b = try SafeTensorsFile.read(two.appendingPathComponent("\(name).safetensors")).tree()
            let worst = Self.worstDifference(a, b)
            XCTAssertLessThanOrEqual(worst, tolerance, name)
            // For the record (docs/distributed.md quotes it).
            print("MPIRunTests: \(name) worst per-tensor relative difference \(worst)")
        }
        // The loss is reduced across ranks: the global batch's mean, to float32 rounding.
        let loss1 = try Self.record(lines1[12])["last_loss"] as? Double, loss2 = try Self.record(lines2[12])["last_loss"] as? Double
        XCTAssertNotNil(loss1)
        XCTAssertEqual(loss1 ?? 0, loss2 ?? .nan, accuracy: 1e-5 * max(1, abs(loss1 ?? 0)))
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

    /// The largest per-tensor max |a − b| / max(max |a|, 1e-3); infinity when the trees' paths or shapes differ.
    static func worstDifference(_ a: TensorTree, _ b: TensorTree) -> Float {
        guard a.map(\.key) == b.map(\.key) else { return .infinity }
        var worst: Float = 0
        for (path, x) in a {
            guard let y = b[path], x.shape == y.shape else { return .infinity }
            let scale = max(x.scalars.map(abs).max() ?? 0, 1e-3)
            worst = max(worst, (zip(x.scalars, y.scalars).map { abs($0 - $1) }.max() ?? 0) / scale)
        }
        return worst
    }

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

    /// The `(path, value)` rows of a two-column `--json` table.
    static func rows(_ line: Substring) throws -> [(String, Double)] {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let rows = (object?["result"] as? [String: Any])?["rows"] as? [[Any]] ?? []
        return rows.compactMap { row in
            guard row.count == 2, let path = row[0] as? String, let value = row[1] as? Double else { return nil }
            return (path, value)
        }
    }

    /// The `result.fields` of a `--json` line.
    static func record(_ line: Substring) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let result = object?["result"] as? [String: Any]
        return result?["fields"] as? [String: Any] ?? [:]
    }
}
