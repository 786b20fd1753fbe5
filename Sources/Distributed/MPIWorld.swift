import CMPI
import Foundation
import Tensors

/// MPI's world (`MPI_COMM_WORLD`) as the replicas of a data-parallel job.
///
/// `cnx` starts one only when a launcher started it (`launched`): a
/// single-process `cnx` never initialises MPI. Errors on the world are
/// fatal (`MPI_ERRORS_ARE_FATAL`): a failed collective, or a peer that
/// died, ends every process instead of leaving it waiting; when `mpirun`
/// ends the job with SIGTERM, each rank says so in one line. Collectives are
/// called from one thread at a time (`MPI_THREAD_SERIALIZED`).
public final class MPIWorld: ReplicaGroup, @unchecked Sendable {
    public let rank: Int
    public let count: Int
    private var finalized = false
    private let lock = NSLock()

    /// The environment variables MPI launchers set in each process they
    /// start: Open MPI's `mpirun`, PMIx (Slurm `srun --mpi=pmix`), PMI.
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]

    /// The Open MPI parameter choosing `MPI_Iallreduce`'s algorithm (libnbc):
    /// cnx sets it to 3, Rabenseifner's (recursive-halving reduce-scatter,
    /// then all-gather): `2(N−1)/N · S` bytes per rank like a ring, and each
    /// element summed along the same tree of ranks whatever the buffer's
    /// length, so the bucket size changes no bit (`BucketOrderTests`). A
    /// ring would change the order with the element's place in its bucket.
    public static let iallreduceAlgorithmVariable = "OMPI_MCA_coll_libnbc_iallreduce_algorithm"

    /// Whether this process was started by an MPI launcher.
    public static func launched(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        launcherVariables.contains { environment[$0] != nil }
    }

    /// Initialises MPI (once per process) and joins the world.
    /// - Throws: `DistributedError` when MPI cannot start or lacks thread support.
    public init() throws {
        // Gradient sums (`startSum`): Rabenseifner's reduce-scatter and
        // all-gather, unless the person chose another algorithm.
        setenv(Self.iallreduceAlgorithmVariable, "3", 0)
        var provided: Int32 = 0
        let status = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided)
        guard status == MPI_SUCCESS else { throw DistributedError("MPI_Init_thread failed (error \(status))") }
        guard provided >= Int32(MPI_THREAD_SERIALIZED) else {
            MPI_Finalize()
            throw DistributedError("this MPI library gives thread level \(provided); cnx needs MPI_THREAD_SERIALIZED")
        }
        let world = cnx_mpi_comm_world()
        MPI_Comm_set_errhandler(world, cnx_mpi_errors_are_fatal())
        // When mpirun ends the job (a rank died), one line says why on each rank left.
        _ = cnx_mpi_announce_termination()
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &n)
        rank = Int(r)
        count = Int(n)
    }

    /// Waits until every process gets here.
    public func barrier() {
        MPI_Barrier(cnx_mpi_comm_world())
    }

    /// Leaves MPI (after a barrier, so no process leaves while another still
    /// talks to it). Safe to call twice.
    public func finalize() {
        lock.lock(); defer { lock.unlock() }
        guard !finalized else { return }
        finalized = true
        MPI_Barrier(cnx_mpi_comm_world())
        MPI_Finalize()
    }

    public func sumInPlace(_ buffer: UnsafeMutableBufferPointer<Float>) {
        allreduce(buffer, type: cnx_mpi_float())
    }

    public func sumInPlace(_ buffer: UnsafeMutableBufferPointer<Double>) {
        allreduce(buffer, type: cnx_mpi_double())
    }

    public func sum(_ values: [Int64]) -> [Int64] {
        var v = values
        v.withUnsafeMutableBufferPointer { allreduce($0, type: cnx_mpi_int64()) }
        return v
    }

    public func minimum(_ value: Int64) -> Int64 {
        var v = value
        MPI_Allreduce(cnx_mpi_in_place(), &v, 1, cnx_mpi_int64(), cnx_mpi_min(), cnx_mpi_comm_world())
        return v
    }

    public func broadcast(_ bytes: [UInt8], from root: Int) -> [UInt8] {
        precondition((0..<count).contains(root), "broadcast root \(root) of \(count) processes")
        // The length first, then the bytes.
        var length = Int64(rank == root ? bytes.count : 0)
        MPI_Bcast(&length, 1, cnx_mpi_int64(), Int32(root), cnx_mpi_comm_world())
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length))
        var offset = 0
        // MPI counts are Int32: send in pieces of at most 1 GiB.
        while offset < out.count {
            let n = min(out.count - offset, 1 << 30)
            out.withUnsafeMutableBytes { raw in
                _ = MPI_Bcast(raw.baseAddress! + offset, Int32(n), cnx_mpi_byte(), Int32(root), cnx_mpi_comm_world())
            }
            offset += n
        }
        return out
    }

    /// `MPI_Iallreduce` in place (float32 sum), in pieces of at most 2^30
    /// elements, with the algorithm `iallreduceAlgorithmVariable` names.
    public func startSum(_ buffer: UnsafeMutableBufferPointer<Float>) -> any PendingSum {
        var requests: [MPI_Request?] = []
        if let base = buffer.baseAddress {
            var offset = 0
            while offset < buffer.count {
                let n = min(buffer.count - offset, 1 << 30)
                var request: MPI_Request? = cnx_mpi_request_null()
                MPI_Iallreduce(cnx_mpi_in_place(), base + offset, Int32(n), cnx_mpi_float(), cnx_mpi_sum(),
                               cnx_mpi_comm_world(), &request)
                requests.append(request)
                offset += n
            }
        }
        return MPIPendingSum(requests)
    }

    /// In-place sum over the world, in pieces of at most 2^30 elements (MPI counts are Int32).
    private func allreduce<T>(_ buffer: UnsafeMutableBufferPointer<T>, type: MPI_Datatype) {
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let n = min(buffer.count - offset, 1 << 30)
            MPI_Allreduce(cnx_mpi_in_place(), base + offset, Int32(n), type, cnx_mpi_sum(), cnx_mpi_comm_world())
            offset += n
        }
    }
}

/// An `MPI_Iallreduce` in flight.
final class MPIPendingSum: PendingSum {
    private var requests: [MPI_Request?]
    private var done = false

    init(_ requests: [MPI_Request?]) { self.requests = requests }

    func test() -> Bool {
        guard !done else { return true }
        var flag: Int32 = 0
        MPI_Testall(Int32(requests.count), &requests, &flag, nil)
        done = flag != 0
        return done
    }

    func wait() {
        guard !done else { return }
        MPI_Waitall(Int32(requests.count), &requests, nil)
        done = true
    }
}

/// An MPI start-up failure, in one line.
public struct DistributedError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
