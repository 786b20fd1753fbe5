// Dense (a 1x1 convolution in ConvNeXt): y = x · W + b over the last axis.
// x [..., K] is viewed as a row-major matrix [M, K] (M = product of leading
// dims); W is Flax's `(in, out)` = [K, N]; b [N].

/// Dense forward: `y[m, n] = sum_k x[m, k] * W[k, n] + b[n]`; returns `[..., N]`.
///
/// The product is one `cblas_sgemm`; the bias is added afterwards, as XLA
/// adds it after the dot.
public func denseForward(_ x: Tensor, weight: Tensor, bias: Tensor?, precision: GEMMPrecision = .float32) -> Tensor {
    precondition(weight.rank == 2, "denseForward: weight must be [in, out], got \(weight.shape)")
    let k = weight.shape[0], n = weight.shape[1]
    precondition(x.lastDim == k, "denseForward: x \(x.shape) does not end in \(k)")
    if let bias { precondition(bias.shape == [n], "denseForward: bias \(bias.shape) is not [\(n)]") }
    let m = x.leadingCount
    var outShape = x.shape
    if outShape.isEmpty { outShape = [n] } else { outShape[outShape.count - 1] = n }
    return x.withPointer { px in
        weight.withPointer { pw in
            Tensor.build(outShape) { py in
                gemm(transA: false, transB: false, m: m, n: n, k: k,
                      a: px, lda: k, b: pw, ldb: n, beta: 0, c: py, ldc: n, precision: precision)
                if let bias { bias.withPointer { pb in addBiasRows(py, rows: m, cols: n, bias: pb) } }
            }
        }
    }
}

/// A bf16 model's Dense forward, as XLA computes it: `r(x · W) + b` with the
/// bias a bf16 value, the sum rounded to bf16 again when `roundSum` (a bf16
/// add) and left float32 otherwise (where only a LayerNorm or the loss reads
/// it), all in the GEMM's store (`bf16GEMM`).
public func denseForwardBF16(_ x: Tensor, weight: Tensor, bias: Tensor, roundSum: Bool) -> Tensor {
    precondition(weight.rank == 2, "denseForwardBF16: weight must be [in, out], got \(weight.shape)")
    let k = weight.shape[0], n = weight.shape[1]
    precondition(x.lastDim == k, "denseForwardBF16: x \(x.shape) does not end in \(k)")
    precondition(bias.shape == [n], "denseForwardBF16: bias \(bias.shape) is not [\(n)]")
    let m = x.leadingCount
    var outShape = x.shape
    if outShape.isEmpty { outShape = [n] } else { outShape[outShape.count - 1] = n }
    return x.withPointer { px in
        weight.withPointer { pw in
            bias.withPointer { pb in
                Tensor.build(outShape) { py in
                    bf16GEMM(transA: false, transB: false, m: m, n: n, k: k, a: px, lda: k, b: pw, ldb: n,
                             c: py, ldc: n, bias: pb, roundSum: roundSum)
                }
            }
        }
    }
}

/// Dense backward: `dx = dy · Wᵀ` [M, K], `dW = xᵀ · dy` [K, N], `db = sum_m dy` [N].
/// `precision: .bf16` multiplies as a bf16 model does (`bf16GEMM`), here and
/// in the other Dense functions.
public func denseBackward(_ dy: Tensor, x: Tensor, weight: Tensor, precision: GEMMPrecision = .float32)
    -> (dx: Tensor, dWeight: Tensor, dBias: Tensor) {
    let dx = denseInputGradient(dy, weight: weight, inputShape: x.shape, precision: precision)
    let (dW, db) = denseWeightGradient(dy, x: x, weight: weight, precision: precision)
    return (dx, dW, db)
}

/// The input half of Dense's backward: `dx = dy · Wᵀ`, shaped `inputShape`.
public func denseInputGradient(_ dy: Tensor, weight: Tensor, inputShape: [Int], precision: GEMMPrecision = .float32) -> Tensor {
    let k = weight.shape[0], n = weight.shape[1]
    let m = dy.leadingCount
    precondition(dy.lastDim == n && Tensor.count(of: inputShape) == m * k,
                 "denseInputGradient: dy \(dy.shape) does not match input \(inputShape) and weight \(weight.shape)")
    return dy.withPointer { pdy in
        weight.withPointer { pw in
            Tensor.build(inputShape) { pdx in
                gemm(transA: false, transB: true, m: m, n: k, k: n,
                      a: pdy, lda: n, b: pw, ldb: n, beta: 0, c: pdx, ldc: k, precision: precision)
            }
        }
    }
}

/// The parameter half of Dense's backward: `dW = xᵀ · dy`, `db = sum_m dy`.
public func denseWeightGradient(_ dy: Tensor, x: Tensor, weight: Tensor, precision: GEMMPrecision = .float32) -> (dWeight: Tensor, dBias: Tensor) {
    let dW = denseKernelGradient(dy, x: x, weight: weight, precision: precision)
    let db = dy.withPointer { pdy in Tensor(shape: [weight.shape[1]], scalars: columnSums(pdy, rows: dy.leadingCount, cols: weight.shape[1])) }
    return (dW, db)
}

/// The kernel's gradient alone, `dW = xᵀ · dy` (a bf16 model sums its bias
/// gradients its own way, `bf16ColumnSums`, so it skips `db`'s pass).
public func denseKernelGradient(_ dy: Tensor, x: Tensor, weight: Tensor, precision: GEMMPrecision = .float32) -> Tensor {
    let k = weight.shape[0], n = weight.shape[1]
    let m = x.leadingCount
    precondition(dy.lastDim == n && dy.leadingCount == m && x.lastDim == k,
                 "denseKernelGradient: dy \(dy.shape) does not match x \(x.shape) and weight \(weight.shape)")
    return dy.withPointer { pdy in
        x.withPointer { px in
            Tensor.build([k, n]) { pdw in
                gemm(transA: true, transB: false, m: k, n: n, k: m,
                      a: px, lda: k, b: pdy, ldb: n, beta: 0, c: pdw, ldc: n, precision: precision)
            }
        }
    }
}
