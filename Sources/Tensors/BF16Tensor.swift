// bfloat16 values stored in 16 bits each (docs/bf16.md, "Memory").
//
// A bf16 value held in a float32 has zeros in its low 16 bits, so keeping
// only the high 16 bits loses nothing: packing and unpacking a tensor of
// bf16 values gives back the same bits. The bf16 model keeps the
// activations its backward pass reads this way, half the bytes of float32.
// Both directions are plain shifts over the elements in parallel chunks
// (elementwise, so the same bits on any thread count).

/// A tensor of bfloat16 values in half the bytes of a `Tensor`.
public struct BF16Tensor: Sendable, Equatable {
    /// The shape, as the `Tensor` it was packed from.
    public let shape: [Int]
    /// The high 16 bits of each float32 element.
    var halves: [UInt16]

    /// Packs a tensor whose elements are bf16 values (`Tensor.isBF16`); any
    /// other value would lose its low 16 bits, which debug builds check.
    public init(packing t: Tensor) {
        assert(t.isBF16, "BF16Tensor(packing:) needs bf16 values; round them first (roundedToBF16)")
        shape = t.shape
        let n = t.count
        halves = [UInt16](unsafeUninitializedCapacity: n) { out, initialized in
            if n > 0 {
                let dst = UncheckedSendable(out.baseAddress!)
                t.withPointer { src in
                    let s = UncheckedSendable(src)
                    parallelChunks(n, minChunk: 1 << 15) { range in
                        for i in range { dst.value[i] = UInt16(truncatingIfNeeded: s.value[i].bitPattern >> 16) }
                    }
                }
            }
            initialized = n
        }
    }

    /// A tensor of `shape` whose halves `fill` writes (every one of them).
    init(shape: [Int], fill: (UnsafeMutablePointer<UInt16>) -> Void) {
        self.shape = shape
        let n = Tensor.count(of: shape)
        halves = [UInt16](unsafeUninitializedCapacity: n) { out, initialized in
            if n > 0 { fill(out.baseAddress!) }
            initialized = n
        }
    }

    /// The product of all axes but the last, and the last.
    public var leadingCount: Int { shape.dropLast().reduce(1, *) }
    public var lastDim: Int { shape.last ?? 1 }

    /// The number of elements.
    public var count: Int { halves.count }

    /// The bytes the values occupy (2 per element).
    public var byteCount: Int { halves.count * MemoryLayout<UInt16>.stride }

    /// The values plus a per-channel `bias` (last axis) in float32, in one
    /// pass: `unpacked()` then `bf16AddBias(round: false)`, the same bits.
    public func unpacked(addingBias bias: Tensor) -> Tensor {
        let c = lastDim, rows = leadingCount
        precondition(bias.shape == [c], "unpacked(addingBias:): bias \(bias.shape) does not match last axis \(c)")
        return halves.withUnsafeBufferPointer { src in
            bias.withPointer { pb in
                Tensor.build(shape) { out in
                    let io = UncheckedSendable((src.baseAddress ?? UnsafePointer(bitPattern: 0x10)!, out))
                    parallelChunks(rows, minChunk: max(1, 16384 / max(1, c))) { range in
                        let (s, o) = io.value
                        for row in range {
                            for i in 0..<c {
                                let k = row &* c &+ i
                                o[k] = Float(bitPattern: UInt32(s[k]) << 16) + pb[i]
                            }
                        }
                    }
                }
            }
        }
    }

    /// The values as a float32 tensor (exactly the tensor that was packed).
    public func unpacked() -> Tensor {
        let n = count
        return halves.withUnsafeBufferPointer { src in
            let s = UncheckedSendable(src.baseAddress ?? UnsafePointer(bitPattern: 0x10)!)
            return Tensor.build(shape) { out in
                let dst = UncheckedSendable(out)
                parallelChunks(n, minChunk: 1 << 15) { range in
                    for i in range { dst.value[i] = Float(bitPattern: UInt32(s.value[i]) << 16) }
                }
            }
        }
    }
}
