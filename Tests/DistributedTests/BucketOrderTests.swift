import Foundation
import XCTest
import SafeTensors
import Tensors

/// Cutting the gradients into more, smaller buckets changes no bit: each
/// element is summed across ranks along a tree of ranks fixed per element
/// (Rabenseifner's algorithm, which `MPIWorld` picks for `MPI_Iallreduce`),
/// whatever the bucket's length. Four ranks, where the order of a sum of four
/// numbers matters (with Open MPI's ring, `-x OMPI_MCA_coll_libnbc_iallreduce_algorithm=1`,
/// this test fails: docs/distributed.md).
final class BucketOrderTests: XCTestCase {
    func testTheBucketSizeChangesNoBitOnFourRanks() throws {
        let mpirun = try MPIRunTests.mpirun(), cnx = try MPIRunTests.binary()
        var trees: [TensorTree] = []
        // The default 25 MiB (one bucket for this model), and 4 KiB (about 20 buckets).
        for bucketBytes in ["26214400", "4096"] {
            let dir = try MPIRunTests.directory()
            try (MPIRunTests.script(batch: 4).split(separator: "\n").filter { !$0.hasPrefix("show grads") }
                .joined(separator: "\n") + "\n")
                .write(to: dir.appendingPathComponent("train.cnx"), atomically: true, encoding: .utf8)
            let flags = ["--allow-run-as-root", "--oversubscribe", "-np", "4", "-x", "CNX_BUCKET_BYTES=\(bucketBytes)"]
            let r = try MPIRunTests.run(mpirun, flags + [cnx.path, "run", "train.cnx", "--threads", "1"], in: dir, timeout: 180)
            XCTAssertEqual(r.status, 0, r.stderr)
            trees.append(try SafeTensorsFile.read(dir.appendingPathComponent("p20.safetensors")).tree())
        }
        XCTAssertEqual(trees[0].map(\.key), trees[1].map(\.key))
        for (path, a) in trees[0] {
            let b = trees[1][path]?.scalars ?? []
            let differing = zip(a.scalars, b).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertTrue(differing == 0 && a.count == b.count, "\(path): \(differing) of \(a.count) numbers differ")
        }
    }
}
