import CBLAS
import Tensors

/// `KernelBench --gemm-shapes`: each GEMM of a ConvNeXt-Tiny block (batch 16)
/// under several ways of using the two cores, called through CBLAS directly:
/// - `blas`: one call, OpenBLAS's own threads;
/// - `rows`: C's rows split over `Threads.count` single-threaded calls;
/// - `cols`: C's columns split the same way;
/// - `k`: the inner dimension split, one partial C per thread, then summed
///   (only for the weight gradients, whose inner dimension is B*H*W).
extension KernelBench {
    struct Shape {
        var name: String
        var transA: Bool, transB: Bool
        var m: Int, n: Int, k: Int
    }

    static func gemmShapes() {
        print("GEMM shapes (row-major C[M,N] = op(A)[M,K] op(B)[K,N]), best of \(reps) after a warm-up")
        for (hw, c) in stages {
            let rows = batch * hw * hw
            let shapes = [
                Shape(name: "Conv_1 fwd", transA: false, transB: false, m: rows, n: 4 * c, k: c),
                Shape(name: "Conv_2 fwd", transA: false, transB: false, m: rows, n: c, k: 4 * c),
                Shape(name: "Conv_2 dx", transA: false, transB: true, m: rows, n: 4 * c, k: c),
                Shape(name: "Conv_2 dW", transA: true, transB: false, m: 4 * c, n: c, k: rows),
                Shape(name: "Conv_1 dx", transA: false, transB: true, m: rows, n: c, k: 4 * c),
                Shape(name: "Conv_1 dW", transA: true, transB: false, m: c, n: 4 * c, k: rows),
            ]
            for s in shapes {
                let flops = 2 * Double(s.m) * Double(s.n) * Double(s.k)
                // A is [M,K] (or [K,M] transposed), B is [K,N] (or [N,K]).
                let a = random([s.m * s.k], seed: 1).scalars, b = random([s.k * s.n], seed: 2).scalars
                var out = [Float](repeating: 0, count: s.m * s.n)
                let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
                let label = "\(s.name) [\(hw)x\(hw)x\(c)]"
                var modes = ["blas", "rows"]
                if s.n % 96 == 0 { modes.append("tiled") }
                for mode in modes {
                    let t = a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            out.withUnsafeMutableBufferPointer { pc in
                                let io = UncheckedSendable((pa.baseAddress!, pb.baseAddress!, pc.baseAddress!))
                                return time(reps: reps) {
                                    let (pa, pb, pc) = io.value
                                    run(mode, s, pa, lda, pb, ldb, pc)
                                }
                            }
                        }
                    }
                    row(label + " " + mode, "\(s.m)x\(s.n)x\(s.k)", t, flops, "GFLOP/s")
                }
            }
        }
    }

    static func call(_ s: Shape, m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                     _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, s.transA ? CblasTrans : CblasNoTrans, s.transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), 1, a, blasint(lda), b, blasint(ldb), 0, c, blasint(ldc))
    }

    static func run(_ mode: String, _ s: Shape, _ a: UnsafePointer<Float>, _ lda: Int,
                    _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>) {
        let ways = Threads.count
        switch mode {
        case "blas":
            openblas_set_num_threads(Int32(ways))
            call(s, m: s.m, n: s.n, k: s.k, a, lda, b, ldb, c, s.n)
        case "tiled":
            gemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a, lda: lda, b: b, ldb: ldb,
                 beta: 0, c: c, ldc: s.n, kernel: .tiled)
        case "rows":
            openblas_set_num_threads(1)
            let step = (s.m + ways - 1) / ways
            parallelFor(ways) { w in
                let lo = w * step, hi = min(s.m, lo + step)
                call(s, m: hi - lo, n: s.n, k: s.k, s.transA ? a + lo : a + lo * lda, lda, b, ldb, c + lo * s.n, s.n)
            }
        case "cols":
            openblas_set_num_threads(1)
            let step = (s.n + ways - 1) / ways
            parallelFor(ways) { w in
                let lo = w * step, hi = min(s.n, lo + step)
                call(s, m: s.m, n: hi - lo, k: s.k, a, lda, s.transB ? b + lo * ldb : b + lo, ldb, c + lo, s.n)
            }
        default:  // "k": partial products over slices of the inner dimension (A transposed: rows of A's storage).
            openblas_set_num_threads(1)
            let step = (s.k + ways - 1) / ways
            let partial = UnsafeMutablePointer<Float>.allocate(capacity: (ways - 1) * s.m * s.n)
            defer { partial.deallocate() }
            parallelFor(ways) { w in
                let lo = w * step, hi = min(s.k, lo + step)
                let dst = w == 0 ? c : partial + (w - 1) * s.m * s.n
                call(s, m: s.m, n: s.n, k: hi - lo, a + lo * lda, lda, s.transB ? b + lo : b + lo * ldb, ldb, dst, s.n)
            }
            let total = s.m * s.n
            for w in 1..<ways {
                let p = partial + (w - 1) * total
                for i in 0..<total { c[i] += p[i] }
            }
        }
        openblas_set_num_threads(Int32(ways))
    }
}
