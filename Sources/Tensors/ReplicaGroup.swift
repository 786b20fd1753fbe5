/// The processes of a data-parallel job, as compute sees them: `count`
/// replicas of the same session, each with a `rank` (0 owns the terminal
/// and the files). `cnx` makes one over MPI's world when it runs under
/// `mpirun` (the `Distributed` module); a single process has none.
///
/// Every call is collective: each replica makes the same calls in the same
/// order (the replicas run the same commands, SPMD). Calls come from one
/// thread at a time.
public protocol ReplicaGroup: AnyObject, Sendable {
    /// This replica's number, 0 ..< `count`.
    var rank: Int { get }
    /// How many replicas there are (>= 1).
    var count: Int { get }
    /// Replaces `buffer` by the element-wise sum of every replica's `buffer`.
    func sumInPlace(_ buffer: UnsafeMutableBufferPointer<Float>)
    /// Replaces `buffer` by the element-wise sum of every replica's `buffer`.
    func sumInPlace(_ buffer: UnsafeMutableBufferPointer<Double>)
    /// The element-wise sum of every replica's `values`.
    func sum(_ values: [Int64]) -> [Int64]
    /// The smallest of every replica's `value`.
    func minimum(_ value: Int64) -> Int64
    /// `bytes` of replica `root`, on every replica (the others' argument is ignored).
    func broadcast(_ bytes: [UInt8], from root: Int) -> [UInt8]
    /// Starts replacing `buffer` by the element-wise sum of every replica's
    /// `buffer` without waiting (MPI's `MPI_Iallreduce`): the buffer must stay
    /// allocated and untouched until the returned sum is `wait`ed for.
    /// Every replica starts its sums in the same order.
    func startSum(_ buffer: UnsafeMutableBufferPointer<Float>) -> any PendingSum
}

/// A sum across replicas in flight (`ReplicaGroup.startSum`).
public protocol PendingSum: AnyObject {
    /// Lets the sum progress; true once it is complete.
    func test() -> Bool
    /// Waits until the sum is complete.
    func wait()
}

/// A sum already complete when it was started (a blocking group's).
public final class CompletedSum: PendingSum {
    public init() {}
    public func test() -> Bool { true }
    public func wait() {}
}

extension ReplicaGroup {
    /// A blocking sum, complete on return: for groups without non-blocking collectives.
    public func startSum(_ buffer: UnsafeMutableBufferPointer<Float>) -> any PendingSum {
        sumInPlace(buffer)
        return CompletedSum()
    }
}

extension ComputeContext {
    /// The data-parallel replicas this compute is one of, or nil (a single
    /// process, or one replica: nothing to share).
    public var dataParallel: ReplicaGroup? {
        guard let replicas, replicas.count > 1 else { return nil }
        return replicas
    }
}
