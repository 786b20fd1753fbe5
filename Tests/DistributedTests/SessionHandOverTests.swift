import Foundation
import XCTest
import SafeTensors
import Tensors

/// MultiSteps accumulation under mpirun (gradients reduced only on the
/// applying mini-step; `train` stopping mid-window averages the
/// accumulator), and a session saved by 2 ranks that continues in one
/// process: `--batch` is per rank, so one process continues with the global batch.
final class SessionHandOverTests: XCTestCase {
    static func setup(batch: Int) -> String {
        """
        data synthetic --classes 10 --count 320 --val-count 90 --batch \(batch)
        data augment off mix
        model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 10 --image-size 32 --drop-path 0.3
        rng seed 3
        model init
        optim adamw --lr 0.004 --accumulate 2

        """
    }

    func testASessionSavedByTwoRanksContinuesInOneProcess() throws {
        let mpirun = try MPIRunTests.mpirun(), cnx = try MPIRunTests.binary()
        let one = try MPIRunTests.directory(), two = try MPIRunTests.directory()
        // 5 steps: the session is saved in the middle of an accumulation window.
        try (Self.setup(batch: 8) + "train steps 3\ntrain steps 2\nsession save handover\n")
            .write(to: two.appendingPathComponent("first.cnx"), atomically: true, encoding: .utf8)
        let first = try MPIRunTests.run(mpirun, MPIRunTests.mpirunFlags + [cnx.path, "run", "first.cnx", "--threads", "1"], in: two)
        XCTAssertEqual(first.status, 0, first.stderr)
        let resumed = try MPIRunTests.run(cnx, ["-c", "session load handover; train steps 5 --batch 16; params export q.safetensors",
                                                "--threads", "1"], in: two)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)

        try (Self.setup(batch: 16) + "train steps 10\nparams export q.safetensors\n")
            .write(to: one.appendingPathComponent("all.cnx"), atomically: true, encoding: .utf8)
        let single = try MPIRunTests.run(cnx, ["run", "all.cnx", "--threads", "1"], in: one)
        XCTAssertEqual(single.status, 0, single.stderr)

        let a = try SafeTensorsFile.read(one.appendingPathComponent("q.safetensors")).tree()
        let b = try SafeTensorsFile.read(two.appendingPathComponent("q.safetensors")).tree()
        let worst = MPIRunTests.worstDifference(a, b)
        print("SessionHandOverTests: worst per-tensor relative difference \(worst)")
        XCTAssertLessThanOrEqual(worst, MPIRunTests.toleranceAfterTwentySteps)
    }
}
