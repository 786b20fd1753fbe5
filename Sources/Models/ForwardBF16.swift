import Tensors

// The bf16 model's forward pass (docs/bf16.md): Flax with `dtype=bfloat16`
// as XLA:CPU computes it. Values are float32 tensors holding bf16 values,
// rounded (`r`) exactly where XLA rounds. The convs' and Dense layers' GEMMs
// are bf16 GEMMs with float32 accumulation (`bf16GEMM`: AVX512-BF16, or its
// emulation with the same bits); the other fp32 kernels do the rest of the
// arithmetic on bf16 values.
//
//   conv / Dense:  r(op(r(x), r(W))) (bf16GEMM rounds), then + r(b): rounded unless the only
//                  consumer is a LayerNorm (stem, depthwise: float32 sum)
//   LayerNorm:     float32 statistics and arithmetic, r(output)
//   GELU, LayerScale, stochastic depth, residual: bf16 ops (BF16Ops.swift,
//                  BF16Residual.swift)
//   pool:          float32 mean of the last block's float32 output
//   logits:        r(dot) + r(b), float32 (the loss casts them to float32)

extension ConvNeXt {
    /// The parameters the bf16 model computes with: conv/Dense biases and
    /// the depthwise kernels rounded to bf16; the GEMM kernels as held, since
    /// `bf16GEMM` rounds its operands as it packs them (the same rounding, so
    /// the same bits, without a rounded copy of 99% of the parameters per
    /// pass); LayerNorm parameters stay float32, and gamma is used as held
    /// (bf16 with the seed's quirk, else float32).
    func bf16ComputeParams(_ p: ConvNeXtParams) -> ConvNeXtParams {
        func lin(_ l: LinearLayer<Tensor>) -> LinearLayer<Tensor> {
            LinearLayer(kernel: l.kernel, bias: l.bias.roundedToBF16())
        }
        var q = p
        q.stem = lin(p.stem)
        q.head = lin(p.head)
        for s in q.stages.indices {
            if let ds = p.stages[s].downsample { q.stages[s].downsample?.conv = lin(ds.conv) }
            for j in q.stages[s].blocks.indices {
                let dw = p.stages[s].blocks[j].dw
                q.stages[s].blocks[j].dw = LinearLayer(kernel: dw.kernel.roundedToBF16(), bias: dw.bias.roundedToBF16())
                q.stages[s].blocks[j].fc1 = lin(p.stages[s].blocks[j].fc1)
                q.stages[s].blocks[j].fc2 = lin(p.stages[s].blocks[j].fc2)
            }
        }
        return q
    }

    /// The stochastic-depth multiplier of a bf16 block: Flax divides bf16
    /// values by the Python float keep_prob, which JAX makes a bf16 constant.
    static func bf16KeepScale(rate: Double) -> Float {
        1 / roundToBF16(Float(1.0 - rate))
    }

