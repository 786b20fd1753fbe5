// bfloat16 values held in float32 (docs/bf16.md).
//
// A bfloat16 is the top 16 bits of a float32: the same sign and 8-bit
// exponent, 7 explicit mantissa bits. Converting a float32 to bf16 rounds to
// nearest, ties to even (XLA's `convert` and `ml_dtypes`), NaN stays NaN and
// ±Inf stays ±Inf; a finite value past bf16's largest becomes ±Inf.
//
// The bf16 model keeps its values in ordinary `Float` tensors rounded to
// bf16 precision at the points where XLA rounds. Products of two bf16
// values are exact in float32 (8 x 8 mantissa bits fit in 24), so the fp32
// kernels on bf16-rounded inputs compute what an f32-accumulating bf16
// kernel computes, up to the summation order.

/// `x` rounded to the nearest bfloat16 (ties to even), as a float32.
@inline(__always)
public func roundToBF16(_ x: Float) -> Float {
    let bits = x.bitPattern
    if x.isNaN { return Float(bitPattern: (bits | 0x0040_0000) & 0xFFFF_0000) }
    let lsb = (bits >> 16) & 1
    let rounded = bits &+ 0x7FFF &+ lsb
    return Float(bitPattern: rounded & 0xFFFF_0000)
}

/// Rounds every element of a float32 vector to bfloat16: the scalar
/// `roundToBF16` on whole vectors (integer adds on the bits, NaN lanes
/// selected by a mask; a loop over lanes would compile to scalar code).
@inline(__always)
func roundToBF16(_ v: V16) -> V16 {
    let bits = unsafeBitCast(v, to: SIMD16<UInt32>.self)
    let lsb = (bits &>> 16) & 1
    let rounded = (bits &+ 0x7FFF &+ lsb) & 0xFFFF_0000
    let quietNaN = (bits | 0x0040_0000) & 0xFFFF_0000
    return unsafeBitCast(rounded.replacing(with: quietNaN, where: v .!= v), to: V16.self)
}

/// Rounds `count` floats at `p` to bfloat16 in place.
func roundToBF16InPlace(_ p: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i &+ 16 <= count {
        store16(roundToBF16(load16(p + i)), p + i)
        i &+= 16
    }
    while i < count { p[i] = roundToBF16(p[i]); i &+= 1 }
}

extension Tensor {
    /// The tensor with every element rounded to bfloat16 (`astype(bfloat16)`).
    public func roundedToBF16() -> Tensor {
        // One pass into a new tensor (a copy rounded in place read and wrote it twice).
        let n = count
        return withPointer { src in
            Tensor.build(shape) { dst in
                let io = UncheckedSendable((src, dst))
                parallelChunks(n, minChunk: 1 << 15) { range in
                    let (src, dst) = io.value
                    var i = range.lowerBound
                    while i &+ 16 <= range.upperBound {
                        store16(Tensors.roundToBF16(load16(src + i)), dst + i)
                        i &+= 16
                    }
                    while i < range.upperBound { dst[i] = Tensors.roundToBF16(src[i]); i &+= 1 }
                }
            }
        }
    }

    /// Rounds every element to bfloat16 in place, in parallel (elementwise,
    /// so the same bits on any thread count).
    public mutating func roundToBF16() {
        let n = count
        if n == 0 { return }
        scalars.withUnsafeMutableBufferPointer { b in
            let p = UncheckedSendable(b.baseAddress!)
            parallelChunks(n, minChunk: 1 << 15) { range in
                roundToBF16InPlace(p.value + range.lowerBound, count: range.count)
            }
        }
    }

    /// Whether every element is already a bfloat16 value.
    public var isBF16: Bool { scalars.allSatisfy { $0.isNaN || $0.bitPattern & 0xFFFF == 0 } }
}

/// A tensor tree's leaves rounded to bfloat16.
extension TensorTree {
    /// Every leaf rounded to bfloat16.
    public func roundedToBF16() -> TensorTree { map { _, t in t.roundedToBF16() } }
}
