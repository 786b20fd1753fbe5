import CBF16Kernels

// GELU in a bf16 model (docs/bf16.md): `jax.nn.gelu(x)`, i.e.
// `0.5 * x * erfc(-x * bf16(sqrt(0.5)))` with x bf16, op by op as XLA:CPU
// computes it (r = round to bf16, ties to even):
//   half = r(0.5 x), m = -x * 0.70703125 (f32, not rounded: erfc upcasts it),
//   e = r(erfc_f32(m)), y = r(half * e)
// Its JAX gradient, op by op (g the bf16 cotangent, -1.125 = bf16(-2/sqrt(pi))):
//   dE = r(half g), t = r(dE * -1.125), mr = r(-x * 0.70703125), q = r(mr mr),
//   ex = r(exp(-q)), dM = r(t ex), dA1 = -r(dM * 0.70703125),
//   dH = r(g e), dA2 = r(dH * 0.5), dx = r(dA1 + dA2)
//
// Speed: a bf16 x has only 65,536 possible values, so everything that
// depends on x alone (y, e, ex) is computed once per value, by the op-by-op
// vector code (`Reference.bf16GELU…`), into tables indexed by x's high 16
// bits. The forward pass is then one load per element, and the backward pass
// looks up e and ex (one word) and does only the ops that involve g. The same bits as
// the op-by-op code by construction (a test compares all 65,536 values), at
// a fraction of its cost (the erfc's exp, divisions and polynomials are gone).

/// bf16(sqrt(0.5)), the constant jax.nn.gelu multiplies by in a bf16 model.
let bf16SqrtHalf: Float = 0.70703125
/// bf16(-2/sqrt(pi)), erfc's derivative constant in a bf16 model.
let bf16MinusTwoOverSqrtPi: Float = -1.125

/// The x-only parts of bf16 GELU for every bf16 value, indexed by its bit
/// pattern (the float32's high 16 bits): the output `y`, and the gradient's
/// `e = r(erfc(-x s))` and `ex = r(exp(-r(mr mr)))` as one word per value,
/// e's bits in the low half and ex's in the high half (one gather fetches
/// both; the backward pass gets y as r(r(0.5 x) e), the op it is). 512 KiB,
/// built on first use.
struct BF16GELUTable: Sendable {
    let y: [Float], eex: [UInt32]

    static let shared = BF16GELUTable()

    private init() {
        var y = [Float](repeating: 0, count: 65536), eex = [UInt32](repeating: 0, count: 65536)
        for block in 0..<4096 {
            var v = V16()
            for l in 0..<16 { v[l] = Float(bitPattern: UInt32(block &* 16 &+ l) << 16) }
            let parts = bf16GELUParts(v)
            for l in 0..<16 {
                y[block &* 16 &+ l] = parts.y[l]
                eex[block &* 16 &+ l] = parts.e[l].bitPattern >> 16 | parts.ex[l].bitPattern & 0xFFFF_0000
            }
        }
        (self.y, self.eex) = (y, eex)
    }
}

/// bf16 GELU forward of bf16 values `x` (see the file comment): a table
/// lookup per element. Only the high 16 bits of each element are read (the
/// whole value, for a bf16 value).
public func bf16GELUForward(_ x: Tensor) -> Tensor {
    let n = x.count
    return BF16GELUTable.shared.y.withUnsafeBufferPointer { table in
        x.withPointer { px in
            Tensor.build(x.shape) { py in
                let io = UncheckedSendable((px, py, table.baseAddress!))
                parallelChunks(n, minChunk: 1 << 15) { range in
                    let (px, py, ty) = io.value
                    for i in range { py[i] = ty[Int(px[i].bitPattern &>> 16)] }
                }
            }
        }
    }
}

/// What `bf16GEMM` does with each tile of its result as it stores it, when
/// the result is kept as bf16 bits (`CNXBF16HalvesEpilogue`): the bits of
/// C, or of bf16 GELU of C (and then, optionally, C's bits too: the
/// pre-activation).
public struct BF16HalvesEpilogue {
    let raw: CNXBF16HalvesEpilogue

    static func store(_ output: UnsafeMutablePointer<UInt16>) -> Self {
        Self(raw: CNXBF16HalvesEpilogue(tableY: nil, output: output, preActivation: nil))
    }

