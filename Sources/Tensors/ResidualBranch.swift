// The end of a ConvNeXt block's residual branch, fused into one pass each way:
//
//   branch = dot + bias                      (Conv_2's bias)
//   y      = branch * gamma                  (LayerScale)
//   y      = keep[n] ? y * scale : 0         (stochastic depth, train only)
//   out    = h + y                           (the residual add)
//
// Backward, with dyk = keep[n] ? dy * scale : 0:
//   dBranch = dyk * gamma,  dGamma = sum_rows dyk * branch
// (dh = dy passes through the residual unchanged).
//
// Each element sees the same operations in the same order as the separate
// kernels (`addBias`, `layerScaleForward`, `dropPathForward`, `add`, and
// `dropPathBackward` + `layerScaleBackward`), so the results are the same
// bits; the fusion only saves trips through memory.

/// The residual branch's forward: returns `h + dropPath(layerScale(branch + bias))`
/// and leaves `branch + bias` in `branch` (Conv_2's output, which the
/// backward keeps). `keep` (one flag per sample) is nil without stochastic depth.
public func residualBranchForward(_ h: Tensor, branch: inout Tensor, bias: Tensor, gamma: Tensor,
                                  keep: [Bool]?, keepScale: Float) -> Tensor {
    precondition(branch.shape == h.shape, "residualBranchForward: branch \(branch.shape) is not \(h.shape)")
    let shape = h.shape
    return h.withPointer { ph in
        branch.scalars.withUnsafeMutableBufferPointer { bb in
            let pbranch = bb.baseAddress!
            return Tensor.build(shape) { out in
                residualBranchRows(ph, branch: pbranch, keepBranch: true, out: out, shape: shape,
                                   bias: bias, gamma: gamma, keep: keep, keepScale: keepScale)
            }
        }
    }
}

/// The same in place for inference: `h += layerScale(branch + bias)`
/// (`branch` is scratch and is overwritten).
public func residualBranchForwardInPlace(_ h: inout Tensor, branch: inout Tensor, bias: Tensor, gamma: Tensor) {
    precondition(branch.shape == h.shape, "residualBranchForwardInPlace: branch \(branch.shape) is not \(h.shape)")
    let shape = h.shape
    if h.count == 0 { return }
    h.scalars.withUnsafeMutableBufferPointer { hb in
        branch.scalars.withUnsafeMutableBufferPointer { bb in
            residualBranchRows(UnsafePointer(hb.baseAddress!), branch: bb.baseAddress!, keepBranch: false,
                               out: hb.baseAddress!, shape: shape, bias: bias, gamma: gamma, keep: nil, keepScale: 1)
        }
    }
}

/// Rows of the flattened `[rows, C]` tensors; `out` may be `h`.
private func residualBranchRows(_ ph: UnsafePointer<Float>, branch pbr: UnsafeMutablePointer<Float>, keepBranch: Bool,
                                out: UnsafeMutablePointer<Float>, shape: [Int], bias: Tensor, gamma: Tensor,
                                keep: [Bool]?, keepScale: Float) {
    let c = shape.last ?? 1
    let rows = shape.isEmpty ? 1 : Tensor.count(of: shape) / max(1, c)
    precondition(bias.shape == [c] && gamma.shape == [c],
                 "residualBranch: bias \(bias.shape) / gamma \(gamma.shape) do not match last axis \(c)")
    if let keep { precondition(shape.count >= 1 && keep.count == shape[0], "residualBranch: \(keep.count) keep flags for batch of shape \(shape)") }
    // Rows per sample: stochastic depth keeps or drops whole samples.
    let perSample = shape.isEmpty || shape[0] == 0 ? max(1, rows) : max(1, rows / shape[0])
    let io = UncheckedSendable((pbr, out))
    bias.withPointer { pb in
        gamma.withPointer { pg in
            parallelChunks(rows, minChunk: max(1, 16384 / max(1, c))) { range in
                let (pbr, out) = io.value
                let scaleV = V16(repeating: keepScale)
                for row in range {
                    let kept = keep.map { $0[row / perSample] }
                    let r = ph + row &* c, b = pbr + row &* c, o = out + row &* c
                    var i = 0
                    while i &+ 16 <= c {
                        let v = load16(b + i) + load16(pb + i)
                        if keepBranch { store16(v, b + i) }
                        var y = v * load16(pg + i)
                        if let kept { y = kept ? y * scaleV : V16() }
                        store16(load16(r + i) + y, o + i)
                        i &+= 16
                    }
                    while i < c {
                        let v = b[i] + pb[i]
                        if keepBranch { b[i] = v }
                        var y = v * pg[i]
                        if let kept { y = kept ? y * keepScale : 0 }
                        o[i] = r[i] + y
                        i &+= 1
                    }
                }
            }
        }
    }
}

/// The residual branch's backward from the block output's gradient `dy`:
/// the gradient of Conv_2's output (`dBranch`) and LayerScale's `dGamma`.
/// `branch` is Conv_2's output (bias included). dGamma is summed by the
/// fixed row chunks `layerScaleBackward` uses (the same bits on any thread count).
public func residualBranchBackward(_ dy: Tensor, branch: Tensor, gamma: Tensor, keep: [Bool]?, keepScale: Float)
    -> (dBranch: Tensor, dGamma: Tensor) {
    precondition(dy.shape == branch.shape, "residualBranchBackward: dy \(dy.shape) is not \(branch.shape)")
    let c = branch.lastDim, rows = branch.leadingCount
    precondition(gamma.shape == [c], "residualBranchBackward: gamma \(gamma.shape) is not [\(c)]")
    if let keep { precondition(dy.rank >= 1 && keep.count == dy.shape[0], "residualBranchBackward: \(keep.count) keep flags for batch of shape \(dy.shape)") }
    let perSample = dy.rank == 0 || dy.shape[0] == 0 ? max(1, rows) : max(1, rows / dy.shape[0])
    var dGamma: [Float] = []
    let dBranch = dy.withPointer { pd in
        branch.withPointer { px in
            gamma.withPointer { pg in
                Tensor.build(dy.shape) { pdx in
                    // dGamma by the fixed row chunks layerScaleBackward uses: the same bits on any thread count.
                    dGamma = chunkedColumnSums(RowChunks(rows: rows, minRows: 64), rows: rows, width: c) { range, acc in
                        let scaleV = V16(repeating: keepScale)
                        for row in range {
                            let kept = keep.map { $0[row / perSample] }
                            let d = pd + row &* c, r = px + row &* c, o = pdx + row &* c
                            var i = 0
                            while i &+ 16 <= c {
                                var dk = load16(d + i)
                                if let kept { dk = kept ? dk * scaleV : V16() }
                                store16(dk * load16(pg + i), o + i)
                                store16(load16(acc + i).addingProduct(dk, load16(r + i)), acc + i)
                                i &+= 16
                            }
                            while i < c {
                                var dk = d[i]
                                if let kept { dk = kept ? dk * keepScale : 0 }
                                o[i] = dk * pg[i]
                                acc[i] = acc[i].addingProduct(dk, r[i])
                                i &+= 1
                            }
                        }
                    }
                }
            }
        }
    }
    return (dBranch, Tensor(shape: [c], scalars: dGamma))
}
