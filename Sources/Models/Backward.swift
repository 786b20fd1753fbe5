import Tensors

extension ConvNeXt {
    /// The gradient of a scalar loss with respect to every parameter, given
    /// `dLogits` (its gradient with respect to the logits) and the forward's cache.
    ///
    /// The cache is consumed: each block's activations are released as soon
    /// as its gradients are done, so when the caller hands over the only
    /// reference, the stage-1 backward (the largest temporaries) runs without
    /// the later stages' activations in memory.
    ///
    /// `ready`, when given, is called (on the calling thread) with each
    /// layer's finished gradients as soon as they are done: the head first,
    /// the stem last. Data-parallel training starts sending them while the
    /// rest of the backward pass runs.
    /// - Returns: a tree with the same paths and order as `parameterSpecs()`.
    public func backward(dLogits: Tensor, params: TensorTree, cache: consuming ForwardCache,
                         ready: GradientsReady? = nil) -> TensorTree {
        var cache = cache
        return Self.compute {
            guard config.dtype == .bf16 else { return backwardPass(dLogits: dLogits, params: params, cache: &cache, ready: ready) }
            // The bf16 pass has no per-layer hook: its gradients go to `ready` together at the end.
            let grads = backwardPassBF16(dLogits: dLogits, params: params, cache: &cache)
            ready?(grads.tensors.map { (path: $0.key, gradient: $0.value) })
            return grads
        }
    }

    /// Called by `backward` with finished gradients, by parameter path.
    public typealias GradientsReady = ([(path: String, gradient: Tensor)]) -> Void

    /// `backward`'s body; it empties `cache` block by block.
    private func backwardPass(dLogits: Tensor, params: TensorTree, cache: inout ForwardCache,
                              ready: GradientsReady?) -> TensorTree {
        /// Hands one layer's gradients (and their specs' paths) to `ready`.
        func finished(_ specs: [ParameterSpec], _ grads: [Tensor]) {
            guard let ready else { return }
            ready(zip(specs, grads).map { (path: $0.path, gradient: $1) })
        }
        let eps = config.layerNormEpsilon
        let p = self.params(params)

        // Head Dense, dropout, head LayerNorm, pool (reverse of forward).
        let head = OpProfile.time(.gemm) { denseBackward(dLogits, x: cache.headInput, weight: p.head.kernel) }
        finished(layout.head.leaves, [head.dWeight, head.dBias])
        var d = head.dx
        if let keep = cache.headKeep { d = OpProfile.time(.elementwise) { dropoutBackward(d, keep: keep, scale: cache.headKeepScale) } }
        let hn = OpProfile.time(.layerNorm) {
            layerNormBackward(d, x: cache.headNorm.input, scale: p.norm.scale,
                              mean: cache.headNorm.mean, rstd: cache.headNorm.rstd)
        }
        finished(layout.norm.leaves, [hn.dScale, hn.dBias])
        d = OpProfile.time(.head) { globalAvgPoolBackward(hn.dx, inputShape: cache.featureShape) }

        var stageGrads: [StageLayers<Tensor>] = []
        for s in cache.stages.indices.reversed() {
            let stageParams = p.stages[s]
            var blockGrads: [BlockParams] = []
            // popLast hands each block's activations over; blockBackward frees them.
            while let b = cache.stages[s].blocks.popLast() {
                let j = cache.stages[s].blocks.count
                let r = blockBackward(d, stageParams.blocks[j], b, epsilon: eps)
                blockGrads.append(r.grads)
                finished(layout.stages[s].blocks[j].leaves, r.grads.leaves)
                d = r.dx
            }
            var downsampleGrads: DownsampleLayers<Tensor>? = nil
            if let ds = stageParams.downsample, let norm = cache.stages[s].norm, let normOut = cache.stages[s].normOutput {
                cache.stages[s].norm = nil
                cache.stages[s].normOutput = nil
                let conv = OpProfile.time(.downsample) { patchConvBackward(d, x: normOut, weight: ds.conv.kernel, stride: 2) }
                let nb = OpProfile.time(.layerNorm) { layerNormBackward(conv.dx, x: norm.input, scale: ds.norm.scale, mean: norm.mean, rstd: norm.rstd) }
                downsampleGrads = DownsampleLayers(norm: NormLayer(scale: nb.dScale, bias: nb.dBias),
                                                   conv: LinearLayer(kernel: conv.dWeight, bias: conv.dBias))
                finished(layout.stages[s].downsample?.leaves ?? [], downsampleGrads?.leaves ?? [])
                d = nb.dx
            }
            stageGrads.append(StageLayers(downsample: downsampleGrads, blocks: blockGrads.reversed()))
        }
        // Stem LayerNorm_0 and the 4x4/4 conv (the input gradient is not needed).
        let sn = OpProfile.time(.layerNorm) {
            layerNormBackward(d, x: cache.stemNorm.input, scale: p.stemNorm.scale,
                              mean: cache.stemNorm.mean, rstd: cache.stemNorm.rstd)
        }
        let stem = OpProfile.time(.stem) { patchConvWeightGradients(sn.dx, x: cache.input, weight: p.stem.kernel, stride: 4) }
        finished(layout.stemNorm.leaves + layout.stem.leaves, [sn.dScale, sn.dBias, stem.dWeight, stem.dBias])

        let grads = ConvNeXtParams(stem: LinearLayer(kernel: stem.dWeight, bias: stem.dBias),
                                   stemNorm: NormLayer(scale: sn.dScale, bias: sn.dBias),
                                   stages: stageGrads.reversed(),
                                   norm: NormLayer(scale: hn.dScale, bias: hn.dBias),
                                   head: LinearLayer(kernel: head.dWeight, bias: head.dBias))
        return tree(grads)
    }

    /// Mean softmax cross-entropy with soft labels (`[B, classes]`), and its
    /// gradient with respect to the logits.
    public func loss(logits: Tensor, labels: Tensor) -> (loss: Float, dLogits: Tensor) {
        let f = OpProfile.time(.head) { softmaxCrossEntropyForward(logits: logits, labels: labels) }
        return (f.loss, OpProfile.time(.head) { softmaxCrossEntropyBackward(probabilities: f.probabilities, labels: labels) })
    }

    /// Loss, logits and the gradient of every parameter for one batch.
    public func valueAndGradient(_ x: Tensor, labels: Tensor, params: TensorTree, train: Bool,
                                 rngs: ApplyRNGs?) -> (loss: Float, logits: Tensor, grads: TensorTree, cache: ForwardCache) {
        let (logits, cache) = forward(x, params: params, train: train, rngs: rngs)
        let (l, dLogits) = loss(logits: logits, labels: labels)
        let grads = backward(dLogits: dLogits, params: params, cache: cache)
        return (l, logits, grads, cache)
    }
}