    static func gelu(_ table: UnsafePointer<Float>, output: UnsafeMutablePointer<UInt16>,
                     preActivation: UnsafeMutablePointer<UInt16>?) -> Self {
        Self(raw: CNXBF16HalvesEpilogue(tableY: table, output: output, preActivation: preActivation))
    }
}

/// Conv_1 of a bf16 block with its GELU: `bf16GELUForward(denseForwardBF16(x,
/// weight:, bias:, roundSum: true))` in one GEMM, GELU applied to each tile as
/// it is stored, the output kept as bf16 (half the bytes: Conv_2 reads it
/// that way). With `keepPreActivation` the pre-activation is also returned
/// as bf16 (the backward pass's cache). The same bits as the two passes.
public func denseGELUForwardBF16(_ x: BF16Activation, weight: Tensor, bias: Tensor, keepPreActivation: Bool)
    -> (y: BF16Tensor, preActivation: BF16Tensor?) {
    precondition(weight.rank == 2, "denseGELUForwardBF16: weight must be [in, out], got \(weight.shape)")
    let k = weight.shape[0], n = weight.shape[1]
    precondition(x.lastDim == k, "denseGELUForwardBF16: x \(x.shape) does not end in \(k)")
    precondition(bias.shape == [n], "denseGELUForwardBF16: bias \(bias.shape) is not [\(n)]")
    let m = x.leadingCount
    var outShape = x.shape
    if outShape.isEmpty { outShape = [n] } else { outShape[outShape.count - 1] = n }
    var pre: BF16Tensor? = nil
    let y = BF16GELUTable.shared.y.withUnsafeBufferPointer { table in
        x.withOperand { px in
            weight.withPointer { pw in
                bias.withPointer { pb in
                    BF16Tensor(shape: outShape) { py in
                        func run(_ halves: UnsafeMutablePointer<UInt16>?) {
                            bf16GEMM(transA: false, transB: false, m: m, n: n, k: k, a: px, lda: k, b: .float(pw), ldb: n,
                                     c: nil, ldc: n, bias: pb, roundSum: true,
                                     halves: .gelu(table.baseAddress!, output: py, preActivation: halves))
                        }
                        if keepPreActivation {
                            pre = BF16Tensor(shape: outShape) { halves in run(halves) }
                        } else {
                            run(nil)
                        }
                    }
                }
            }
        }
    }
    return (y, pre)
}

/// `bf16GELUForwardAndBackward` on bf16 bits: the same bits, half the bytes,
/// and in the same pass the bias gradient of the layer whose output is GELU's
/// input, `bf16ColumnSums(dx)` (one per channel, the last axis). In a bf16
/// block's backward pass it follows Conv_2's input gradient, stored as bits
/// (`denseInputGradientToBF16`). (GELU's backward pass as that GEMM's store
/// epilogue measured slower than this pass of its own: its table gathers ran
/// 1.3-2.8x slower interleaved with the GEMM's tiles.)
///
/// The pass runs by channel groups, each over all rows in order, so each
/// column's running bf16 sum is `bf16ColumnSums`' on any thread count (a
/// separate column-sum pass read the gradient again, with strided rows that
/// ran at a third of the memory's speed).
public func bf16GELUForwardAndBackward(_ dy: BF16Tensor, x: BF16Tensor) -> (y: BF16Tensor, dx: BF16Tensor, dxColumnSums: Tensor) {
    precondition(dy.shape == x.shape, "bf16GELUForwardAndBackward: dy \(dy.shape) is not \(x.shape)")
    let channels = x.lastDim, rows = x.leadingCount
    let table = BF16GELUTable.shared
    var y: BF16Tensor? = nil, dx: BF16Tensor? = nil
    let sums = Tensor.build([channels], zeroed: true) { ps in
        table.eex.withUnsafeBufferPointer { eex in
            dy.halves.withUnsafeBufferPointer { pd in
                x.halves.withUnsafeBufferPointer { px in
                    dx = BF16Tensor(shape: x.shape) { pdx in
                        y = BF16Tensor(shape: x.shape) { py in
                            let io = UncheckedSendable((pd.baseAddress!, px.baseAddress!, pdx, py, eex.baseAddress!, ps))
                            // Groups of 16 channels (a vector of lanes); each chunk owns its columns' sums.
                            parallelChunks((channels + 15) / 16) { groups in
                                let (pd, px, pdx, py, eex, ps) = io.value
                                let col0 = groups.lowerBound * 16, cols = min(channels, groups.upperBound * 16) - col0
                                cnx_bf16_gelu_backward_columns(pd, px, py, pdx, rows, channels, col0, cols, eex, ps + col0)
                            }
                        }
                    }
                }
            }
        }
    }
    return (y!, dx!, sums)
}

