import Tensors
import OrderedCollections

extension ConvNeXt {
    /// The gradient of a scalar loss with respect to every parameter, given
    /// `dLogits` (its gradient with respect to the logits) and the forward's cache.
    ///
    /// The cache is consumed: each block's activations are released as soon
    /// as its gradients are done, so when the caller hands over the only
    /// reference, the stage-1 backward (the largest temporaries) runs without
    /// the later stages' activations in memory.
    /// - Returns: a tree with the same paths and order as `parameterSpecs()`.
    public func backward(dLogits: Tensor, params: TensorTree, cache: consuming ForwardCache) -> TensorTree {
        var cache = cache
        let c = config
        let eps = c.layerNormEpsilon
        let bb = Self.backbone
        func p(_ path: String) -> Tensor {
            guard let t = params[path] else { preconditionFailure("parameter '\(path)' missing") }
            return t
        }
        var grads: [String: Tensor] = [:]
        func put(_ module: String, _ pairs: (String, Tensor)...) {
            for (name, t) in pairs { grads["\(module)/\(name)"] = t }
        }

        // Head Dense, dropout, head LayerNorm, pool (reverse of forward).
        let head = OpProfile.time(.gemm) { denseBackward(dLogits, x: cache.headInput, weight: p("Head/kernel")) }
        put("Head", ("kernel", head.dWeight), ("bias", head.dBias))
        var d = head.dx
        if let keep = cache.headKeep { d = OpProfile.time(.elementwise) { dropoutBackward(d, keep: keep, scale: cache.headKeepScale) } }
        let hn = OpProfile.time(.layerNorm) {
            layerNormBackward(d, x: cache.headNorm.input, scale: p("LayerNorm_0/scale"),
                              mean: cache.headNorm.mean, rstd: cache.headNorm.rstd)
        }
        put("LayerNorm_0", ("scale", hn.dScale), ("bias", hn.dBias))
        d = OpProfile.time(.head) { globalAvgPoolBackward(hn.dx, inputShape: cache.featureShape) }

        let infos = blocks
        for s in cache.stages.indices.reversed() {
            // popLast hands each block's activations over; they are freed when `b` goes.
            while let b = cache.stages[s].blocks.popLast() {
                let j = cache.stages[s].blocks.count
                let info = infos.first { $0.stage == s && $0.index == j }!
                let m = "\(bb)/\(info.name)"
                // out = h + dropPath(layerScale(branch)): the residual passes d through unchanged.
                let rb = OpProfile.time(.elementwise) {
                    residualBranchBackward(d, branch: b.branch, gamma: p("\(m)/LayerScale_0/scale"),
                                           keep: b.keep, keepScale: b.keepScale)
                }
                // Conv_2's input gradient first, so GELU's forward (recomputed,
                // bit-identical) and its gradient come from one pass; then
                // Conv_2's weight gradient from that GELU output.
                let w2 = p("\(m)/Conv_2/kernel")
                let dG = OpProfile.time(.gemm) { denseInputGradient(rb.dBranch, weight: w2, inputShape: b.hidden.shape) }
                let (g, dHidden) = OpProfile.time(.gelu) { geluForwardAndBackward(dG, x: b.hidden) }
                let fc2 = OpProfile.time(.gemm) { denseWeightGradient(rb.dBranch, x: g, weight: w2) }
                let lnScale = p("\(m)/LayerNorm_0/scale")
                let n = OpProfile.time(.layerNorm) { layerNormForward(b.depthwise, scale: lnScale, bias: p("\(m)/LayerNorm_0/bias"), epsilon: eps) }
                let fc1 = OpProfile.time(.gemm) { denseBackward(dHidden, x: n.y, weight: p("\(m)/Conv_1/kernel")) }
                let lnb = OpProfile.time(.layerNorm) { layerNormBackward(fc1.dx, x: b.depthwise, scale: lnScale, mean: n.mean, rstd: n.rstd) }
                // The residual's gradient d joins the branch's in the depthwise pass: d + dx.
                let dwb = OpProfile.time(.depthwise) {
                    depthwiseConvBackward(lnb.dx, x: b.input, weight: p("\(m)/DepthWise_Conv_0/kernel"), addingTo: d)
                }
                put("\(m)/LayerScale_0", ("scale", rb.dGamma))
                put("\(m)/Conv_2", ("kernel", fc2.dWeight), ("bias", fc2.dBias))
                put("\(m)/Conv_1", ("kernel", fc1.dWeight), ("bias", fc1.dBias))
                put("\(m)/LayerNorm_0", ("scale", lnb.dScale), ("bias", lnb.dBias))
                put("\(m)/DepthWise_Conv_0", ("kernel", dwb.dWeight), ("bias", dwb.dBias))
                d = dwb.dx
            }
            if s > 0, let norm = cache.stages[s].norm, let normOut = cache.stages[s].normOutput {
                cache.stages[s].norm = nil
                cache.stages[s].normOutput = nil
                let ds = Self.downsampleName(stage: s), ln = Self.stageNormName(stage: s)
                let conv = OpProfile.time(.downsample) { patchConvBackward(d, x: normOut, weight: p("\(bb)/\(ds)/kernel"), stride: 2) }
                put("\(bb)/\(ds)", ("kernel", conv.dWeight), ("bias", conv.dBias))
                let nb = OpProfile.time(.layerNorm) { layerNormBackward(conv.dx, x: norm.input, scale: p("\(bb)/\(ln)/scale"), mean: norm.mean, rstd: norm.rstd) }
                put("\(bb)/\(ln)", ("scale", nb.dScale), ("bias", nb.dBias))
                d = nb.dx
            }
        }
        // Stem LayerNorm_0 and the 4x4/4 conv (the input gradient is not needed).
        let sn = OpProfile.time(.layerNorm) {
            layerNormBackward(d, x: cache.stemNorm.input, scale: p("\(bb)/LayerNorm_0/scale"),
                              mean: cache.stemNorm.mean, rstd: cache.stemNorm.rstd)
        }
        put("\(bb)/LayerNorm_0", ("scale", sn.dScale), ("bias", sn.dBias))
        let stem = OpProfile.time(.stem) { patchConvWeightGradients(sn.dx, x: cache.input, weight: p("\(bb)/Stem_Conv/kernel"), stride: 4) }
        put("\(bb)/Stem_Conv", ("kernel", stem.dWeight), ("bias", stem.dBias))

        var out = OrderedDictionary<String, Tensor>(minimumCapacity: grads.count)
        for spec in parameterSpecs() { out[spec.path] = grads[spec.path]! }
        return TensorTree(out)
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
