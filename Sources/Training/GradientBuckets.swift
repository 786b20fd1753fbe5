import Dispatch
import Foundation
import Tensors

/// Gradients summed across replicas in buckets while backward still runs,
/// as PyTorch DDP and Horovod do.
///
/// The parameters are cut, in the order backward finishes them (the reverse
/// of the tree: head first, stem last), into buckets of about `bucketBytes`.
/// `add` copies each finished gradient into its bucket's buffer; when a
/// bucket is complete — and every bucket before it has started, so every
/// replica starts the same sums in the same order — one in-place float32
/// sum (`MPI_Iallreduce`) starts on it, and backward goes on computing the
/// earlier layers meanwhile. `finish` waits for the rest and returns each
/// gradient summed and scaled by `1/N`.
///
/// The numbers do not depend on the bucket size: each element is summed
/// across replicas on its own, in an order the library fixes per element
/// (see `MPIWorld.startSum`), and scaled by the same `1/N` afterwards.
final class GradientBuckets {
    /// DDP's default bucket size (25 MiB).
    static let defaultBucketBytes = 25 << 20

    /// The bucket size: `CNX_BUCKET_BYTES` when set (tests vary it), else 25 MiB.
    static var bucketBytes: Int {
        if let text = getenv("CNX_BUCKET_BYTES").map({ String(cString: $0) }), let n = Int(text), n >= 4 { return n }
        return defaultBucketBytes
    }

    private struct Slot { var bucket: Int; var offset: Int; var count: Int; var shape: [Int] }
    private struct Bucket {
        var buffer: UnsafeMutableBufferPointer<Float>
        var missing: Int
        var sum: (any PendingSum)?
    }

    private let replicas: ReplicaGroup
    private let transform: ((String, Tensor) -> Tensor)?
    private let paths: [String]
    private var slots: [String: Slot] = [:]
    private var buckets: [Bucket] = []
    /// Buckets started so far (they start in index order).
    private var started = 0
    /// Nanoseconds spent in this object's own calls (copying, starting, waiting).
    private(set) var waitNanoseconds: UInt64 = 0
    private(set) var copyNanoseconds: UInt64 = 0

    /// - Parameters:
    ///   - shapes: every parameter's path and shape, in tree order.
    ///   - bucketBytes: the most float32 bytes a bucket holds (a larger tensor gets a bucket of its own).
    ///   - transform: applied to each gradient before it is sent (MultiSteps' fold), or nil.
    init(shapes: [(path: String, shape: [Int])], replicas: ReplicaGroup, bucketBytes: Int = GradientBuckets.bucketBytes,
         transform: ((String, Tensor) -> Tensor)? = nil) {
        self.replicas = replicas
        self.transform = transform
        paths = shapes.map(\.path)
        let capacity = max(bucketBytes / MemoryLayout<Float>.stride, 1)
        var sizes: [Int] = []
        var current = 0, members = 0
        var memberCounts: [Int] = []
        for (path, shape) in shapes.reversed() {
            let n = shape.reduce(1, *)
            if members > 0 && current + n > capacity {
                sizes.append(current); memberCounts.append(members)
                current = 0; members = 0
            }
            slots[path] = Slot(bucket: sizes.count, offset: current, count: n, shape: shape)
            current += n; members += 1
        }
        if members > 0 { sizes.append(current); memberCounts.append(members) }
        for (size, members) in zip(sizes, memberCounts) {
            buckets.append(Bucket(buffer: .allocate(capacity: size), missing: members, sum: nil))
        }
    }

    deinit {
        // A sum still in flight writes into its buffer: wait before freeing it.
        for b in buckets {
            b.sum?.wait()
            b.buffer.deallocate()
        }
    }

    /// How many buckets the gradients travel in.
    var bucketCount: Int { buckets.count }

    /// Copies finished gradients into their buckets; starts every bucket that
    /// is complete and next in order, and lets the sums in flight progress.
    func add(_ finished: [(path: String, gradient: Tensor)]) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        for (path, raw) in finished {
            let g = transform?(path, raw) ?? raw
            guard let slot = slots[path] else { preconditionFailure("gradient '\(path)' is not a parameter") }
            precondition(g.count == slot.count, "gradient '\(path)' has \(g.count) elements, its parameter \(slot.count)")
            g.scalars.withUnsafeBufferPointer { src in
                _ = UnsafeMutableBufferPointer(rebasing: buckets[slot.bucket].buffer[slot.offset..<(slot.offset + slot.count)])
                    .initialize(from: src)
            }
            buckets[slot.bucket].missing -= 1
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        while started < buckets.count && buckets[started].missing == 0 {
            buckets[started].sum = replicas.startSum(buckets[started].buffer)
            started += 1
        }
        // Open MPI moves a non-blocking collective along only inside MPI calls.
        for b in buckets[..<started] { _ = b.sum?.test() }
        copyNanoseconds += t1 - t0
        waitNanoseconds += DispatchTime.now().uptimeNanoseconds - t1
    }

    /// Waits for every sum; returns each parameter's gradient summed across
    /// replicas and scaled by `1/N`, in tree order.
    /// - Precondition: every parameter's gradient was added.
    func finish() -> TensorTree {
        precondition(started == buckets.count, "\(buckets.count - started) gradient bucket(s) never completed")
        let t0 = DispatchTime.now().uptimeNanoseconds
        for b in buckets { b.sum?.wait() }
        waitNanoseconds += DispatchTime.now().uptimeNanoseconds - t0
        let scale = 1 / Float(replicas.count)
        var out = TensorTree()
        for path in paths {
            let slot = slots[path]!
            let values = buckets[slot.bucket].buffer[slot.offset..<(slot.offset + slot.count)]
            out[path] = Tensor(shape: slot.shape, scalars: values.map { $0 * scale })
        }
        return out
    }
}
