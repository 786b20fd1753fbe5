import Tensors
import JaxRandom

extension ConvNeXt {
    /// Checks an input batch: NHWC `[B, H, W, 3]` with B, H, W ≥ 1 and finite values.
    /// - Throws: `ModelError` saying what is wrong.
    public func validateInput(_ x: Tensor) throws {
        guard x.rank == 4, x.shape[3] == 3 else {
            throw ModelError("input has shape \(x.shape); expected NHWC [batch, height, width, 3]")
        }
        guard x.shape[0] >= 1, x.shape[1] >= 1, x.shape[2] >= 1 else {
            throw ModelError("input has an empty dimension, shape \(x.shape)")
        }
        if let i = x.scalars.firstIndex(where: { !$0.isFinite }) {
            throw ModelError("input holds a non-finite value (\(x.scalars[i]) at flat index \(i))")
        }
    }

    /// Runs the network on `x` (NHWC `[B, H, W, 3]`).
    ///
    /// In train mode stochastic depth and head dropout draw their masks from
    /// `rngs` exactly as Flax's `model.apply(..., rngs=...)` would; nothing is
    /// consumed (the same rngs give the same masks). Eval mode ignores `rngs`.
    /// - Precondition: `params` fits `parameterSpecs()` (see
    ///   `validateParameters`), and `rngs` is given when `train` is true and
    ///   the model has any stochastic layer.
    /// - Returns: logits `[B, classes]` and what `backward` needs.
    public func forward(_ x: Tensor, params: TensorTree, train: Bool, rngs: ApplyRNGs?) -> (logits: Tensor, cache: ForwardCache) {
        forward(x, params: params, train: train, rngs: rngs, record: true)
    }

    /// The forward pass; with `record` false (inference) no block activation
    /// is kept and no statistics are taken, so each block's temporaries are
    /// freed as the pass goes on. The logits are the same bits either way:
    /// the same kernels run on the same values in the same order.
    func forward(_ x: Tensor, params: TensorTree, train: Bool, rngs: ApplyRNGs?, record: Bool) -> (logits: Tensor, cache: ForwardCache) {
        Self.compute {
            config.dtype == .bf16 ? forwardPassBF16(x, params: params, train: train, rngs: rngs, record: record)
                                  : forwardPass(x, params: params, train: train, rngs: rngs, record: record)
        }
    }

    private func forwardPass(_ x: Tensor, params: TensorTree, train: Bool, rngs: ApplyRNGs?, record: Bool) -> (logits: Tensor, cache: ForwardCache) {
        precondition(x.rank == 4 && x.shape[3] == 3, "input must be NHWC [B, H, W, 3], got \(x.shape)")
        let c = config
        let batch = x.shape[0]
        let stochastic = train && (c.dropPathRate > 0 || c.headDropout > 0)
        precondition(!stochastic || rngs != nil, "a train-mode forward with stochastic layers needs ApplyRNGs")
        let eps = c.layerNormEpsilon
        let p = self.params(params)

        // Stem: 4x4/4 patchify conv (Flax SAME padding), then LayerNorm_0.    [B,H,W,3] -> [B,H/4,W/4,C0]
        let stem = OpProfile.time(.stem) { patchConvForward(x, weight: p.stem.kernel, bias: p.stem.bias, stride: 4) }
        let ln0 = OpProfile.time(.layerNorm) { layerNormForward(stem, scale: p.stemNorm.scale, bias: p.stemNorm.bias, epsilon: eps) }
        let stemNorm = ForwardCache.Norm(input: stem, mean: ln0.mean, rstd: ln0.rstd)
        var h = ln0.y

        var stages: [ForwardCache.Stage] = []
        var records: [BlockRecord] = []
        let allBlocks = blocks
        for (s, stageParams) in p.stages.enumerated() {
            var stage = ForwardCache.Stage(norm: nil, normOutput: nil, blocks: [])
            if let ds = stageParams.downsample {
                // LayerNorm_s, then the 2x2/2 downsample conv.                 [B,H,W,C_prev] -> [B,H/2,W/2,C]
                let n = OpProfile.time(.layerNorm) { layerNormForward(h, scale: ds.norm.scale, bias: ds.norm.bias, epsilon: eps) }
                if record {
                    stage.norm = ForwardCache.Norm(input: h, mean: n.mean, rstd: n.rstd)
                    stage.normOutput = n.y
                }
                h = OpProfile.time(.downsample) { patchConvForward(n.y, weight: ds.conv.kernel, bias: ds.conv.bias, stride: 2) }
            }
            for (j, blockParams) in stageParams.blocks.enumerated() {
                let info = allBlocks[blockIndex(stage: s, index: j)]
                // Stochastic depth: whole samples dropped, kept ones scaled by float32(1/keep_prob).
                var keep: [Bool]? = nil
                let scale = Self.keepScale(rate: info.dropPathRate)
                if train, let rngs {
                    keep = Self.stochasticDepthMask(rngs.stochasticDepth, block: info.name, rate: info.dropPathRate, batch: batch,
                                                    shard: rngs.shard)
                }
                if record || keep != nil {
                    let (out, blockCache) = blockForward(h, blockParams, keep: keep, keepScale: scale, epsilon: eps)
                    if record {
                        // The branch after LayerScale, before stochastic depth.
                        let branchStats = OpProfile.time(.statistics) { ActivationStatistics(blockCache.branch.tensor, channelScale: blockParams.gamma) }
                        let outputStats = OpProfile.time(.statistics) { ActivationStatistics(out) }
                        records.append(BlockRecord(block: info, output: outputStats, branch: branchStats, kept: keep))
                        stage.blocks.append(blockCache)
                    }
                    h = out
                } else {
                    blockForwardInPlace(&h, blockParams, epsilon: eps)
                }
            }
            stages.append(stage)
        }

        // Head: global average pool -> LayerNorm_0 -> [Dropout_0] -> Head Dense.   [B,h,w,C_last] -> [B,classes]
        let featureShape = h.shape
        let pooled = OpProfile.time(.head) { globalAvgPoolForward(h) }
        let hn = OpProfile.time(.layerNorm) { layerNormForward(pooled, scale: p.norm.scale, bias: p.norm.bias, epsilon: eps) }
        var headInput = hn.y
        var headKeep: [Bool]? = nil
        let headScale = Self.keepScale(rate: c.headDropout)
        if train, c.headDropout > 0, let rngs {
            // A shard takes its rows of the mask drawn for the whole batch.
            let perRow = hn.y.count / batch
            let keep = rngs.shard.map { $0.slice(Self.headDropoutMask(rngs.dropout, rate: c.headDropout, count: $0.global * perRow), perRow: perRow) }
                ?? Self.headDropoutMask(rngs.dropout, rate: c.headDropout, count: hn.y.count)
            headInput = dropoutForward(hn.y, keep: keep, scale: headScale)
            headKeep = keep
        }
        let logits = OpProfile.time(.gemm) { denseForward(headInput, weight: p.head.kernel, bias: p.head.bias) }
        let cache = ForwardCache(inputShape: x.shape, train: train, input: x, stemNorm: stemNorm, stages: stages,
                                 featureShape: featureShape,
                                 headNorm: ForwardCache.Norm(input: pooled, mean: hn.mean, rstd: hn.rstd),
                                 headInput: headInput, headKeep: headKeep, headKeepScale: headScale,
                                 blockRecords: records)
        return (logits, cache)
    }

    /// Forward in eval mode, logits only.
    public func logits(_ x: Tensor, params: TensorTree) -> Tensor {
        forward(x, params: params, train: false, rngs: nil, record: false).logits
    }
}
