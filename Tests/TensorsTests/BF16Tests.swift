import XCTest
@testable import Tensors

/// bfloat16 rounding and the bf16 elementwise passes (docs/bf16.md).
final class BF16Tests: XCTestCase {
    func testRoundToBF16IsNearestTiesToEven() {
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties to the even mantissa (1).
        XCTAssertEqual(roundToBF16(1 + 0x1p-8), 1)
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even (1 + 2^-6).
        XCTAssertEqual(roundToBF16(1 + 3 * 0x1p-8), 1 + 0x1p-6)
        XCTAssertEqual(roundToBF16(1 + 0x1p-8 + 0x1p-20), 1 + 0x1p-7, "above halfway rounds up")
        XCTAssertEqual(roundToBF16(-1.0009765625), -1)
        XCTAssertEqual(roundToBF16(0.70710678), 0.70703125, "bf16(sqrt(0.5)), the constant jax.nn.gelu uses")
        XCTAssertEqual(roundToBF16(-1.1283791), -1.125, "bf16(-2/sqrt(pi))")
        XCTAssertEqual(roundToBF16(.infinity), .infinity)
        XCTAssertEqual(roundToBF16(-.infinity), -.infinity)
        XCTAssertTrue(roundToBF16(.nan).isNaN)
        XCTAssertEqual(roundToBF16(.greatestFiniteMagnitude), .infinity, "past bf16's largest finite value")
        XCTAssertEqual(roundToBF16(-0.0).sign, .minus)
        XCTAssertEqual(roundToBF16(0x1p-130), 0x1p-130, "a subnormal with only top bits set is a bf16 value")
        XCTAssertEqual(roundToBF16(0x1p-140), 0, "one whose bits are all below bf16's is flushed to zero by rounding")
        // Every bf16 value is a fixed point.
        for bits in stride(from: UInt32(0), to: 0x7F80_0000, by: 0x0001_2345 << 8) {
            let v = Float(bitPattern: bits & 0xFFFF_0000)
            XCTAssertEqual(roundToBF16(v), v)
        }
    }

    func testTensorRoundingMatchesScalarAndIsThreadInvariant() {
        var rng = TestRNG(16)
        var t = rng.tensor([3, 1001])
        // Special values go through the vector rounding too (lanes 0..<16 of the first block).
        let specials: [Float] = [.nan, -.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -0.0, 0x1p-130, 0x1p-140,
                                 1 + 0x1p-8, 1 + 3 * 0x1p-8, -(1 + 0x1p-8), Float(bitPattern: 0x7F7F_FFFF),
                                 Float(bitPattern: 0x7FFF_FFFF), Float(bitPattern: 0xFF80_0001), 3.0e38, -3.4e38]
        for (i, v) in specials.enumerated() { t.scalars[i] = v }
        let r = t.roundedToBF16()
        XCTAssertTrue(r.isBF16)
        XCTAssertFalse(t.isBF16)
        for i in 0..<t.count { XCTAssertEqual(r.scalars[i].bitPattern, roundToBF16(t.scalars[i]).bitPattern, "at \(i)") }
        let one = ComputeContext(threads: 1).run { t.roundedToBF16() }
        XCTAssertEqual(one.scalars.map(\.bitPattern), r.scalars.map(\.bitPattern))
    }

    /// GELU on bf16 values gives bf16 values close to the float32 GELU, and its
    /// gradient matches the float32 gradient to bf16 precision.
    func testBF16GELUIsGELUInBF16() {
        var rng = TestRNG(17)
        let x = rng.tensor([4, 37]).roundedToBF16()
        let dy = rng.tensor([4, 37]).roundedToBF16()
        let y = bf16GELUForward(x)
        XCTAssertTrue(y.isBF16)
        let (y32, dx32) = geluForwardAndBackward(dy, x: x)
        let dx = bf16GELUBackward(dy, x: x)
        XCTAssertTrue(dx.isBF16)
        // The backward pass's fused form gives both, the same bits.
        let fused = bf16GELUForwardAndBackward(dy, x: x)
        XCTAssertEqual(fused.y, y)
        XCTAssertEqual(fused.dx, dx)
        for i in 0..<x.count {
            XCTAssertEqual(y.scalars[i], y32.scalars[i], accuracy: 0x1p-6 * max(abs(y32.scalars[i]), 1e-3), "y at \(i)")
            XCTAssertEqual(dx.scalars[i], dx32.scalars[i], accuracy: 0x1p-5 * max(abs(dx32.scalars[i]), abs(dy.scalars[i])), "dx at \(i)")
        }
    }

