import Datasets
import Optimizers
import Tensors

/// What a data-parallel train step and evaluation share across replicas
/// (`ComputeContext.replicas`, set by `cnx` under `mpirun`).
///
/// Each replica holds the same parameters and trains on its rows of the
/// global batch (`BatchShard`), so its loss and gradients are means over its
/// `B` rows. Every replica has the same `B`, so the mean over the global
/// batch `G = N·B` is the mean of the replicas' means: summed across
/// replicas, then scaled by `1/N` (exact for a power-of-two `N`). The result
/// equals a single process's at batch `G` up to float32 summation order.
/// The train step sums gradients in buckets while backward runs
/// (`GradientBuckets`); under MultiSteps, `train` reduces only on the
/// applying mini-step (`GradientReduction.onApply`).
public enum DataParallel {
    /// Averages a MultiSteps accumulator holding each replica's own
    /// gradients across replicas, so every replica holds the global one
    /// (what `train` leaves behind when it stops mid-window). One allreduce.
    public static func averageAccumulator(_ state: inout WorkbenchState, _ replicas: ReplicaGroup) {
        guard case let .multiSteps(mini, step, acc, inner) = state.optimizerState else { return }
        state.optimizerState = .multiSteps(miniStep: mini, gradientStep: step, acc: mean(acc, replicas), inner: inner)
    }

    /// Replaces every replica's parameters (and EMA) by rank 0's bits, after
    /// `params import` or `session load`: the replicas start from exactly
    /// the same numbers even if a file differed behind the same path.
    /// - Returns: an error when the replicas' parameters differ in size (nothing changes then).
    public static func broadcastParameters(_ state: inout WorkbenchState, _ replicas: ReplicaGroup) -> String? {
        let size = Int64(state.params?.scalarCount ?? -1)
        guard replicas.minimum(size) == -replicas.minimum(-size) else {
            return "the processes loaded parameters of different sizes (this rank: \(size) numbers): every rank must read the same file; check the paths on each machine"
        }
        if let params = state.params { state.params = broadcast(params, replicas) }
        return nil
    }

    /// Rank 0's tree on every replica (same paths and shapes everywhere).
    static func broadcast(_ tree: TensorTree, _ replicas: ReplicaGroup) -> TensorTree {
        var bytes = [UInt8]()
        if replicas.rank == 0 {
            bytes.reserveCapacity(tree.scalarCount * 4)
            for (_, t) in tree { t.scalars.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        }
        let received = replicas.broadcast(bytes, from: 0)
        precondition(received.count == tree.scalarCount * 4, "rank 0's parameters have \(received.count / 4) numbers, this rank's \(tree.scalarCount)")
        var offset = 0
        return tree.map { _, t in
            defer { offset += t.count * 4 }
            var scalars = [Float](repeating: 0, count: t.count)
            scalars.withUnsafeMutableBytes { $0.copyBytes(from: received[offset..<(offset + t.count * 4)]) }
            return Tensor(shape: t.shape, scalars: scalars)
        }
    }

    /// The mean across replicas of each replica's gradient tree, as one
    /// allreduce over the leaves laid end to end (in the tree's order).
    static func mean(_ grads: TensorTree, _ replicas: ReplicaGroup) -> TensorTree {
        var flat = [Float]()
        flat.reserveCapacity(grads.reduce(0) { $0 + $1.value.count })
        for (_, t) in grads { flat.append(contentsOf: t.scalars) }
        flat.withUnsafeMutableBufferPointer { replicas.sumInPlace($0) }
        let scale = 1 / Float(replicas.count)
        var offset = 0
        return grads.map { _, t in
            defer { offset += t.count }
            return Tensor(shape: t.shape, scalars: flat[offset..<(offset + t.count)].map { $0 * scale })
        }
    }

    /// The mean across replicas of each replica's `value` (a batch mean).
    static func mean(_ value: Float, _ replicas: ReplicaGroup) -> Float {
        var v = [value]
        v.withUnsafeMutableBufferPointer { replicas.sumInPlace($0) }
        return v[0] * (1 / Float(replicas.count))
    }

    /// A 62-bit fingerprint of what must be the same on every replica:
    /// the parameters' bits, the counters and data cursor, and the data
    /// (its class names, and each split's size, labels and file names).
    /// Replicas compare theirs after every command to catch a drift — a
    /// rank that read a different file or folder — as soon as it happens.
    public static func fingerprint(_ state: WorkbenchState) -> Int64 {
        var h = Fingerprint()
        h.add(state.params)
        for n in [state.counters.miniSteps, state.counters.optimizerSteps, state.counters.cursor.epoch,
                  state.counters.cursor.sample] { h.add(UInt64(bitPattern: Int64(n))) }
        if let data = state.data {
            for name in data.splits.classNames { h.add(name) }
            for split in Split.allCases {
                let ds = data.splits[split]
                h.add(UInt64(ds.count))
                for i in 0..<ds.count {
                    h.add(UInt64(ds.label(at: i)))
                    h.addFileName(ds.source(at: i))
                }
            }
        }
        return h.value
    }

    /// The fingerprint of a tree's bits alone (see `fingerprint(_: WorkbenchState)`).
    public static func fingerprint(_ tree: TensorTree?) -> Int64 {
        var h = Fingerprint()
        h.add(tree)
        return h.value
    }
}

/// FNV-1a over 64-bit words, kept to 62 bits (so its negation fits an Int64).
struct Fingerprint {
    private var h: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ word: UInt64) { h = (h ^ word) &* 0x100_0000_01b3 }
    mutating func add(_ text: String) {
        for b in text.utf8 { add(UInt64(b)) }
        add(UInt64(text.utf8.count))
    }
    /// The part of `path` after its last '/', without allocating.
    mutating func addFileName(_ path: String) {
        let bytes = path.utf8
        let name = bytes.lastIndex(of: UInt8(ascii: "/")).map { bytes[bytes.index(after: $0)...] } ?? bytes[...]
        for b in name { add(UInt64(b)) }
        add(UInt64(name.count))
    }
    /// Every float's bit pattern in the tree's order, and each tensor's size.
    mutating func add(_ tree: TensorTree?) {
        for (_, t) in tree ?? TensorTree() {
            var local = h
            t.scalars.withUnsafeBufferPointer { b in
                for x in b { local = (local ^ UInt64(x.bitPattern)) &* 0x100_0000_01b3 }
            }
            h = local
            add(UInt64(t.count))
        }
    }
    var value: Int64 { Int64(h & ((1 << 62) - 1)) }
}
