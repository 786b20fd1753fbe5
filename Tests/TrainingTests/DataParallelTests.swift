import XCTest
import Tensors
@testable import Training

/// A replica group of `count` identical replicas, in one process: every
/// collective sees `count` copies of this process's values.
final class IdenticalReplicas: ReplicaGroup, @unchecked Sendable {
    let rank = 0
    let count: Int
    init(count: Int) { self.count = count }
    func sumInPlace(_ buffer: UnsafeMutableBufferPointer<Float>) { for i in buffer.indices { buffer[i] *= Float(count) } }
    func sumInPlace(_ buffer: UnsafeMutableBufferPointer<Double>) { for i in buffer.indices { buffer[i] *= Double(count) } }
    func sum(_ values: [Int64]) -> [Int64] { values.map { $0 * Int64(count) } }
    func minimum(_ value: Int64) -> Int64 { value }
    func broadcast(_ bytes: [UInt8], from root: Int) -> [UInt8] { bytes }
}

final class DataParallelTests: XCTestCase {
    func tree(_ values: [Float]) -> TensorTree {
        var t = TensorTree()
        t["a/kernel"] = Tensor(shape: [2, 2], scalars: Array(values.prefix(4)))
        t["a/bias"] = Tensor(shape: [values.count - 4], scalars: Array(values.dropFirst(4)))
        return t
    }

    /// The mean of identical replicas' gradients is each one's gradient, bit for bit
    /// (a power-of-two count scales exactly), in the tree's order and shapes.
    func testTheMeanOfIdenticalReplicasIsTheirGradient() {
        let g = tree([0.1, -2.5e-8, 3, 1e-30, 7, -0.25])
        for n in [2, 4, 8] {
            let m = DataParallel.mean(g, IdenticalReplicas(count: n))
            XCTAssertEqual(m.map(\.key), g.map(\.key))
            XCTAssertEqual(m, g, "\(n) replicas")
        }
        XCTAssertEqual(DataParallel.mean(Float(1.5), IdenticalReplicas(count: 4)), 1.5)
    }

    /// The fingerprint sees every bit, the order and the shapes.
    func testTheFingerprintChangesWithAnyBit() {
        let base = [Float](repeating: 0.5, count: 6)
        let f = DataParallel.fingerprint(tree(base))
        XCTAssertEqual(f, DataParallel.fingerprint(tree(base)))
        XCTAssertGreaterThanOrEqual(f, 0)
        for i in base.indices {
            var changed = base
            changed[i] = Float(bitPattern: changed[i].bitPattern ^ 1)
            XCTAssertNotEqual(DataParallel.fingerprint(tree(changed)), f, "element \(i)")
        }
        XCTAssertNotEqual(DataParallel.fingerprint(tree(base + [0.5])), f)
        XCTAssertNotEqual(DataParallel.fingerprint(nil), f)
    }
}