    /// The column sums are XLA's bf16 reduce: per channel, rows in order, the
    /// running sum rounded after every add; the same bits on 1 and 2 threads,
    /// with a channel count that leaves a partial group of 16.
    func testBF16ColumnSumsRoundAfterEveryAdd() {
        var rng = TestRNG(23)
        let t = rng.tensor([300, 37]).roundedToBF16()
        var expected = [Float](repeating: 0, count: 37)
        for row in 0..<300 {
            for c in 0..<37 { expected[c] = roundToBF16(expected[c] + t.scalars[row * 37 + c]) }
        }
        let sums = bf16ColumnSums(t)
        XCTAssertEqual(sums.shape, [37])
        XCTAssertEqual(sums.scalars.map(\.bitPattern), expected.map(\.bitPattern))
        XCTAssertEqual(ComputeContext(threads: 1).run { bf16ColumnSums(t) }, sums)
        // Not the float32 sum rounded once: the running rounding loses bits.
        var once = [Float](repeating: 0, count: 37)
        for row in 0..<300 { for c in 0..<37 { once[c] += t.scalars[row * 37 + c] } }
        XCTAssertNotEqual(sums.scalars, once.map(roundToBF16))
    }

    /// The vectorised branch end equals the op-by-op scalar definition (the
    /// file comment of BF16Residual.swift) bit for bit, with a bf16 and a
    /// float32 gamma, with and without stochastic depth, on 1 and 2 threads,
    /// for a channel count that leaves a partial group of 16.
    func testBF16ResidualMatchesScalarDefinition() {
        var rng = TestRNG(31)
        let b = 3, hw = 20, c = 37
        let h = rng.tensor([b, hw, 1, c]).roundedToBF16(), dot = rng.tensor([b, hw, 1, c]).roundedToBF16()
        let bias = rng.tensor([c]).roundedToBF16(), dy = rng.tensor([b, hw, 1, c]).roundedToBF16()
        let keepScale = 1 / roundToBF16(0.8)
        for gammaBF16 in [true, false] {
            let gamma = gammaBF16 ? rng.tensor([c]).roundedToBF16() : rng.tensor([c])
            let r: (Float) -> Float = gammaBF16 ? roundToBF16 : { $0 }
            for keep in [nil, [true, false, true]] as [[Bool]?] {
                for roundOutput in [true, false] {
                    var s = dot.scalars, out = h.scalars
                    var dDot = [Float](repeating: 0, count: dot.count)
                    var dGamma = [Float](repeating: 0, count: c), dBias = [Float](repeating: 0, count: c)
                    for row in 0..<(b * hw) {
                        let kept = keep.map { $0[row / hw] }
                        for i in 0..<c {
                            let k = row * c + i
                            let v = r(s[k] + bias.scalars[i])
                            s[k] = v
                            var y = r(v * gamma.scalars[i])
                            if let kept { y = kept ? r(y * keepScale) : 0 }
                            out[k] = roundOutput ? roundToBF16(out[k] + y) : out[k] + y
                            var d = dy.scalars[k]
                            if let kept { d = kept ? r(d * keepScale) : 0 }
                            dGamma[i] = r(dGamma[i] + r(d * v))
                            dDot[k] = roundToBF16(d * gamma.scalars[i])
                            dBias[i] = roundToBF16(dBias[i] + dDot[k])
                        }
                    }
                    for threads in [1, 2] {
                        let label = "gamma bf16 \(gammaBF16), keep \(keep != nil), round \(roundOutput), \(threads) threads"
                        let (fo, fs) = ComputeContext(threads: threads).run {
                            bf16ResidualForward(h, dot: dot, bias: bias, gamma: gamma, gammaBF16: gammaBF16,
                                                keep: keep, keepScale: keepScale, roundOutput: roundOutput)
                        }
                        XCTAssertEqual(fo.scalars.map(\.bitPattern), out.map(\.bitPattern), "out, " + label)
                        XCTAssertEqual(fs.scalars.map(\.bitPattern), s.map(\.bitPattern), "s, " + label)
                        // Inference keeps no branch: the same output, no `s`.
                        let (io, iS) = ComputeContext(threads: threads).run {
                            bf16ResidualForward(h, dot: dot, bias: bias, gamma: gamma, gammaBF16: gammaBF16,
                                                keep: keep, keepScale: keepScale, roundOutput: roundOutput, keepBranch: false)
                        }
                        XCTAssertEqual(io, fo, "inference out, " + label)
                        XCTAssertEqual(iS.count, 0)
                        let back = ComputeContext(threads: threads).run {
                            bf16ResidualBackward(dy, s: fs, gamma: gamma, gammaBF16: gammaBF16, keep: keep, keepScale: keepScale)
                        }
                        XCTAssertEqual(back.dDot.scalars.map(\.bitPattern), dDot.map(\.bitPattern), "dDot, " + label)
                        XCTAssertEqual(back.dBias.scalars.map(\.bitPattern), dBias.map(\.bitPattern), "dBias, " + label)
                        XCTAssertEqual(back.dGamma.scalars.map(\.bitPattern), dGamma.map(\.bitPattern), "dGamma, " + label)
                    }
                }
            }
        }
    }

