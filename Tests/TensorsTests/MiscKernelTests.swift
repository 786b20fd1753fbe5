import XCTest
@testable import Tensors

final class SmallKernelTests: XCTestCase {
    func testLayerScaleForwardAndBackward() {
        var rng = TestRNG(50)
        let x = rng.tensor([2, 3, 17]), g = rng.tensor([17]), r = rng.tensor([2, 3, 17])
        let y = Reference.layerScaleForward(x, gamma: g)
        for i in 0..<x.count { XCTAssertEqual(y.scalars[i], x.scalars[i] * g.scalars[i % 17]) }
        let grads = Reference.layerScaleBackward(r, x: x, gamma: g)
        let f = { (x: [Double], g: [Double]) -> Double in
            project((0..<x.count).map { x[$0] * g[$0 % 17] }, r.scalars)
        }
        let xd = x.doubles, gd = g.doubles
        checkGradient(grads.dx, at: xd, "layerScale dx") { f($0, gd) }
        checkGradient(grads.dGamma, at: gd, "layerScale dGamma") { f(xd, $0) }
    }

    func testDropPathAndDropout() {
        var rng = TestRNG(51)
        let x = rng.tensor([3, 2, 2, 5])
        let keep = [true, false, true]
        let scale = 1 / Float(0.95)
        let y = Reference.dropPathForward(x, keep: keep, scale: scale)
        for i in 0..<x.count {
            XCTAssertEqual(y.scalars[i], keep[i / 20] ? x.scalars[i] * scale : 0)
        }
        XCTAssertEqual(Reference.dropPathBackward(x, keep: keep, scale: scale), y)
        let mask = (0..<x.count).map { $0 % 3 != 1 }
        let d = dropoutForward(x, keep: mask, scale: 4 / 3)
        for i in 0..<x.count { XCTAssertEqual(d.scalars[i], mask[i] ? x.scalars[i] * (4 / 3) : 0) }
        XCTAssertEqual(dropoutBackward(x, keep: mask, scale: 4 / 3), d)
    }

    func testGlobalAvgPoolForwardAndBackward() {
        var rng = TestRNG(52)
        let (b, h, w, c) = (2, 3, 5, 17)
        let x = rng.tensor([b, h, w, c]), r = rng.tensor([b, c])
        let pool = { (x: [Double]) -> [Double] in
            var out = [Double](repeating: 0, count: b * c)
            for n in 0..<b { for s in 0..<(h * w) { for ch in 0..<c { out[n * c + ch] += x[(n * h * w + s) * c + ch] } } }
            return out.map { $0 / Double(h * w) }
        }
        let y = globalAvgPoolForward(x)
        XCTAssertEqual(y.shape, [b, c])
        assertClose(y.scalars, pool(x.doubles), rtol: 1e-6, "pool forward")
        let dx = globalAvgPoolBackward(r, inputShape: x.shape)
        checkGradient(dx, at: x.doubles, "pool dx") { project(pool($0), r.scalars) }
    }

    func testSoftmaxCrossEntropyForwardAndBackward() {
        var rng = TestRNG(53)
        let (b, n) = (4, 10)
        // Large logits check the log-sum-exp shift.
        let logits = rng.tensor([b, n], -30, 60)
        var labels = rng.tensor([b, n], 0, 1)
        for r in 0..<b {  // normalise rows, as mixup soft labels are
            let s = (0..<n).reduce(Float(0)) { $0 + labels.scalars[r * n + $1] }
            for j in 0..<n { labels.scalars[r * n + j] /= s }
        }
        let out = softmaxCrossEntropyForward(logits: logits, labels: labels)
        let want = Ref.softmaxCE(logits.doubles, labels.doubles, b: b, n: n)
        XCTAssertEqual(Double(out.loss), want, accuracy: 1e-5 * max(1, abs(want)))
        for r in 0..<b {
            let s = (0..<n).reduce(Float(0)) { $0 + out.probabilities.scalars[r * n + $1] }
            XCTAssertEqual(s, 1, accuracy: 1e-5)
        }
        let small = rng.tensor([b, n], -3, 3)
        let p = softmaxCrossEntropyForward(logits: small, labels: labels).probabilities
        let d = softmaxCrossEntropyBackward(probabilities: p, labels: labels)
        let ld = labels.doubles
        checkGradient(d, at: small.doubles, h: 1e-4, "softmax CE dlogits") { Ref.softmaxCE($0, ld, b: b, n: n) }
    }

