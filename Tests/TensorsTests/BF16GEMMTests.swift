import XCTest
@testable import Tensors

/// The bf16 GEMM (`bf16GEMM`, CBF16Kernels): its arithmetic is the K pairs
/// in order, odd element first, as float32 FMAs (what `vdpbf16ps` does), the
/// sum rounded to bf16; the
/// emulation and the native kernel give the same bits; the bits do not
/// depend on the thread count or the blocking.
final class BF16GEMMTests: XCTestCase {
    /// Shapes with row and column tails (m not a multiple of 12, n not of
    /// 32), odd K, K across several 128-pair blocks, and one-element cases.
    static let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (5, 7, 3), (13, 33, 17), (25, 70, 301), (12, 32, 256), (40, 96, 97)]

    func testEmulationIsTheSequentialPairFMA() {
        var rng = TestRNG(11)
        for s in Self.shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    let p = Problem(s.m, s.n, s.k, transA: transA, transB: transB, rng: &rng)
                    let c = p.run(engine: .emulated)
                    for i in 0..<s.m {
                        for j in 0..<s.n {
                            // vdpbf16ps's lane: pair (2q, 2q+1) adds the odd product, then the even one.
                            var acc: Float = 0
                            var t = 0
                            while t < s.k {
                                if t + 1 < s.k { acc.addProduct(p.opA(i, t + 1), p.opB(t + 1, j)) }
                                acc.addProduct(p.opA(i, t), p.opB(t, j))
                                t += 2
                            }
                            XCTAssertEqual(c[i * p.ldc + j].bitPattern, roundToBF16(acc).bitPattern,
                                           "\(s) transA \(transA) transB \(transB) at (\(i), \(j))")
                        }
                        XCTAssertTrue(c[i * p.ldc + s.n].isNaN, "a column past n was written, \(s)")
                    }
                }
            }
        }
    }

    func testNativeKernelGivesTheEmulationsBits() throws {
        try XCTSkipUnless(BF16GEMMEngine.nativeAvailable,
                          "this CPU has no AVX512-BF16: the native bf16 kernel cannot run here (the emulation is tested)")
        var rng = TestRNG(12)
        for s in Self.shapes {
            for (transA, transB) in [(false, false), (true, false), (false, true)] {
                // Values down to 2^-70: products and sums reach denormals, which both flush.
                let p = Problem(s.m, s.n, s.k, transA: transA, transB: transB, rng: &rng, tiny: true)
                let native = p.run(engine: .native), emulated = p.run(engine: .emulated)
                XCTAssertEqual(native.map(\.bitPattern), emulated.map(\.bitPattern), "\(s) transA \(transA) transB \(transB)")
            }
        }
    }

    func testSameBitsOnAnyThreadCount() {
        var rng = TestRNG(13)
        // Shapes whose blocking changes with the thread count: tall, wide and long-K (the
        // weight gradients': A transposed, both operands packed up front, split by pairs of K
        // on several threads and packed by each block on one; an odd K leaves a half pair).
        for (m, n, k) in [(400, 96, 96), (96, 384, 700), (16, 1000, 64), (384, 96, 901)] {
            let p = Problem(m, n, k, transA: k > 96, transB: false, rng: &rng)
            for engine in BF16GEMMEngine.allCases where engine == .emulated || BF16GEMMEngine.nativeAvailable {
                let one = ComputeContext(threads: 1).run { p.run(engine: engine) }
                for threads in [2, 3, 8] {
                    let many = ComputeContext(threads: threads).run { p.run(engine: engine) }
                    XCTAssertEqual(one.map(\.bitPattern), many.map(\.bitPattern), "\(engine) m \(m) n \(n) k \(k) threads \(threads)")
                }
            }
        }
    }

    func testInputsAreRoundedToBF16AsTheyAreRead() {
        var rng = TestRNG(14)
        var p = Problem(30, 40, 50, transA: false, transB: false, rng: &rng)
        let exact = p.run(engine: .emulated)
        // Perturb the low 16 bits without crossing a rounding boundary: the same bf16 values.
        p.a = p.a.map { $0.isNaN ? $0 : Float(bitPattern: $0.bitPattern | 0x1234) }
        p.b = p.b.map { $0.isNaN ? $0 : Float(bitPattern: $0.bitPattern | 0x7000) }
        XCTAssertEqual(p.run(engine: .emulated).map(\.bitPattern), exact.map(\.bitPattern))
    }

    func testBiasIsAddedInTheStoreAsABF16OrFloat32Add() {
        var rng = TestRNG(15)
        for s in Self.shapes {
            var p = Problem(s.m, s.n, s.k, transA: false, transB: true, rng: &rng)
            p.bias = (0..<s.n).map { _ in roundToBF16(rng.uniform(-2, 2)) }
            let plain = Problem(copying: p, bias: nil).run(engine: .emulated)
            for roundSum in [true, false] {
                p.roundSum = roundSum
                let c = p.run(engine: .emulated)
                for i in 0..<s.m {
                    for j in 0..<s.n {
                        let sum = plain[i * p.ldc + j] + p.bias![j]
                        XCTAssertEqual(c[i * p.ldc + j].bitPattern, (roundSum ? roundToBF16(sum) : sum).bitPattern,
                                       "\(s) roundSum \(roundSum) at (\(i), \(j))")
                    }
                }
                if BF16GEMMEngine.nativeAvailable {
                    XCTAssertEqual(p.run(engine: .native).map(\.bitPattern), c.map(\.bitPattern), "\(s) roundSum \(roundSum)")
                }
            }
        }
    }

    func testBlocksCoverEveryElementOnce() {
        for (m, n, threads) in [(1, 1, 1), (50176, 96, 2), (96, 384, 2), (784, 3072, 2), (16, 10, 8), (37, 1000, 3)] {
            let plan = BF16GEMMBlocks(m: m, n: n, threads: threads)
            var covered = [Int](repeating: 0, count: m * n)
            for b in 0..<plan.count {
                let (rows, cols) = plan.block(b)
                for i in rows { for j in cols { covered[i * n + j] += 1 } }
            }
            XCTAssertTrue(covered.allSatisfy { $0 == 1 }, "m \(m) n \(n) threads \(threads)")
            XCTAssertTrue(plan.count >= min(2 * threads, ((m + 11) / 12) * ((n + 31) / 32)), "too few blocks for \(threads) threads: \(plan.count)")
        }
    }
}

