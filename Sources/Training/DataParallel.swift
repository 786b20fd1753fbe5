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
enum DataParallel {
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
}
