import Tensors

/// `KernelBench --gemm-shapes`: each GEMM of a ConvNeXt-Tiny block (batch 16)
/// through `gemm` with each of the codes it can run:
/// - `blas`: OpenBLAS on slices of C fixed by the shape, single-threaded calls (`bench --gemm openblas`);
/// - `tiled`: the register-tiled Swift kernel (when N is a multiple of 96; `--gemm tiled`);
/// - `bf16`: `bf16GEMM` (the bf16 model's GEMMs, on this CPU's engine).
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
                // Fits the 24-column name field: "Conv_2 dW 56x56 tiled".
                let label = "\(s.name) \(hw)x\(hw)"
                var modes = ["blas"]
                if s.n % 96 == 0 { modes.append("tiled") }
                modes.append("bf16")
                for mode in modes {
                    if let only, !(label + " " + mode).contains(only) { continue }
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

    static func run(_ mode: String, _ s: Shape, _ a: UnsafePointer<Float>, _ lda: Int,
                    _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>) {
        if mode == "bf16" {
            bf16GEMM(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: s.n)
            return
        }
        gemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a, lda: lda, b: b, ldb: ldb,
             beta: 0, c: c, ldc: s.n, kernel: mode == "tiled" ? .tiled : .openBLAS)
    }
}
