// A bf16 model's Dense GEMMs on activations held either way: float32 tensors
// (bf16 values, or values the GEMM rounds to bf16 as it reads them) or bf16
// bits in half the bytes (`BF16Tensor`). The block's 4C-wide activations —
// GELU's output and the cotangent of its input — are kept as bf16 bits from
// the GEMM store that makes them (BF16GELU.swift) to the GEMMs that read
// them: half the memory traffic of float32 on the step's largest tensors,
// the same bits (a bf16 value's float32 has zeros in its low 16 bits).

/// An activation a bf16 GEMM reads.
public enum BF16Activation {
    /// float32 values (rounded to bf16 as they are read).
    case float(Tensor)
    /// bf16 values as their bits.
    case halves(BF16Tensor)

    public var shape: [Int] {
        switch self {
        case let .float(t): return t.shape
        case let .halves(h): return h.shape
        }
    }

    /// The product of all axes but the last.
    var leadingCount: Int { shape.dropLast().reduce(1, *) }
    var lastDim: Int { shape.last ?? 1 }

    func withOperand<R>(_ body: (BF16Operand) -> R) -> R {
        switch self {
        case let .float(t): return t.withPointer { body(.float($0)) }
        case let .halves(h): return h.halves.withUnsafeBufferPointer { body(.halves($0.baseAddress!)) }
        }
    }
}

/// `r(x · W)` [..., N] for `x` [..., K] and `W` [K, N] (no bias: Conv_2's,
/// after LayerScale's input, is added by `bf16ResidualForward`).
public func denseForwardBF16(_ x: BF16Activation, weight: Tensor) -> Tensor {
    precondition(weight.rank == 2, "denseForwardBF16: weight must be [in, out], got \(weight.shape)")
    let k = weight.shape[0], n = weight.shape[1]
    precondition(x.lastDim == k, "denseForwardBF16: x \(x.shape) does not end in \(k)")
    let m = x.leadingCount
    var outShape = x.shape
    outShape[outShape.count - 1] = n
    return x.withOperand { a in
        weight.withPointer { pw in
            Tensor.build(outShape) { py in
                bf16GEMM(transA: false, transB: false, m: m, n: n, k: k, a: a, lda: k, b: .float(pw), ldb: n, c: py, ldc: n)
            }
        }
    }
}

/// Dense's input gradient `r(dy · Wᵀ)`, shaped `inputShape`.
public func denseInputGradientBF16(_ dy: BF16Activation, weight: Tensor, inputShape: [Int]) -> Tensor {
    let k = weight.shape[0], n = weight.shape[1]
    let m = dy.leadingCount
    precondition(dy.lastDim == n && Tensor.count(of: inputShape) == m * k,
                 "denseInputGradientBF16: dy \(dy.shape) does not match input \(inputShape) and weight \(weight.shape)")
    return dy.withOperand { a in
        weight.withPointer { pw in
            Tensor.build(inputShape) { pdx in
                bf16GEMM(transA: false, transB: true, m: m, n: k, k: n, a: a, lda: n, b: .float(pw), ldb: n, c: pdx, ldc: k)
            }
        }
    }
}

/// `denseInputGradientBF16` with the result kept as bf16 bits (stored so by
/// the GEMM: the float32 result is never written).
public func denseInputGradientToBF16(_ dy: BF16Activation, weight: Tensor, inputShape: [Int]) -> BF16Tensor {
    let k = weight.shape[0], n = weight.shape[1]
    let m = dy.leadingCount
    precondition(dy.lastDim == n && Tensor.count(of: inputShape) == m * k,
                 "denseInputGradientToBF16: dy \(dy.shape) does not match input \(inputShape) and weight \(weight.shape)")
    return dy.withOperand { a in
        weight.withPointer { pw in
            BF16Tensor(shape: inputShape) { pdx in
                bf16GEMM(transA: false, transB: true, m: m, n: k, k: n, a: a, lda: n, b: .float(pw), ldb: n,
                         c: nil, ldc: k, halves: .store(pdx))
            }
        }
    }
}

/// Dense's kernel gradient `r(xᵀ · dy)` [K, N].
public func denseKernelGradientBF16(_ dy: BF16Activation, x: BF16Activation, weight: Tensor) -> Tensor {
    let k = weight.shape[0], n = weight.shape[1]
    let m = x.leadingCount
    precondition(dy.lastDim == n && dy.leadingCount == m && x.lastDim == k,
                 "denseKernelGradientBF16: dy \(dy.shape) does not match x \(x.shape) and weight \(weight.shape)")
    return x.withOperand { a in
        dy.withOperand { b in
            Tensor.build([k, n]) { pdw in
                bf16GEMM(transA: true, transB: false, m: k, n: n, k: m, a: a, lda: k, b: b, ldb: n, c: pdw, ldc: n)
            }
        }
    }
}
