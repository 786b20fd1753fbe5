import XCTest
@testable import Tensors

/// The register-tiled GEMM against a float64 reference, on shapes that
/// exercise its row tails (m not a multiple of 4 or 64), k blocks (k not a
/// multiple of 64), several 96-column blocks, transposed operands and
/// leading dimensions wider than the matrix.
final class TiledGEMMTests: XCTestCase {
    func testMatchesAFloat64ReferenceForEveryTransposeCombination() {
        var rng = TestRNG(7)
        for (m, n, k) in [(1, 96, 1), (7, 96, 65), (133, 192, 130), (70, 288, 64)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 5, ldc = n + 16
                    let a = (0..<((transA ? k : m) * lda)).map { _ in rng.uniform() }
                    let b = (0..<((transB ? n : k) * ldb)).map { _ in rng.uniform() }
                    var c = [Float](repeating: .nan, count: m * ldc)  // beta = 0 overwrites, NaN included
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            c.withUnsafeMutableBufferPointer { pc in
                                gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                     b: pb.baseAddress!, ldb: ldb, beta: 0, c: pc.baseAddress!, ldc: ldc, kernel: .tiled)
                            }
                        }
                    }
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            let s = referenceProduct(a, b, i: i, j: j, k: k, transA: transA, transB: transB, lda: lda, ldb: ldb)
                            worst = max(worst, abs(Double(c[i * ldc + j]) - s))
                        }
                        // The padding columns past n are not written.
                        XCTAssertTrue(c[i * ldc + n].isNaN, "column past n written, m \(m) n \(n) k \(k)")
                    }
                    XCTAssertLessThan(worst, 1e-5 * Double(max(1, k)).squareRoot(),
                                      "m \(m) n \(n) k \(k) transA \(transA) transB \(transB)")
                }
            }
        }
    }

    func testResultsDoNotDependOnTheThreadCount() {
        var rng = TestRNG(8)
        let (m, n, k) = (300, 96, 200)
        let a = (0..<(m * k)).map { _ in rng.uniform() }, b = (0..<(k * n)).map { _ in rng.uniform() }
        func run(threads: Int) -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        ComputeContext(threads: threads).run {
                            gemm(transA: false, transB: false, m: m, n: n, k: k, a: pa.baseAddress!, lda: k,
                                 b: pb.baseAddress!, ldb: n, beta: 0, c: pc.baseAddress!, ldc: n, kernel: .tiled)
                        }
                    }
                }
            }
            return c
        }
        XCTAssertEqual(run(threads: 1).map(\.bitPattern), run(threads: 3).map(\.bitPattern))
    }
}
