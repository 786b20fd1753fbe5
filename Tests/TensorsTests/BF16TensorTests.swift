import XCTest
@testable import Tensors

/// Packing bf16 values into 16 bits each (`BF16Tensor`).
final class BF16TensorTests: XCTestCase {
    /// Packing and unpacking gives back every bit: signs, zeros of both signs,
    /// subnormals, infinities, NaN and ordinary values; on 1 and 2 threads.
    func testPackUnpackIsExact() {
        var rng = TestRNG(7)
        var values = rng.tensor([5, 40_001]).roundedToBF16().scalars
        values[0] = -0.0
        values[1] = 0x1p-130
        values[2] = .infinity
        values[3] = -.infinity
        values[4] = .nan
        let t = Tensor(shape: [5, 40_001], scalars: values)
        let packed = BF16Tensor(packing: t)
        XCTAssertEqual(packed.shape, t.shape)
        XCTAssertEqual(packed.byteCount, 2 * t.count)
        let back = packed.unpacked()
        XCTAssertEqual(back.shape, t.shape)
        XCTAssertEqual(back.scalars.map(\.bitPattern), t.scalars.map(\.bitPattern))
        let one = ComputeContext(threads: 1).run { (BF16Tensor(packing: t), BF16Tensor(packing: t).unpacked()) }
        XCTAssertEqual(one.0, packed)
        XCTAssertEqual(one.1.scalars.map(\.bitPattern), t.scalars.map(\.bitPattern))
    }

    func testEmptyTensor() {
        let packed = BF16Tensor(packing: Tensor(shape: [0, 3], scalars: []))
        XCTAssertEqual(packed.count, 0)
        XCTAssertEqual(packed.unpacked().shape, [0, 3])
    }
}
