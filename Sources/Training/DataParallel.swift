import Datasets
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
/// Gradients are reduced on every mini-step, also inside MultiSteps.
public enum DataParallel {
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
