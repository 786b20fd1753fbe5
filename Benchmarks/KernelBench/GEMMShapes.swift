import Tensors

/// `KernelBench --gemm-shapes`: each GEMM of a ConvNeXt-Tiny block (batch 16)
/// through `gemm` with each of the codes it can run:
/// - `blas`: OpenBLAS on slices of C fixed by the shape, single-threaded calls (`bench --gemm openblas`);
/// - `tiled`: the register-tiled Swift kernel (when N is a multiple of 96; `--gemm tiled`);
/// - `bf16`: `bf16GEMM` on float32 operands (on this CPU's engine);
/// - `model`: the same product as the bf16 model computes it (`modelGEMM`):
///   through its Dense wrapper, operands held as bf16 bits where the model
///   holds them, the result allocated and stored as the model stores it.
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
                modes.append(contentsOf: ["bf16", "model"])
                for mode in modes {
                    if let only, !(label + " " + mode).contains(only) { continue }
                    if mode == "model" {
                        let product = modelGEMM(s, hw: hw, c: c)
                        row(label + " " + mode, "\(s.m)x\(s.n)x\(s.k)", time(reps: reps, product), flops, "GFLOP/s")
                        continue
                    }
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

    /// The bf16 model's call for shape `s` of a block at `hw` x `hw` with `c`
    /// channels (Models/ForwardBF16.swift): LayerNorm's output, GELU's input
    /// and output and GELU's input cotangent are bf16 bits; Conv_2's output
    /// cotangent is float32; Conv_1's forward stores GELU through its epilogue.
    static func modelGEMM(_ s: Shape, hw: Int, c: Int) -> () -> Void {
        let rows = batch * hw * hw
        let narrow = [batch, hw, hw, c], wide = [batch, hw, hw, 4 * c]
        let w1 = random([c, 4 * c], seed: 3), w2 = random([4 * c, c], seed: 4), b1 = random([4 * c], seed: 5)
        let n = BF16Tensor(packing: random(narrow, seed: 6))
        let hidden = BF16Tensor(packing: random(wide, seed: 7)), dHidden = BF16Tensor(packing: random(wide, seed: 8))
        let dDot = random(narrow, seed: 9).roundedToBF16()
        precondition(s.m * s.n * s.k == rows * 4 * c * c)
        switch s.name {
        case "Conv_1 fwd": return { _ = denseGELUForwardBF16(.halves(n), weight: w1, bias: b1, keepPreActivation: true) }
        case "Conv_2 fwd": return { _ = denseForwardBF16(.halves(hidden), weight: w2) }
        case "Conv_2 dx": return { _ = denseInputGradientToBF16(.float(dDot), weight: w2, inputShape: wide) }
        case "Conv_2 dW": return { _ = denseKernelGradientBF16(.float(dDot), x: .halves(hidden), weight: w2) }
        case "Conv_1 dx": return { _ = denseInputGradientBF16(.halves(dHidden), weight: w1, inputShape: narrow) }
        case "Conv_1 dW": return { _ = denseKernelGradientBF16(.halves(dHidden), x: .halves(n), weight: w1) }
        default: preconditionFailure("no model GEMM named \(s.name)")
        }
    }
}