    /// The fused passes of a bf16 block are the op sequences they replace,
    /// bit for bit (a channel count with a partial group of 16).
    func testFusedBlockPassesAreTheirOpSequences() {
        var rng = TestRNG(59)
        let shape = [3, 5, 2, 37]
        let conv = rng.tensor(shape, -3, 3), bias = rng.tensor([37]).roundedToBF16()
        // Forward: round, keep as bits, add the bias in float32.
        var expected = conv.roundedToBF16()
        let keptExpected = BF16Tensor(packing: expected)
        bf16AddBias(&expected, bias, round: false)
        var fused = conv
        let kept = bf16RoundKeepAddBias(&fused, bias: bias, keep: true)
        XCTAssertEqual(fused.scalars.map(\.bitPattern), expected.scalars.map(\.bitPattern))
        XCTAssertEqual(kept, keptExpected)
        var inference = conv
        XCTAssertNil(bf16RoundKeepAddBias(&inference, bias: bias, keep: false))
        XCTAssertEqual(inference, fused)
        // Reading the cache back: unpack, then the same float32 bias adds.
        XCTAssertEqual(keptExpected.unpacked(addingBias: bias).scalars.map(\.bitPattern), expected.scalars.map(\.bitPattern))
        // Backward: the residual's cotangent joins the rounded branch cotangent.
        let d = rng.tensor(shape), branch = rng.tensor(shape)
        for inputIsBF16 in [true, false] {
            var joined = branch
            bf16ResidualJoin(d, into: &joined, inputIsBF16: inputIsBF16)
            var sum = add(inputIsBF16 ? d.roundedToBF16() : d, branch.roundedToBF16())
            if inputIsBF16 { sum.roundToBF16() }
            XCTAssertEqual(joined.scalars.map(\.bitPattern), sum.scalars.map(\.bitPattern), "inputIsBF16 \(inputIsBF16)")
        }
    }

    /// LayerNorm with its output kept as bf16 bits: the float32 LayerNorm's
    /// statistics, and its output rounded (a channel count with a tail).
    func testLayerNormToBF16BitsIsTheRoundedLayerNorm() {
        var rng = TestRNG(61)
        for c in [37, 96] {
            let x = rng.tensor([4, 7, c], -3, 3), scale = rng.tensor([c]), bias = rng.tensor([c])
            let f32 = layerNormForward(x, scale: scale, bias: bias, epsilon: 1e-6)
            let bits = layerNormForwardBF16(x, scale: scale, bias: bias, epsilon: 1e-6)
            XCTAssertEqual(bits.y, BF16Tensor(packing: f32.y.roundedToBF16()), "c \(c)")
            XCTAssertEqual(bits.mean, f32.mean)
            XCTAssertEqual(bits.rstd, f32.rstd)
        }
    }
}
