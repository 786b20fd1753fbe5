import XCTest
@testable import Tensors

/// The table-driven bf16 GELU (BF16GELU.swift) against its op-by-op
/// computation, bit for bit, over every bf16 value.
final class BF16GELUTests: XCTestCase {
    /// All 65,536 bf16 bit patterns (NaNs, infinities, zeros, subnormals
    /// included), then 7 more values so the vector loops leave a scalar tail.
    private func everyBF16Value() -> Tensor {
        var values = (0..<65536).map { Float(bitPattern: UInt32($0) << 16) }
        values += [1, -1, 0.5, -3.25, 8, -0.0, 100].map(roundToBF16)
        return Tensor(shape: [values.count], scalars: values)
    }

    func testForwardTableIsTheOpByOpGELU() {
        let x = everyBF16Value()
        let y = bf16GELUForward(x), reference = Reference.bf16GELUForward(x)
        XCTAssertEqual(y.scalars.map(\.bitPattern), reference.scalars.map(\.bitPattern))
        XCTAssertTrue(y.isBF16)
        // Spot values: GELU(0) = 0, GELU(1) = r(0.5 · r(erfc(-0.70703125))), large inputs pass through.
        XCTAssertEqual(y.scalars[0], 0)
        XCTAssertEqual(y.scalars[Int(Float(8).bitPattern >> 16)], 8)
        XCTAssertEqual(y.scalars[Int(Float(-8).bitPattern >> 16)], 0, accuracy: 1e-14)
        XCTAssertEqual(y.scalars[Int(Float(1).bitPattern >> 16)], 0.83984375)  // bf16(0.8413)
    }

