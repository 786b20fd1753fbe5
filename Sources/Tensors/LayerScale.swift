// LayerScale: y = x * gamma, gamma per channel of the last axis.
// Backward: dx = dy * gamma, dGamma = sum_rows dy * x.
// Reference oracles: the model runs LayerScale fused into `residualBranch*`.

extension Reference {
    /// LayerScale forward: `y[..., c] = x[..., c] * gamma[c]`.
    public static func layerScaleForward(_ x: Tensor, gamma: Tensor) -> Tensor {
        let c = x.lastDim, rows = x.leadingCount
        precondition(gamma.shape == [c], "layerScaleForward: gamma \(gamma.shape) is not [\(c)]")
        return x.withPointer { px in
            gamma.withPointer { pg in
                Tensor.build(x.shape) { py in
                    parallelChunks(rows, minChunk: max(1, 8192 / max(1, c))) { range in
                        for row in range {
                            let r = px + row &* c, o = py + row &* c
                            for i in 0..<c { o[i] = r[i] * pg[i] }
                        }
                    }
                }
            }
        }
    }

    /// LayerScale backward: `dx = dy * gamma`, `dGamma[c] = sum dy[..., c] * x[..., c]`.
    public static func layerScaleBackward(_ dy: Tensor, x: Tensor, gamma: Tensor) -> (dx: Tensor, dGamma: Tensor) {
        precondition(dy.shape == x.shape, "layerScaleBackward: dy \(dy.shape) is not \(x.shape)")
        let c = x.lastDim, rows = x.leadingCount
        let dx = layerScaleForward(dy, gamma: gamma)
        // Fixed row chunks (the same partition as residualBranchBackward's): the same bits on any thread count.
        let dGamma = x.withPointer { px in
            dy.withPointer { pd in
                chunkedColumnSums(RowChunks(rows: rows, minRows: 64), rows: rows, width: c) { range, acc in
                    for row in range {
                        let r = px + row &* c, d = pd + row &* c
                        for i in 0..<c { acc[i] = acc[i].addingProduct(d[i], r[i]) }
                    }
                }
            }
        }
        return (dx, Tensor(shape: [c], scalars: dGamma))
    }
}