    func testTopKCorrectAgainstSortedReference() {
        var rng = TestRNG(54)
        let (b, n) = (20, 10)
        let logits = rng.tensor([b, n])
        let targets = (0..<b).map { _ in rng.int(n) }
        for k in [1, 5] {
            var want = 0
            for r in 0..<b {
                let order = (0..<n).sorted { logits.scalars[r * n + $0] > logits.scalars[r * n + $1] }
                if order.prefix(k).contains(targets[r]) { want += 1 }
            }
            XCTAssertEqual(topKCorrect(logits: logits, targets: targets, k: k), want, "top-\(k)")
        }
        XCTAssertEqual(topKCorrect(logits: logits, targets: targets, k: n), b)
    }
}

final class TensorMathTests: XCTestCase {
    func testElementwiseAndReductions() {
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 2], scalars: [0.5, -1, 2, 0])
        XCTAssertEqual(add(a, b).scalars, [1.5, 1, 5, 4])
        XCTAssertEqual(sub(a, b).scalars, [0.5, 3, 1, 4])
        XCTAssertEqual(mul(a, b).scalars, [0.5, -2, 6, 0])
        XCTAssertEqual(scale(a, 2).scalars, [2, 4, 6, 8])
        XCTAssertEqual(a.sum(), 10)
        XCTAssertEqual(a.mean(), 2.5)
        XCTAssertEqual(maxAbsDiff(a, b), 4)
        XCTAssertTrue(allClose(a, a))
        XCTAssertFalse(allClose(a, b))
        XCTAssertTrue(allClose(a, add(a, Tensor(repeating: 1e-7, shape: [2, 2]))))
        XCTAssertFalse(allClose(a, Tensor(shape: [2, 2], scalars: [1, 2, 3, .nan])))
    }

    func testBatchSliceAndConcatenate() {
        let t = Tensor(shape: [3, 2], scalars: [0, 1, 2, 3, 4, 5])
        let s = t.slice(batch: 1..<3)
        XCTAssertEqual(s.shape, [2, 2])
        XCTAssertEqual(s.scalars, [2, 3, 4, 5])
        XCTAssertEqual(Tensor.concatenate(batch: [t.slice(batch: 0..<1), s]), t)
    }

    func testDescriptionIsCompact() {
        let d = Tensor(shape: [2, 4], scalars: [0, 1, 2, 3, 4, 5, 6, 7]).description
        XCTAssertTrue(d.hasPrefix("Tensor[2, 4] f32 mean=3.5"), d)
        XCTAssertTrue(d.contains("min=0.0 max=7.0"), d)
        XCTAssertTrue(d.hasSuffix("[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, ...]"), d)
    }

    /// A `parallelFor` body runs with the caller's context bound, also on
    /// worker threads, and nothing stays bound afterwards.
    func testParallelForBodiesSeeTheCallersContext() {
        var seen = [Int](repeating: 0, count: 8)
        seen.withUnsafeMutableBufferPointer { b in
            let out = UncheckedSendable(b)
            ComputeContext(threads: 3).run {
                parallelFor(8) { i in out.value[i] = ComputeContext.current.threads }
            }
        }
        XCTAssertEqual(seen, [Int](repeating: 3, count: 8))
        XCTAssertEqual(ComputeContext.current.threads, ComputeContext.standard.threads)
    }

    /// OpenBLAS stays single-threaded whatever the context's threads are:
    /// sgemm splits the work itself, so results never depend on the thread count.
    func testOpenBLASStaysSingleThreaded() {
        ComputeContext(threads: 4).run {
            _ = denseForward(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), weight: Tensor(shape: [3, 1], scalars: [1, 1, 1]), bias: nil)
        }
        XCTAssertEqual(BLASThreads.count, 1)
    }
}

final class MemoryTuningTests: XCTestCase {
    /// The glibc settings are accepted (the call is idempotent and only
    /// changes when freed memory is returned to the system).
    func testKeepFreedMemoryIsAccepted() {
        #if canImport(Glibc)
        XCTAssertTrue(MemoryTuning.keepFreedMemory())
        #endif
    }
}
