import XCTest
import Tensors
@testable import Training

/// A replica group of `count` identical replicas, in one process: every
/// collective sees `count` copies of this process's values. It records the
/// length of each non-blocking sum it starts.
final class IdenticalReplicas: ReplicaGroup, @unchecked Sendable {
    let rank = 0
    let count: Int
    private(set) var started: [Int] = []
    init(count: Int) { self.count = count }
    func sumInPlace(_ buffer: UnsafeMutableBufferPointer<Float>) { for i in buffer.indices { buffer[i] *= Float(count) } }
    func sumInPlace(_ buffer: UnsafeMutableBufferPointer<Double>) { for i in buffer.indices { buffer[i] *= Double(count) } }
    func sum(_ values: [Int64]) -> [Int64] { values.map { $0 * Int64(count) } }
    func minimum(_ value: Int64) -> Int64 { value }
    func broadcast(_ bytes: [UInt8], from root: Int) -> [UInt8] { bytes }
    func startSum(_ buffer: UnsafeMutableBufferPointer<Float>) -> any PendingSum {
        started.append(buffer.count)
        sumInPlace(buffer)
        return CompletedSum()
    }
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

final class GradientBucketsTests: XCTestCase {
    func tree() -> TensorTree {
        var t = TensorTree()
        for (i, n) in [6, 3, 5, 2, 4].enumerated() {
            t["layer\(i)/kernel"] = Tensor(shape: [n], scalars: (0..<n).map { Float($0 * 7 + i) * 0.37 - 1.1 })
        }
        return t
    }

    /// Buckets are cut in backward's order (the tree reversed), start only in
    /// order and once complete, and give the mean bit for bit, in tree order.
    func testBucketsStartInOrderAndGiveTheMean() {
        let grads = tree()
        let replicas = IdenticalReplicas(count: 4)
        // 7 floats a bucket: [layer4, layer3] [layer2] [layer1] [layer0].
        let buckets = GradientBuckets(shapes: grads.tensors.map { (path: $0.key, shape: $0.value.shape) },
                                      replicas: replicas, bucketBytes: 28)
        XCTAssertEqual(buckets.bucketCount, 4)
        // The stem-side layers first: nothing may start before the head's bucket.
        buckets.add([(path: "layer0/kernel", gradient: grads["layer0/kernel"]!), (path: "layer2/kernel", gradient: grads["layer2/kernel"]!)])
        XCTAssertEqual(replicas.started, [])
        buckets.add([(path: "layer4/kernel", gradient: grads["layer4/kernel"]!)])
        XCTAssertEqual(replicas.started, [])
        buckets.add([(path: "layer3/kernel", gradient: grads["layer3/kernel"]!)])
        XCTAssertEqual(replicas.started, [6, 5])
        buckets.add([(path: "layer1/kernel", gradient: grads["layer1/kernel"]!)])
        XCTAssertEqual(replicas.started, [6, 5, 3, 6])
        let mean = buckets.finish()
        XCTAssertEqual(mean.map(\.key), grads.map(\.key))
        XCTAssertEqual(mean, DataParallel.mean(grads, IdenticalReplicas(count: 4)))
        XCTAssertEqual(mean, grads)
    }

    /// Under MultiSteps, `.onApply` sends nothing on the mini-steps that do not
    /// apply, and on the applying one the accumulator with the gradient
    /// folded in (once the parameters' size); with identical replicas it
    /// trains exactly as `.everyMiniStep`.
    func testAccumulationReducesOnlyOnTheApplyingMiniStep() throws {
        var deferred = try smallState(accumulate: 3, batch: 4)
        var eager = deferred
        let lazy = IdenticalReplicas(count: 2), busy = IdenticalReplicas(count: 2)
        var lazyContext = ComputeContext(), busyContext = ComputeContext()
        lazyContext.replicas = lazy
        busyContext.replicas = busy
        var local = false
        var sentPerStep: [Int] = []
        for _ in 0..<6 {
            let before = lazy.started.count
            let m = try lazyContext.run { try TrainEngine.trainStep(&deferred, reduction: .onApply(localAccumulator: local)) }
            local = !m.applied
            sentPerStep.append(lazy.started.count - before)
            _ = try busyContext.run { try TrainEngine.trainStep(&eager) }
        }
        XCTAssertEqual(sentPerStep.map { $0 > 0 }, [false, false, true, false, false, true])
        // Two windows: the parameters' size twice, against six times every mini-step.
        let parameters = deferred.params!.scalarCount
        XCTAssertEqual(lazy.started.reduce(0, +), 2 * parameters)
        XCTAssertEqual(busy.started.reduce(0, +), 6 * parameters)
        XCTAssertEqual(deferred.params, eager.params)
        XCTAssertEqual(deferred.optimizerState, eager.optimizerState)
    }
}