    func forwardPassBF16(_ x: Tensor, params: TensorTree, train: Bool, rngs: ApplyRNGs?, record: Bool) -> (logits: Tensor, cache: ForwardCache) {
        precondition(x.rank == 4 && x.shape[3] == 3, "input must be NHWC [B, H, W, 3], got \(x.shape)")
        let c = config
        let batch = x.shape[0]
        let stochastic = train && (c.dropPathRate > 0 || c.headDropout > 0)
        precondition(!stochastic || rngs != nil, "a train-mode forward with stochastic layers needs ApplyRNGs")
        let eps = c.layerNormEpsilon
        let gammaBF16 = c.layerScaleIsBF16
        let p = bf16ComputeParams(self.params(params))
        let xr = x.roundedToBF16()

        // Stem: r(conv) + r(b), kept in float32 for LayerNorm_0.
        var stem = OpProfile.time(.stem) { patchConvForward(xr, weight: p.stem.kernel, bias: zerosLike(p.stem.bias), stride: 4, precision: .bf16) }
        bf16AddBias(&stem, p.stem.bias, round: false)
        let ln0 = OpProfile.time(.layerNorm) { layerNormForward(stem, scale: p.stemNorm.scale, bias: p.stemNorm.bias, epsilon: eps) }
        let stemNorm = ForwardCache.Norm(input: stem, mean: ln0.mean, rstd: ln0.rstd)
        var h = ln0.y.roundedToBF16()

        var stages: [ForwardCache.Stage] = []
        var records: [BlockRecord] = []
        let allBlocks = blocks
        for (s, stageParams) in p.stages.enumerated() {
            var stage = ForwardCache.Stage(norm: nil, normOutput: nil, blocks: [])
            if let ds = stageParams.downsample {
                let n = OpProfile.time(.layerNorm) { layerNormForward(h, scale: ds.norm.scale, bias: ds.norm.bias, epsilon: eps) }
                let ny = n.y.roundedToBF16()
                if record {
                    stage.norm = ForwardCache.Norm(input: h, mean: n.mean, rstd: n.rstd)
                    stage.normOutput = ny
                }
                h = OpProfile.time(.downsample) { patchConvForward(ny, weight: ds.conv.kernel, bias: zerosLike(ds.conv.bias), stride: 2, precision: .bf16) }
                bf16AddBias(&h, ds.conv.bias, round: true)
            }
            for (j, blockParams) in stageParams.blocks.enumerated() {
                let info = allBlocks[blockIndex(stage: s, index: j)]
                var keep: [Bool]? = nil
                let scale = gammaBF16 ? Self.bf16KeepScale(rate: info.dropPathRate) : Self.keepScale(rate: info.dropPathRate)
                if train, let rngs {
                    keep = Self.stochasticDepthMask(rngs.stochasticDepth, block: info.name, rate: info.dropPathRate, batch: batch,
                                                    shard: rngs.shard)
                }
                // The last block of a stage feeds only a LayerNorm (or the pool): its sum stays float32.
                let last = j == stageParams.blocks.count - 1
                let (out, blockCache) = blockForwardBF16(h, blockParams, keep: keep, keepScale: scale, epsilon: eps,
                                                         gammaBF16: gammaBF16, inputIsBF16: gammaBF16 || j == 0,
                                                         roundOutput: gammaBF16 && !last, cached: record)
                if let blockCache {
                    // The branch after LayerScale, before stochastic depth (as the float32 pass records it).
                    let branchStats = OpProfile.time(.statistics) { ActivationStatistics(blockCache.branch.tensor, channelScale: blockParams.gamma) }
                    let outputStats = OpProfile.time(.statistics) { ActivationStatistics(out) }
                    records.append(BlockRecord(block: info, output: outputStats, branch: branchStats, kept: keep))
                    stage.blocks.append(blockCache)
                }
                h = out
            }
            stages.append(stage)
        }

        // Head: float32 mean -> LayerNorm_0 (r) -> [Dropout_0] -> Head: r(dot) + r(b) in float32.
        let featureShape = h.shape
        let pooled = OpProfile.time(.head) { globalAvgPoolForward(h) }
        let hn = OpProfile.time(.layerNorm) { layerNormForward(pooled, scale: p.norm.scale, bias: p.norm.bias, epsilon: eps) }
        var headInput = hn.y.roundedToBF16()
        var headKeep: [Bool]? = nil
        let headScale = Self.bf16KeepScale(rate: c.headDropout)
        if train, c.headDropout > 0, let rngs {
            let perRow = hn.y.count / batch
            let keep = rngs.shard.map { $0.slice(Self.headDropoutMask(rngs.dropout, rate: c.headDropout, count: $0.global * perRow), perRow: perRow) }
                ?? Self.headDropoutMask(rngs.dropout, rate: c.headDropout, count: hn.y.count)
            headInput = dropoutForward(headInput, keep: keep, scale: headScale).roundedToBF16()
            headKeep = keep
        }
        let logits = OpProfile.time(.gemm) { denseForwardBF16(headInput, weight: p.head.kernel, bias: p.head.bias, roundSum: false) }
        let cache = ForwardCache(inputShape: x.shape, train: train, input: xr, stemNorm: stemNorm, stages: stages,
                                 featureShape: featureShape,
                                 headNorm: ForwardCache.Norm(input: pooled, mean: hn.mean, rstd: hn.rstd),
                                 headInput: headInput, headKeep: headKeep, headKeepScale: headScale,
                                 blockRecords: records)
        return (logits, cache)
    }
}

/// Zeros of `t`'s shape (a bias for kernels that add theirs later).
func zerosLike(_ t: Tensor) -> Tensor { Tensor.zeros(t.shape) }


/// One bf16 block forward (see the file comment of ForwardBF16.swift). The
/// cache holds, as bf16 values in half the bytes where they are bf16: the
/// block input (bf16 when `inputIsBF16`), the depthwise output with its bias
/// (float32, LayerNorm's input: kept as the bf16 conv output and bias),
/// Conv_1's output with its bias (bf16, GELU's input) and LayerScale's input
/// `s` (bf16 with a bf16 gamma). Without `cached` (inference) it keeps
/// nothing, and each temporary is freed when the block returns.
func blockForwardBF16(_ x: Tensor, _ p: BlockParams, keep: [Bool]?, keepScale: Float, epsilon: Float,
                      gammaBF16: Bool, inputIsBF16: Bool, roundOutput: Bool, cached: Bool) -> (out: Tensor, cache: BlockCache?) {
    // A bf16 input is already rounded (the previous block's or the downsample's output): no copy.
    let xr = inputIsBF16 ? x : x.roundedToBF16()
    var dw = OpProfile.time(.depthwise) { depthwiseConvForward(xr, weight: p.dw.kernel, bias: zerosLike(p.dw.bias)) }
    // r(conv), kept as bf16 bits for backward, then + r(bias) in float32 (LayerNorm's input): one pass.
    let cachedDW = bf16RoundKeepAddBias(&dw, bias: p.dw.bias, keep: cached).map { CachedActivation.bf16PlusBias($0, bias: p.dw.bias) }
    // r(LayerNorm output), as bits, is Conv_1's input; the GEMM
    // adds the bias (a bf16 add) and applies GELU as it stores the result (GELU's
    // time counts as the GEMM's). GELU's output goes to Conv_2 as bf16 bits, and
    // the pre-activation is kept that way for backward.
    let n = OpProfile.time(.layerNorm) { layerNormForwardBF16(dw, scale: p.norm.scale, bias: p.norm.bias, epsilon: epsilon) }
    let (g, hidden) = OpProfile.time(.gemm) {
        denseGELUForwardBF16(.halves(n.y), weight: p.fc1.kernel, bias: p.fc1.bias, keepPreActivation: cached)
    }
    let dot = OpProfile.time(.gemm) { denseForwardBF16(.halves(g), weight: p.fc2.kernel) }
    let (out, s) = OpProfile.time(.elementwise) {
        bf16ResidualForward(x, dot: dot, bias: p.fc2.bias, gamma: p.gamma, gammaBF16: gammaBF16,
                            keep: keep, keepScale: keepScale, roundOutput: roundOutput, keepBranch: cached)
    }
    guard let cachedDW else { return (out, nil) }
    let cache = BlockCache(input: CachedActivation(x, bf16: inputIsBF16), depthwise: cachedDW,
                           hidden: .bf16(hidden!), branch: CachedActivation(s, bf16: gammaBF16),
                           keep: keep, keepScale: keepScale)
    return (out, cache)
}

