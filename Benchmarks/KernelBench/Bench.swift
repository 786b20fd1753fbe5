#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import JaxRandom
import Models
import Tensors

/// Times each ConvNeXt kernel at ConvNeXt-Tiny shapes (batch 16, 224x224
/// input: stages 56x56x96, 28x28x192, 14x14x384, 7x7x768) and prints
/// GFLOP/s (compute-bound kernels) or GB/s (memory-bound ones: bytes read +
/// written once). Each figure is the best of several runs after a warm-up.
enum KernelBench {
    static let batch = 16
    static let stages: [(hw: Int, c: Int)] = [(56, 96), (28, 192), (14, 384), (7, 768)]

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Process CPU time (user + system) in seconds.
    static func cpuNow() -> Double {
        var ru = rusage()
        getrusage(__rusage_who_t(0), &ru)  // RUSAGE_SELF
        let u = Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) * 1e-6
        return u + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) * 1e-6
    }

    /// Best wall time of `reps` runs (after one warm-up), in seconds, and the
    /// CPU time of that run (on a shared machine, wall time includes waiting).
    static func time(reps: Int, _ body: () -> Void) -> (wall: Double, cpu: Double) {
        body()
        var best = (wall: Double.infinity, cpu: 0.0)
        for _ in 0..<reps {
            let t0 = now(), c0 = cpuNow()
            body()
            let wall = now() - t0
            if wall < best.wall { best = (wall, cpuNow() - c0) }
        }
        return best
    }

    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let n = Tensor.count(of: shape)
        var v = [Float](repeating: 0, count: n)
        for i in 0..<n {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            let u: Float = Float(s >> 40) / 16_777_216
            v[i] = u * 2 - 1
        }
        return Tensor(shape: shape, scalars: v)
    }

    static func row(_ name: String, _ shape: String, _ t: (wall: Double, cpu: Double), _ amount: Double, _ unit: String) {
        let seconds = t.wall
        let rate = amount / seconds / 1e9
        let perCPU = amount / max(t.cpu, 1e-9) / 1e9
        let line = name.padding(toLength: 24, withPad: " ", startingAt: 0)
            + shape.padding(toLength: 20, withPad: " ", startingAt: 0)
            + String(format: "%9.3f ms %9.1f %@  (%.1f per CPU-second)", seconds * 1e3, rate, unit, perCPU)
        print(line)
    }

    nonisolated(unsafe) static var only: String?
    nonisolated(unsafe) static var reps = 5

    /// Times `body` and prints a row, unless `--only` filters it out.
    static func bench(_ name: String, _ shape: String, _ amount: Double, _ unit: String, _ body: () -> Void) {
        if let only, !name.contains(only) { return }
        row(name, shape, time(reps: reps, body), amount, unit)
    }

    static func run(arguments: [String]) {
        if !arguments.contains("--no-memory-tuning") { MemoryTuning.keepFreedMemory() }
        if let i = arguments.firstIndex(of: "--only"), i + 1 < arguments.count { only = arguments[i + 1] }
        // The model's measured tiled-GEMM rule, as a training run uses it.
        var compute = ComputeContext(tiledGEMMRule: ConvNeXt.tiledGEMMPreferred)
        if let i = arguments.firstIndex(of: "--threads"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
            compute.threads = n
        }
        let quick = arguments.contains("--quick")
        reps = quick ? 2 : 5
        compute.run { measure(arguments) }
    }

    /// Every row, under the bound compute context.
    static func measure(_ arguments: [String]) {
        print("KernelBench: ConvNeXt-Tiny shapes, batch \(batch), \(ComputeContext.current.threads) threads, OpenBLAS \(BLASThreads.count) threads")
        print("kernel".padding(toLength: 24, withPad: " ", startingAt: 0)
              + "shape [B,H,W,C]".padding(toLength: 20, withPad: " ", startingAt: 0) + "     time        rate (wall)")
        if arguments.contains("--gemm-shapes") { gemmShapes(); return }
        let t0 = now()
        do {  // Stem: patchify 4x4/4, [16,224,224,3] -> [16,56,56,96] (im2col + GEMM).
            let x = random([batch, 224, 224, 3], seed: 13), w = random([4, 4, 3, 96], seed: 14), b = random([96], seed: 15)
            let dy = random([batch, 56, 56, 96], seed: 16)
            let flops = 2 * Double(batch * 56 * 56) * 48 * 96
            bench("patchconv4x4 fwd", "[16,224,224,3]", flops, "GFLOP/s") { _ = patchConvForward(x, weight: w, bias: b, stride: 4) }
            bench("patchconv4x4 bwd", "[16,224,224,3]", 2 * flops, "GFLOP/s") { _ = patchConvBackward(dy, x: x, weight: w, stride: 4) }
            bench("patchconv4x4 dW only", "[16,224,224,3]", flops, "GFLOP/s") { _ = patchConvWeightGradients(dy, x: x, weight: w, stride: 4) }
        }
        for (hw, c) in stages {
            let shape = [batch, hw, hw, c]
            let text = "[\(batch),\(hw),\(hw),\(c)]"
            let x = random(shape, seed: 1), dy = random(shape, seed: 2)
            let elems = Double(x.count)

            // Depthwise 7x7: 2 FLOP per tap per output; backward = dx + dW.
            let w = random([7, 7, 1, c], seed: 3), b = random([c], seed: 4)
            let dwFlops = 2 * 49 * elems
            bench("depthwise7x7 fwd", text, dwFlops, "GFLOP/s") { _ = depthwiseConvForward(x, weight: w, bias: b) }
            bench("depthwise7x7 bwd", text, 2 * dwFlops, "GFLOP/s") { _ = depthwiseConvBackward(dy, x: x, weight: w) }

            // LayerNorm: forward reads x, writes y (8 B/elem); backward reads x, dy, writes dx (12 B/elem).
            let sc = random([c], seed: 5), bi = random([c], seed: 6)
            let ln = layerNormForward(x, scale: sc, bias: bi, epsilon: 1e-6)
            bench("layernorm fwd", text, 8 * elems, "GB/s") { _ = layerNormForward(x, scale: sc, bias: bi, epsilon: 1e-6) }
            bench("layernorm bwd", text, 12 * elems, "GB/s") { _ = layerNormBackward(dy, x: x, scale: sc, mean: ln.mean, rstd: ln.rstd) }

            // GELU on the 4C expansion.
            let h = random([batch, hw, hw, 4 * c], seed: 7), dh = random([batch, hw, hw, 4 * c], seed: 8)
            let hText = "[\(batch),\(hw),\(hw),\(4 * c)]"
            bench("gelu fwd", hText, 8 * Double(h.count), "GB/s") { _ = Reference.geluForward(h) }
            bench("gelu bwd", hText, 12 * Double(h.count), "GB/s") { _ = Reference.geluBackward(dh, x: h) }
            // Inputs in [-1, 1] keep every erfc lane in its |z| < 1 branch, so
            // the branches no lane needs are skipped; [-4, 4] mixes branches
            // in most 16-lane blocks (trained networks' pre-activations).
            let wide = Tensor(shape: h.shape, scalars: h.scalars.map { $0 * 4 })
            bench("gelu fwd [-4,4]", hText, 8 * Double(h.count), "GB/s") { _ = Reference.geluForward(wide) }
            bench("gelu bwd [-4,4]", hText, 12 * Double(h.count), "GB/s") { _ = Reference.geluBackward(dh, x: wide) }
            // bf16 GELU (tables) against its op-by-op computation, on bf16 values in [-4, 4].
            let wide16 = wide.roundedToBF16(), dh16 = dh.roundedToBF16()
            bench("bf16 gelu fwd", hText, 8 * Double(h.count), "GB/s") { _ = bf16GELUForward(wide16) }
            bench("bf16 gelu fwd op-by-op", hText, 8 * Double(h.count), "GB/s") { _ = Reference.bf16GELUForward(wide16) }
            bench("bf16 gelu fwd+bwd", hText, 16 * Double(h.count), "GB/s") { _ = bf16GELUForwardAndBackward(dh16, x: wide16) }
            bench("bf16 gelu bwd op-by-op", hText, 12 * Double(h.count), "GB/s") { _ = Reference.bf16GELUBackward(dh16, x: wide16) }
            do {  // On bf16 bits, as the model runs it: reads dy and x, writes y and dx (2 B each).
                let dyBits = BF16Tensor(packing: dh16), xBits = BF16Tensor(packing: wide16)
                bench("bf16 gelu fwd+bwd bits", hText, 8 * Double(h.count), "GB/s") { _ = bf16GELUForwardAndBackward(dyBits, x: xBits) }
            }
            bench("bf16 column sums", hText, 4 * Double(h.count), "GB/s") { _ = bf16ColumnSums(dh16) }
            // Conv_2's input gradient alone, and with GELU's backward pass in its store (bf16).
            do {
                let w2 = random([4 * c, c], seed: 11), dDot = dy.roundedToBF16(), pre = BF16Tensor(packing: wide16)
                let flops = 2 * Double(batch * hw * hw) * Double(c) * Double(4 * c)
                bench("bf16 Conv_2 dx", hText, flops, "GFLOP/s") { _ = denseInputGradientBF16(.float(dDot), weight: w2, inputShape: h.shape) }
                bench("bf16 Conv_2 dx+gelu", hText, flops, "GFLOP/s") {
                    _ = bf16GELUForwardAndBackward(denseInputGradientToBF16(.float(dDot), weight: w2, inputShape: h.shape), x: pre)
                }
                let x16 = x.roundedToBF16(), w1 = random([c, 4 * c], seed: 9), b1 = random([4 * c], seed: 10).roundedToBF16()
                bench("bf16 Conv_1 fwd", text, flops, "GFLOP/s") { _ = denseForwardBF16(.float(x16), weight: w1) }
                bench("bf16 Conv_1 fwd+gelu", text, flops, "GFLOP/s") { _ = denseGELUForwardBF16(.float(x16), weight: w1, bias: b1, keepPreActivation: true) }
            }

            // Dense C -> 4C (Conv_1) and 4C -> C (Conv_2): 2*M*K*N FLOP; backward = 2 GEMMs.
            let m = Double(batch * hw * hw)
            let w1 = random([c, 4 * c], seed: 9), b1 = random([4 * c], seed: 10)
            let w2 = random([4 * c, c], seed: 11), b2 = random([c], seed: 12)
            let gemmFlops = 2 * m * Double(c) * Double(4 * c)
            bench("dense C->4C fwd", text, gemmFlops, "GFLOP/s") { _ = denseForward(x, weight: w1, bias: b1) }
            bench("dense 4C->C fwd", hText, gemmFlops, "GFLOP/s") { _ = denseForward(h, weight: w2, bias: b2) }
            bench("dense 4C->C bwd", hText, 2 * gemmFlops, "GFLOP/s") { _ = denseBackward(dy, x: h, weight: w2) }
        }
        do {  // ConvNeXt-Tiny's init draws 28.6M truncated normals (XLA's erf_inv, bit-exact with JAX).
            let n = 28_589_128
            bench("truncated_normal init", "[\(n)]", 4 * Double(n), "GB/s") {
                _ = Random.truncatedNormal(PRNGKey(seed: 42), count: n, lower: -2, upper: 2)
            }
        }
        print(String(format: "total %.1f s", now() - t0))
    }
}
