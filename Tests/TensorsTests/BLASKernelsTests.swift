import XCTest
@testable import Tensors

/// OpenBLAS runs Haswell's kernels on every CPU (Sources/CBLAS/BLASLoader.c),
/// so a float32 GEMM's bits do not depend on the machine's AVX-512.
final class BLASKernelsTests: XCTestCase {
    func testOpenBLASRunsHaswellKernelsOnOneThread() {
        XCTAssertEqual(BLASThreads.kernels.lowercased(), "haswell")
        XCTAssertEqual(BLASThreads.count, 1)
        XCTAssertEqual(getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }, "Haswell")
    }
}