/// One bf16 block backward: JAX's bf16 cotangents, rounded where its
/// transposed ops round; weight gradients are bf16 values, bias gradients
/// bf16 column sums of bf16 cotangents, LayerNorm's gradients float32.
/// `inputIsBF16`: the block input is a bf16 value (always with a bf16 gamma;
/// with a float32 gamma only the first block of a stage, whose input is a
/// LayerNorm's or downsample's bf16 output), so its cotangent is rounded.
func blockBackwardBF16(_ d: Tensor, _ p: BlockParams, _ cache: consuming BlockCache, epsilon: Float,
                       gammaBF16: Bool, inputIsBF16: Bool) -> (dx: Tensor, grads: BlockParams) {
    let b = cache
    let depthwise = b.depthwise.tensor
    let rb = OpProfile.time(.elementwise) {
        bf16ResidualBackward(d, s: b.branch.tensor, gamma: p.gamma, gammaBF16: gammaBF16, keep: b.keep, keepScale: b.keepScale)
    }
    // Conv_2's input gradient first (stored as bf16 bits), then GELU's backward pass
    // with its output recomputed, both kept as bf16 bits; then Conv_2's weight gradient.
    guard case let .bf16(hidden) = b.hidden else { preconditionFailure("a bf16 block keeps GELU's input as bf16") }
    let dG = OpProfile.time(.gemm) { denseInputGradientToBF16(.float(rb.dDot), weight: p.fc2.kernel, inputShape: hidden.shape) }
    // Conv_1's bias gradient, bf16ColumnSums(dHidden), comes from the same pass.
    let (g, dHidden, dBias1) = OpProfile.time(.gelu) { bf16GELUForwardAndBackward(dG, x: hidden) }
    let fc2 = OpProfile.time(.gemm) { denseKernelGradientBF16(.float(rb.dDot), x: .halves(g), weight: p.fc2.kernel) }
    let n = OpProfile.time(.layerNorm) { layerNormForwardBF16(depthwise, scale: p.norm.scale, bias: p.norm.bias, epsilon: epsilon) }
    let fc1 = OpProfile.time(.gemm) {
        (dx: denseInputGradientBF16(.halves(dHidden), weight: p.fc1.kernel, inputShape: n.y.shape),
         dWeight: denseKernelGradientBF16(.halves(dHidden), x: .halves(n.y), weight: p.fc1.kernel))
    }
    var lnb = OpProfile.time(.layerNorm) { layerNormBackward(fc1.dx, x: depthwise, scale: p.norm.scale, mean: n.mean, rstd: n.rstd) }
    lnb.dx.roundToBF16()
    var dwb = OpProfile.time(.depthwise) { depthwiseConvBackward(lnb.dx, x: inputIsBF16 ? b.input.tensor : b.input.tensor.roundedToBF16(), weight: p.dw.kernel) }
    dwb.dWeight.roundToBF16()
    // The residual's cotangent joins the branch's (rounded): a bf16 add for a bf16 input, else float32.
    bf16ResidualJoin(d, into: &dwb.dx, inputIsBF16: inputIsBF16)
    let dx = dwb.dx
    let grads = BlockParams(dw: LinearLayer(kernel: dwb.dWeight, bias: bf16ColumnSums(lnb.dx)),
                            norm: NormLayer(scale: lnb.dScale, bias: lnb.dBias),
                            fc1: LinearLayer(kernel: fc1.dWeight, bias: dBias1),
                            fc2: LinearLayer(kernel: fc2, bias: rb.dBias),
                            gamma: rb.dGamma)
    return (dx, grads)
}