/// bf16 GELU backward: the gradient with respect to `x` (bf16 values) from
/// the bf16 cotangent `dy`, as JAX differentiates `jax.nn.gelu` in bf16.
public func bf16GELUBackward(_ dy: Tensor, x: Tensor) -> Tensor {
    bf16GELUForwardAndBackward(dy, x: x).dx
}

/// bf16 GELU's output and its gradient from one pass:
/// `(bf16GELUForward(x), bf16GELUBackward(dy, x))`. The backward pass
/// recomputes the output for Conv_2's weight gradient.
public func bf16GELUForwardAndBackward(_ dy: Tensor, x: Tensor) -> (y: Tensor, dx: Tensor) {
    precondition(dy.shape == x.shape, "bf16GELUForwardAndBackward: dy \(dy.shape) is not \(x.shape)")
    let n = x.count
    let table = BF16GELUTable.shared
    var y = Tensor.zeros([0])
    let dx = table.eex.withUnsafeBufferPointer { eex in
        dy.withPointer { pd in
            x.withPointer { px in
                Tensor.build(x.shape) { pdx in
                    y = Tensor.build(x.shape) { py in
                        let io = UncheckedSendable((pd, px, pdx, py, eex.baseAddress!))
                        parallelChunks(n, minChunk: 1 << 15) { range in
                            let (pd, px, pdx, py, eex) = io.value
                            let i = range.lowerBound
                            cnx_bf16_gelu_backward(pd + i, px + i, py + i, pdx + i, range.count, eex)
                        }
                    }
                }
            }
        }
    }
    return (y, dx)
}

/// The x-only parts of bf16 GELU on 16 lanes, op by op (the file comment).
@inline(__always)
private func bf16GELUParts(_ v: V16) -> (y: V16, e: V16, ex: V16) {
    let s = V16(repeating: bf16SqrtHalf)
    let half = roundToBF16(V16(repeating: 0.5) * v)
    let e = roundToBF16(erfcV16(-v * s))
    let mr = roundToBF16(-v * s)
    let q = roundToBF16(mr * mr)
    let ex = roundToBF16(expV16(-q))
    return (roundToBF16(half * e), e, ex)
}

/// The gradient's ops that involve the cotangent `g`, given the x-only parts
/// `e` and `ex` of the bf16 values `v` (the file comment).
@inline(__always)
private func bf16GELUGradient(_ g: V16, _ v: V16, e: V16, ex: V16) -> V16 {
    let s = V16(repeating: bf16SqrtHalf)
    let half = roundToBF16(V16(repeating: 0.5) * v)
    let dE = roundToBF16(half * g)
    let t = roundToBF16(dE * V16(repeating: bf16MinusTwoOverSqrtPi))
    let dM = roundToBF16(t * ex)
    let dA1 = negated(roundToBF16(dM * s))
    let dH = roundToBF16(g * e)
    let dA2 = roundToBF16(dH * V16(repeating: 0.5))
    return roundToBF16(dA1 + dA2)
}

/// `-v` as XLA's negate computes it: the sign bit flipped (Swift's prefix
/// `-` on SIMD vectors is `0 - v`, which turns -(+0) into +0).
@inline(__always)
private func negated(_ v: V16) -> V16 {
    unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) ^ 0x8000_0000, to: V16.self)
}

extension Reference {
    /// bf16 GELU forward computed op by op on 16 lanes (no table): what the
    /// table holds, for tests.
    public static func bf16GELUForward(_ x: Tensor) -> Tensor {
        mapLanes(x) { bf16GELUParts($0).y }
    }

    /// bf16 GELU backward computed op by op on 16 lanes (no table), for tests.
    public static func bf16GELUBackward(_ dy: Tensor, x: Tensor) -> Tensor {
        precondition(dy.shape == x.shape, "bf16GELUBackward: dy \(dy.shape) is not \(x.shape)")
        return zipLanes(dy, x) { g, v in
            let parts = bf16GELUParts(v)
            return bf16GELUGradient(g, v, e: parts.e, ex: parts.ex)
        }
    }
}