/// One random bf16 GEMM problem with padded leading dimensions.
private struct Problem {
    let m: Int, n: Int, k: Int, transA: Bool, transB: Bool
    let lda: Int, ldb: Int, ldc: Int
    var a: [Float], b: [Float]
    var bias: [Float]? = nil
    var roundSum = true

    init(_ m: Int, _ n: Int, _ k: Int, transA: Bool, transB: Bool, rng: inout TestRNG, tiny: Bool = false) {
        (self.m, self.n, self.k, self.transA, self.transB) = (m, n, k, transA, transB)
        lda = (transA ? m : k) + 3
        ldb = (transB ? k : n) + 5
        ldc = n + 2
        func value(_ rng: inout TestRNG) -> Float {
            let v = rng.uniform()
            return roundToBF16(tiny ? v * Float(sign: .plus, exponent: -Int(rng.int(70)), significand: 1) : v)
        }
        a = (0..<((transA ? k : m) * lda)).map { _ in value(&rng) }
        b = (0..<((transB ? n : k) * ldb)).map { _ in value(&rng) }
    }

    init(copying p: Problem, bias: [Float]?) {
        self = p
        self.bias = bias
    }

    func opA(_ i: Int, _ t: Int) -> Float { transA ? a[t * lda + i] : a[i * lda + t] }
    func opB(_ t: Int, _ j: Int) -> Float { transB ? b[j * ldb + t] : b[t * ldb + j] }

    func run(engine: BF16GEMMEngine) -> [Float] {
        var c = [Float](repeating: .nan, count: m * ldc)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    if let bias {
                        bias.withUnsafeBufferPointer { pbias in
                            bf16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                     b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: ldc,
                                     bias: pbias.baseAddress!, roundSum: roundSum, engine: engine)
                        }
                    } else {
                        bf16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                 b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: ldc, engine: engine)
                    }
                }
            }
        }
        return c
    }
}
