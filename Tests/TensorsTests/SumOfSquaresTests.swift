import XCTest
@testable import Tensors

final class SumOfSquaresTests: XCTestCase {
    func testMatchesASequentialFloat64Sum() {
        var rng = TestRNG(11)
        // Below one chunk, several chunks with a tail, and an empty tensor.
        for n in [0, 7, 16, 1000, 3 * 65536 + 23] {
            let a = rng.tensor([n], -3, 3), b = rng.tensor([n], -3, 3)
            var want = 0.0, wantDiff = 0.0
            for i in 0..<n {
                want += Double(a.scalars[i]) * Double(a.scalars[i])
                let d: Float = a.scalars[i] - b.scalars[i]
                wantDiff += Double(d) * Double(d)
            }
            XCTAssertEqual(sumOfSquares(a), want, accuracy: 1e-12 * max(1, want), "n \(n)")
            XCTAssertEqual(sumOfSquaredDifferences(a, b), wantDiff, accuracy: 1e-12 * max(1, wantDiff), "n \(n)")
        }
    }

    func testNonFiniteElementsMakeTheSumNonFinite() {
        var values = [Float](repeating: 1, count: 100)
        XCTAssertEqual(sumOfSquares(Tensor(shape: [100], scalars: values)), 100)
        values[37] = .nan
        XCTAssertTrue(sumOfSquares(Tensor(shape: [100], scalars: values)).isNaN)
        values[37] = -.infinity
        XCTAssertEqual(sumOfSquares(Tensor(shape: [100], scalars: values)), .infinity)
        // The largest float squared still fits a Double: finite in, finite out.
        XCTAssertTrue(sumOfSquares(Tensor(shape: [20], scalars: [Float](repeating: .greatestFiniteMagnitude, count: 20))).isFinite)
    }

    func testDoesNotDependOnTheThreadCount() {
        var rng = TestRNG(12)
        let a = rng.tensor([5 * 65536 + 3])
        let one = ComputeContext(threads: 1).run { sumOfSquares(a) }
        XCTAssertEqual(ComputeContext(threads: 3).run { sumOfSquares(a) }.bitPattern, one.bitPattern)
    }
}
