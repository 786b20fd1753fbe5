import XCTest
import Tensors
@testable import Models

final class ActivationStatisticsTests: XCTestCase {
    /// The statistics in Double, element by element.
    private func reference(_ values: [Float]) -> (mean: Double, std: Double, meanAbs: Double, min: Float, max: Float, bad: Int) {
        let finite = values.filter(\.isFinite)
        let n = Double(max(1, finite.count))
        let mean = finite.reduce(0.0) { $0 + Double($1) } / n
        let sq = finite.reduce(0.0) { $0 + Double($1) * Double($1) } / n
        let abs = finite.reduce(0.0) { $0 + Swift.abs(Double($1)) } / n
        return (mean, max(0, sq - mean * mean).squareRoot(), abs, finite.min() ?? .infinity, finite.max() ?? -.infinity,
                values.count - finite.count)
    }

    private func check(_ s: ActivationStatistics, _ values: [Float], _ label: String) {
        let r = reference(values)
        XCTAssertEqual(s.count, values.count, label)
        XCTAssertEqual(s.nonFinite, r.bad, label)
        XCTAssertEqual(s.min, r.min, label)
        XCTAssertEqual(s.max, r.max, label)
        XCTAssertEqual(s.mean, r.mean, accuracy: 1e-6 * max(1, abs(r.mean)), label)
        XCTAssertEqual(s.std, r.std, accuracy: 1e-6 * max(1, r.std), label)
        XCTAssertEqual(s.meanAbs, r.meanAbs, accuracy: 1e-6 * max(1, r.meanAbs), label)
    }

    func testMatchesADoubleReferenceOnOddShapes() {
        var seed: UInt64 = 7
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(seed >> 40) / Float(1 << 24) * 6 - 2
        }
        for shape in [[2, 9, 9, 37], [3, 40, 96], [5], [1, 70_000]] {
            let values = (0..<Tensor.count(of: shape)).map { _ in next() }
            check(ActivationStatistics(Tensor(shape: shape, scalars: values)), values, "\(shape)")
        }
    }

    func testChannelScaleIsTheLayerScaleProduct() {
        let c = 37, rows = 50
        let values = (0..<(c * rows)).map { Float(($0 * 7919) % 113) / 17 - 3 }
        let gamma = Tensor(shape: [c], scalars: (0..<c).map { Float($0 + 1) * 1e-2 })
        let t = Tensor(shape: [rows, c], scalars: values)
        let product = Reference.layerScaleForward(t, gamma: gamma)
        let scaled = ActivationStatistics(t, channelScale: gamma)
        check(scaled, product.scalars, "scaled")
        XCTAssertEqual(scaled.min, ActivationStatistics(product).min)
    }

    func testNonFiniteValuesAreCountedAndSkipped() {
        var values = (0..<100).map { Float($0) / 10 }
        values[3] = .nan; values[40] = .infinity; values[99] = -.infinity
        let s = ActivationStatistics(Tensor(shape: [5, 20], scalars: values))
        check(s, values, "non-finite")
        XCTAssertEqual(s.nonFinite, 3)
        let allBad = ActivationStatistics(Tensor(shape: [16], scalars: [Float](repeating: .nan, count: 16)))
        XCTAssertEqual(allBad.nonFinite, 16)
    }
}
