import Tensors

extension ConvNeXt {
    /// The bf16 model's backward pass (docs/bf16.md): `backwardPass` with
    /// JAX's bf16 cotangents. The logits' float32 cotangent is rounded to bf16
    /// (the transpose of the cast), weight gradients are bf16 values, bias
    /// gradients bf16 column sums of bf16 cotangents (`bf16ColumnSums`), LayerNorm gradients float32,
    /// gamma's gradient bf16 when gamma is held in bf16.
    func backwardPassBF16(dLogits: Tensor, params: TensorTree, cache: inout ForwardCache) -> TensorTree {
        let eps = config.layerNormEpsilon
        let gammaBF16 = config.layerScaleIsBF16
        let p = bf16ComputeParams(self.params(params))

        let dl = dLogits.roundedToBF16()
        let head = OpProfile.time(.gemm) { denseBackward(dl, x: cache.headInput, weight: p.head.kernel, precision: .bf16) }
        var d = head.dx
        if let keep = cache.headKeep {
            d = OpProfile.time(.elementwise) { dropoutBackward(d, keep: keep, scale: cache.headKeepScale) }.roundedToBF16()
        }
        let hn = OpProfile.time(.layerNorm) {
            layerNormBackward(d, x: cache.headNorm.input, scale: p.norm.scale, mean: cache.headNorm.mean, rstd: cache.headNorm.rstd)
        }
        d = OpProfile.time(.head) { globalAvgPoolBackward(hn.dx, inputShape: cache.featureShape) }
        if gammaBF16 { d.roundToBF16() }

        var stageGrads: [StageLayers<Tensor>] = []
        for s in cache.stages.indices.reversed() {
            let stageParams = p.stages[s]
            var blockGrads: [BlockParams] = []
            while let b = cache.stages[s].blocks.popLast() {
                let j = cache.stages[s].blocks.count
                let r = blockBackwardBF16(d, stageParams.blocks[j], b, epsilon: eps, gammaBF16: gammaBF16,
                                          inputIsBF16: gammaBF16 || j == 0)
                blockGrads.append(r.grads)
                d = r.dx
            }
            var downsampleGrads: DownsampleLayers<Tensor>? = nil
            if let ds = stageParams.downsample, let norm = cache.stages[s].norm, let normOut = cache.stages[s].normOutput {
                cache.stages[s].norm = nil
                cache.stages[s].normOutput = nil
                let conv = OpProfile.time(.downsample) { patchConvBackward(d, x: normOut, weight: ds.conv.kernel, stride: 2, precision: .bf16) }
                var nb = OpProfile.time(.layerNorm) { layerNormBackward(conv.dx, x: norm.input, scale: ds.norm.scale, mean: norm.mean, rstd: norm.rstd) }
                if gammaBF16 { nb.dx.roundToBF16() }
                downsampleGrads = DownsampleLayers(norm: NormLayer(scale: nb.dScale, bias: nb.dBias),
                                                   conv: LinearLayer(kernel: conv.dWeight, bias: bf16ColumnSums(d)))
                d = nb.dx
            }
            stageGrads.append(StageLayers(downsample: downsampleGrads, blocks: blockGrads.reversed()))
        }
        var sn = OpProfile.time(.layerNorm) {
            layerNormBackward(d, x: cache.stemNorm.input, scale: p.stemNorm.scale, mean: cache.stemNorm.mean, rstd: cache.stemNorm.rstd)
        }
        sn.dx.roundToBF16()
        let stem = OpProfile.time(.stem) { patchConvWeightGradients(sn.dx, x: cache.input, weight: p.stem.kernel, stride: 4, precision: .bf16) }

        let grads = ConvNeXtParams(stem: LinearLayer(kernel: stem.dWeight, bias: bf16ColumnSums(sn.dx)),
                                   stemNorm: NormLayer(scale: sn.dScale, bias: sn.dBias),
                                   stages: stageGrads.reversed(),
                                   norm: NormLayer(scale: hn.dScale, bias: hn.dBias),
                                   head: LinearLayer(kernel: head.dWeight, bias: bf16ColumnSums(dl)))
        return tree(grads)
    }
}
