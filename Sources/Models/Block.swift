import Tensors

// One ConvNeXt block, forward and backward side by side (llm.c style).
//
//   out = x + dropPath(gamma * (Dense_C(GELU(Dense_4C(LN(DWConv_kxk(x))))) ))
//
// Shapes for a batch of B images at H x W with C channels (N = B*H*W rows):
//   x, dw, LN out, branch, out  [B, H, W, C]
//   hidden (Conv_1 out + bias)  [B, H, W, 4C]
//   keep                        [B] (nil: no stochastic depth this pass)

/// What a block's forward keeps for its backward: its input (the depthwise
/// conv's input), the depthwise output (the LayerNorm's input), `Conv_1`'s
/// output with its bias (GELU's input) and `Conv_2`'s output with its bias
/// (LayerScale's input). The LayerNorm and GELU outputs are recomputed in
/// backward (bit-identical, and it saves 5 of 12 C-sized tensors per pixel).
/// A bf16 model keeps them as bf16 values (`CachedActivation`), half the bytes.
struct BlockCache: Sendable {
    /// [B, H, W, C]
    var input: CachedActivation
    /// [B, H, W, C]
    var depthwise: CachedActivation
    /// [B, H, W, 4C]
    var hidden: CachedActivation
    /// [B, H, W, C]
    var branch: CachedActivation
    /// [B], nil without stochastic depth.
    var keep: [Bool]?
    /// float32(1 / keep_prob).
    var keepScale: Float
}

/// A block's forward pass that keeps its activations (training, `forward`
/// with statistics, or whenever stochastic depth drops samples).
/// - Parameters:
///   - x: [B, H, W, C].
///   - keep: the per-sample stochastic-depth mask [B], or nil.
/// - Returns: the block output [B, H, W, C] and its cache.
func blockForward(_ x: Tensor, _ p: BlockParams, keep: [Bool]?, keepScale: Float, epsilon: Float) -> (out: Tensor, cache: BlockCache) {
    // Residual branch: depthwise kxk -> LN -> Dense 4C -> GELU -> Dense C.
    let dw = OpProfile.time(.depthwise) { depthwiseConvForward(x, weight: p.dw.kernel, bias: p.dw.bias) }      // [B,H,W,C]
    let n = OpProfile.time(.layerNorm) { layerNormForward(dw, scale: p.norm.scale, bias: p.norm.bias, epsilon: epsilon) }
    var hidden = OpProfile.time(.gemm) { denseForward(n.y, weight: p.fc1.kernel, bias: nil) }                  // [B,H,W,4C]
    // Conv_1's bias and GELU in one pass: `hidden` gets the bias (backward keeps it), `g` is GELU's output.
    let g = OpProfile.time(.gelu) { biasGELUForward(&hidden, bias: p.fc1.bias) }
    var branch = OpProfile.time(.gemm) { denseForward(g, weight: p.fc2.kernel, bias: nil) }                    // [B,H,W,C]
    // Conv_2's bias, LayerScale, stochastic depth and the residual add in one pass;
    // `branch` keeps Conv_2's output with its bias.
    let out = OpProfile.time(.elementwise) {
        residualBranchForward(x, branch: &branch, bias: p.fc2.bias, gamma: p.gamma, keep: keep, keepScale: keepScale)
    }
    return (out, BlockCache(input: .float(x), depthwise: .float(dw), hidden: .float(hidden), branch: .float(branch),
                            keep: keep, keepScale: keepScale))
}

/// A block's forward pass for inference (no stochastic depth, nothing
/// kept): `x` becomes the block output, and each temporary is freed as soon
/// as it is used. The same kernels on the same values as `blockForward`,
/// so the same bits.
func blockForwardInPlace(_ x: inout Tensor, _ p: BlockParams, epsilon: Float) {
    let dw = OpProfile.time(.depthwise) { depthwiseConvForward(x, weight: p.dw.kernel, bias: p.dw.bias) }
    let n = OpProfile.time(.layerNorm) { layerNormForward(dw, scale: p.norm.scale, bias: p.norm.bias, epsilon: epsilon) }
    var hidden = OpProfile.time(.gemm) { denseForward(n.y, weight: p.fc1.kernel, bias: nil) }
    OpProfile.time(.gelu) { biasGELUInPlace(&hidden, bias: p.fc1.bias) }                                    // GELU(hidden + bias)
    var branch = OpProfile.time(.gemm) { denseForward(hidden, weight: p.fc2.kernel, bias: nil) }
    OpProfile.time(.elementwise) {
        residualBranchForwardInPlace(&x, branch: &branch, bias: p.fc2.bias, gamma: p.gamma)
    }
}

/// A block's backward pass.
/// - Parameters:
///   - d: the gradient of the loss with respect to the block output [B, H, W, C].
///   - cache: consumed; its activations are freed when this returns.
/// - Returns: the gradient with respect to the block input [B, H, W, C] and
///   the parameters' gradients.
func blockBackward(_ d: Tensor, _ p: BlockParams, _ cache: consuming BlockCache, epsilon: Float) -> (dx: Tensor, grads: BlockParams) {
    let b = cache
    let hidden = b.hidden.tensor, depthwise = b.depthwise.tensor
    // out = x + dropPath(gamma * branch): the residual passes d through unchanged.
    let rb = OpProfile.time(.elementwise) {
        residualBranchBackward(d, branch: b.branch.tensor, gamma: p.gamma, keep: b.keep, keepScale: b.keepScale)
    }
    // Conv_2's input gradient first, so GELU's forward (recomputed,
    // bit-identical) and its gradient come from one pass; then Conv_2's
    // weight gradient from that GELU output.
    let dG = OpProfile.time(.gemm) { denseInputGradient(rb.dBranch, weight: p.fc2.kernel, inputShape: hidden.shape) } // [B,H,W,4C]
    let (g, dHidden) = OpProfile.time(.gelu) { geluForwardAndBackward(dG, x: hidden) }
    let fc2 = OpProfile.time(.gemm) { denseWeightGradient(rb.dBranch, x: g, weight: p.fc2.kernel) }
    // The LayerNorm output, recomputed, is Conv_1's input.
    let n = OpProfile.time(.layerNorm) { layerNormForward(depthwise, scale: p.norm.scale, bias: p.norm.bias, epsilon: epsilon) }
    let fc1 = OpProfile.time(.gemm) { denseBackward(dHidden, x: n.y, weight: p.fc1.kernel) }           // dx [B,H,W,C]
    let lnb = OpProfile.time(.layerNorm) { layerNormBackward(fc1.dx, x: depthwise, scale: p.norm.scale, mean: n.mean, rstd: n.rstd) }
    // The residual's gradient d joins the branch's in the depthwise pass: d + dx.
    let dwb = OpProfile.time(.depthwise) {
        depthwiseConvBackward(lnb.dx, x: b.input.tensor, weight: p.dw.kernel, addingTo: d)
    }
    let grads = BlockParams(dw: LinearLayer(kernel: dwb.dWeight, bias: dwb.dBias),
                            norm: NormLayer(scale: lnb.dScale, bias: lnb.dBias),
                            fc1: LinearLayer(kernel: fc1.dWeight, bias: fc1.dBias),
                            fc2: LinearLayer(kernel: fc2.dWeight, bias: fc2.dBias),
                            gamma: rb.dGamma)
    return (dwb.dx, grads)
}
