import XCTest
@testable import Tensors

final class TensorTests: XCTestCase {
    func testShapeAndSubscript() {
        var t = Tensor.zeros([2, 3])
        t[1, 2] = 5
        XCTAssertEqual(t.scalars, [0, 0, 0, 0, 0, 5])
        XCTAssertEqual(t.reshaped([3, 2])[2, 1], 5)
    }

    func testCopyOnWriteKeepsSnapshots() {
        let a = Tensor.ones([4])
        var b = a
        b[0] = 7
        XCTAssertEqual(a[0], 1)
        XCTAssertEqual(b[0], 7)
    }

    func testParallelForVisitsEveryIndexOnce() {
        var hits = [Int](repeating: 0, count: 1000)
        hits.withUnsafeMutableBufferPointer { buf in
            let p = UncheckedSendable(buf)
            parallelFor(1000) { i in p.value[i] += 1 }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 1000))
    }
}