    /// The backward pass (C, vector gathers and a scalar tail) against the
    /// op-by-op gradient for every bf16 x, with cotangents of every sign and
    /// magnitude, on 1 and 2 threads; its recomputed output is the forward's.
    func testBackwardTablesAreTheOpByOpGradient() {
        let x = everyBF16Value()
        var rng = TestRNG(41)
        // 2^59: cotangents on both sides of 2^60, where the C pass leaves its
        // rounding without the NaN case for the full one.
        for scale: Float in [1, 1e-30, 1e30, 0x1p59] {
            let dy = Tensor(shape: x.shape, scalars: (0..<x.count).map { _ in rng.uniform(-4, 4) * scale }).roundedToBF16()
            let fused = bf16GELUForwardAndBackward(dy, x: x)
            let reference = Reference.bf16GELUBackward(dy, x: x)
            XCTAssertEqual(fused.dx.scalars.map(\.bitPattern), reference.scalars.map(\.bitPattern), "cotangent scale \(scale)")
            XCTAssertEqual(fused.y.scalars.map(\.bitPattern), bf16GELUForward(x).scalars.map(\.bitPattern))
            let one = ComputeContext(threads: 1).run { bf16GELUForwardAndBackward(dy, x: x) }
            XCTAssertEqual(one.dx.scalars.map(\.bitPattern), fused.dx.scalars.map(\.bitPattern))
            // On bf16 bits: the same bits.
            let halves = bf16GELUForwardAndBackward(BF16Tensor(packing: dy), x: BF16Tensor(packing: x))
            XCTAssertEqual(halves.dx, BF16Tensor(packing: reference))
            XCTAssertEqual(halves.y, BF16Tensor(packing: fused.y))
        }
        // Special cotangents on ordinary inputs.
        let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 0x1p-130, .greatestFiniteMagnitude]
        let xs = Tensor(shape: [specials.count * 5], scalars: (0..<specials.count * 5).map { Float($0 % 5) - 2 })
        let ds = Tensor(shape: xs.shape, scalars: (0..<xs.count).map { specials[$0 / 5] }).roundedToBF16()
        let dx = bf16GELUBackward(ds, x: xs), reference = Reference.bf16GELUBackward(ds, x: xs)
        XCTAssertEqual(dx.scalars.map(\.bitPattern), reference.scalars.map(\.bitPattern))
        // A float32 NaN cotangent whose low bits would carry into the sign under
        // a rounding without the NaN case: still NaN, as the op-by-op code gives.
        let payload = Tensor(shape: [32], scalars: (0..<32).map { $0 == 5 ? Float(bitPattern: 0x7fff_ffff) : 1 })
        let onX = Tensor(shape: [32], scalars: (0..<32).map { Float($0 % 5) - 2 })
        let nanDX = bf16GELUBackward(payload, x: onX)
        XCTAssertEqual(nanDX.scalars.map(\.bitPattern), Reference.bf16GELUBackward(payload, x: onX).scalars.map(\.bitPattern))
        XCTAssertTrue(nanDX.scalars[5].isNaN)
        // XLA negates by flipping the sign: with g = -0 at x = 0, dA1 = -(+0) = -0
        // and dx = r(-0 + -0) = -0 (Swift's SIMD prefix minus would give +0).
        let zero = bf16GELUBackward(Tensor(shape: [1], scalars: [-0.0]), x: Tensor(shape: [1], scalars: [0]))
        XCTAssertEqual(zero.scalars[0].bitPattern, (-Float(0)).bitPattern)
    }

    /// Conv_1 with GELU in the GEMM's store is the two passes it replaces, bit
    /// for bit: the GELU output and the kept pre-activation (both as bf16
    /// bits), for shapes with
    /// edge tiles and K blocks, on 1, 2 and 3 threads.
    func testGELUInTheGEMMStoreIsTheTwoPasses() {
        var rng = TestRNG(43)
        for (m, k, n) in [(1, 3, 5), (37, 19, 70), (130, 300, 64)] {
            let x = rng.tensor([m, k], -2, 2), w = rng.tensor([k, n], -0.5, 0.5), b = rng.tensor([n]).roundedToBF16()
            let pre = denseForwardBF16(x, weight: w, bias: b, roundSum: true)
            let y = bf16GELUForward(pre)
            for threads in [1, 2, 3] {
                let fused = ComputeContext(threads: threads).run { denseGELUForwardBF16(.float(x), weight: w, bias: b, keepPreActivation: true) }
                XCTAssertEqual(fused.y, BF16Tensor(packing: y), "m \(m) k \(k) n \(n) threads \(threads)")
                XCTAssertEqual(fused.preActivation, BF16Tensor(packing: pre))
                let inference = ComputeContext(threads: threads).run { denseGELUForwardBF16(.float(x), weight: w, bias: b, keepPreActivation: false) }
                XCTAssertNil(inference.preActivation)
                XCTAssertEqual(inference.y, fused.y)
                // The input as bf16 bits (the LayerNorm's output in the model): the same.
                let bits = denseGELUForwardBF16(.halves(BF16Tensor(packing: x.roundedToBF16())), weight: w, bias: b, keepPreActivation: false)
                XCTAssertEqual(bits.y, fused.y)
            }
        }
    }

    /// Conv_2's input gradient stored as bf16 bits, then GELU's backward pass
    /// on bits, is the float32 GEMM then `bf16GELUForwardAndBackward`, bit for bit.
    func testGELUBackwardOnStoredBitsIsTheTwoPasses() {
        var rng = TestRNG(47)
        for (m, k, n) in [(1, 5, 3), (37, 70, 19), (130, 64, 300)] {
            // Conv_2: [m, k] -> [m, n], weight [k, n]; dy [m, n]; GELU's input [m, k].
            let dy = rng.tensor([m, n]).roundedToBF16(), w = rng.tensor([k, n], -0.5, 0.5)
            let pre = rng.tensor([m, k], -3, 3).roundedToBF16()
            let dG = denseInputGradient(dy, weight: w, inputShape: [m, k], precision: .bf16)
            let twoPasses = bf16GELUForwardAndBackward(dG, x: pre)
            for threads in [1, 2, 3] {
                let fused = ComputeContext(threads: threads).run {
                    let dGBits = denseInputGradientToBF16(.float(dy), weight: w, inputShape: [m, k])
                    return bf16GELUForwardAndBackward(dGBits, x: BF16Tensor(packing: pre))
                }
                XCTAssertEqual(fused.y, BF16Tensor(packing: twoPasses.y), "m \(m) k \(k) n \(n) threads \(threads)")
                XCTAssertEqual(fused.dx, BF16Tensor(packing: twoPasses.dx), "m \(m) k \(k) n \(n) threads \(threads)")
                // The bias gradient from the same pass: the column sums' bits.
                XCTAssertEqual(fused.dxColumnSums.scalars.map(\.bitPattern), bf16ColumnSums(twoPasses.dx).scalars.map(\.bitPattern),
                               "m \(m) k \(k) n \(n) threads \(threads)")
            }
        }
    }

    /// The bf16 Dense GEMMs read bf16 bits (`BF16Activation.halves`) as they
    /// read the same values in float32: the same results, in every operand
    /// position; and the column sums of bits are those of the floats.
    func testGEMMsOnBF16BitsAreTheGEMMsOnFloats() {
        var rng = TestRNG(53)
        for (m, k, n) in [(1, 3, 5), (37, 70, 19), (130, 64, 300), (401, 96, 33)] {
            let x = rng.tensor([m, k]).roundedToBF16(), dy = rng.tensor([m, n]).roundedToBF16(), w = rng.tensor([k, n], -0.5, 0.5)
            let xh = BF16Activation.halves(BF16Tensor(packing: x)), dyh = BF16Activation.halves(BF16Tensor(packing: dy))
            let forward = denseForward(x, weight: w, bias: nil, precision: .bf16)
            XCTAssertEqual(denseForwardBF16(xh, weight: w), forward, "forward m \(m) k \(k) n \(n)")
            XCTAssertEqual(denseForwardBF16(.float(x), weight: w), forward)
            XCTAssertEqual(denseInputGradientBF16(dyh, weight: w, inputShape: [m, k]),
                           denseInputGradient(dy, weight: w, inputShape: [m, k], precision: .bf16), "dx m \(m) k \(k) n \(n)")
            let dW = denseKernelGradient(dy, x: x, weight: w, precision: .bf16)
            for (a, b) in [(dyh, xh), (dyh, BF16Activation.float(x)), (BF16Activation.float(dy), xh)] {
                XCTAssertEqual(denseKernelGradientBF16(a, x: b, weight: w), dW, "dW m \(m) k \(k) n \(n)")
            }
            XCTAssertEqual(bf16ColumnSums(BF16Tensor(packing: dy)), bf16ColumnSums(dy))
        }
    }
}
