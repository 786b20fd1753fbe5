import Models
import Tensors

/// Each sample's share of a block's gradient, for the step in progress.
///
/// The backward pass is linear in the loss gradient, so sample i's share is
/// the backward of `dLogits` with every other row zeroed. A sample that
/// stochastic depth dropped at a block never reaches that block's branch:
/// its share of the block's parameter gradient is exactly zero.
extension TrainEngine {
    /// One sample's gradient share at one block.
    public struct SampleGradient: Sendable, Equatable {
        public var sample: Int
        /// Whether stochastic depth kept the sample at the block (nil: the block never drops).
        public var kept: Bool?
        /// ‖∂loss_i/∂θ‖ over the block's parameters.
        public var norm: Float
    }

    /// Per-sample gradient norms of the block named `block` (the parameters
    /// whose path contains it), for the step in progress after `step loss`.
    /// Runs one backward pass per sample on a copy of the forward cache; the
    /// session does not change.
    public static func perSampleGradients(_ state: WorkbenchState, block: String) throws -> [SampleGradient] {
        guard let p = state.pending, p.stage == .loss, let cache = p.cache, let d = p.dLogits else {
            throw WorkbenchError("per-sample gradients need a step stopped after its loss: run `step forward` then `step loss` (not yet `step backward`)")
        }
        let (model, params) = try state.requireParameters()
        guard let record = p.blockRecords.first(where: { $0.block.name == block || $0.block.name.hasSuffix(block) }) else {
            throw WorkbenchError("no block '\(block)': give a block name like \(p.blockRecords.first?.block.name ?? "BottleneckConvNeXtBlock_01_01") (show droppath lists them)")
        }
        let rows = d.shape[0], cols = d.shape[1]
        var out: [SampleGradient] = []
        for i in 0..<rows {
            // The loss gradient of sample i alone.
            var scalars = [Float](repeating: 0, count: rows * cols)
            for j in 0..<cols { scalars[i * cols + j] = d.scalars[i * cols + j] }
            let grads = model.backward(dLogits: Tensor(shape: d.shape, scalars: scalars), params: params, cache: cache)
            var sum = 0.0
            for (path, g) in grads where path.contains("/\(record.block.name)/") { sum += sumOfSquares(g) }
            out.append(SampleGradient(sample: i, kept: record.kept?[i], norm: Float(sum.squareRoot())))
        }
        return out
    }
}
