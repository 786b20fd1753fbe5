import Tensors

/// Experiment: C[M, 96] = A[M, K] · B[K, 96] without packing A, register
/// tiles of 4 rows x 96 columns (24 zmm accumulators), K in blocks of 64 so
/// B's block stays in L1.
enum ThinGEMM {
    typealias V = SIMD16<Float>

    @inline(__always) static func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func st(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// Rows lo..<hi (a multiple of 4 apart, or the tail handled one row at a time).
    static func rows(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                     k: Int, lo: Int, hi: Int) {
        let kc = 64
        var k0 = 0
        while k0 < k {
            let k1 = min(k, k0 + kc)
            let first = k0 == 0
            var r = lo
            while r + 4 <= hi {
                let a0 = a + r * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k
                let c0 = c + r * 96, c1 = c0 + 96, c2 = c1 + 96, c3 = c2 + 96
                var x00 = V(), x01 = V(), x02 = V(), x03 = V(), x04 = V(), x05 = V()
                var x10 = V(), x11 = V(), x12 = V(), x13 = V(), x14 = V(), x15 = V()
                var x20 = V(), x21 = V(), x22 = V(), x23 = V(), x24 = V(), x25 = V()
                var x30 = V(), x31 = V(), x32 = V(), x33 = V(), x34 = V(), x35 = V()
                if !first {
                    x00 = ld(c0); x01 = ld(c0 + 16); x02 = ld(c0 + 32); x03 = ld(c0 + 48); x04 = ld(c0 + 64); x05 = ld(c0 + 80)
                    x10 = ld(c1); x11 = ld(c1 + 16); x12 = ld(c1 + 32); x13 = ld(c1 + 48); x14 = ld(c1 + 64); x15 = ld(c1 + 80)
                    x20 = ld(c2); x21 = ld(c2 + 16); x22 = ld(c2 + 32); x23 = ld(c2 + 48); x24 = ld(c2 + 64); x25 = ld(c2 + 80)
                    x30 = ld(c3); x31 = ld(c3 + 16); x32 = ld(c3 + 32); x33 = ld(c3 + 48); x34 = ld(c3 + 64); x35 = ld(c3 + 80)
                }
                var kk = k0
                while kk < k1 {
                    let bb = b + kk * 96
                    let s0 = V(repeating: a0[kk]), s1 = V(repeating: a1[kk]), s2 = V(repeating: a2[kk]), s3 = V(repeating: a3[kk])
                    var bv = ld(bb)
                    x00 = x00.addingProduct(s0, bv); x10 = x10.addingProduct(s1, bv); x20 = x20.addingProduct(s2, bv); x30 = x30.addingProduct(s3, bv)
                    bv = ld(bb + 16)
                    x01 = x01.addingProduct(s0, bv); x11 = x11.addingProduct(s1, bv); x21 = x21.addingProduct(s2, bv); x31 = x31.addingProduct(s3, bv)
                    bv = ld(bb + 32)
                    x02 = x02.addingProduct(s0, bv); x12 = x12.addingProduct(s1, bv); x22 = x22.addingProduct(s2, bv); x32 = x32.addingProduct(s3, bv)
                    bv = ld(bb + 48)
                    x03 = x03.addingProduct(s0, bv); x13 = x13.addingProduct(s1, bv); x23 = x23.addingProduct(s2, bv); x33 = x33.addingProduct(s3, bv)
                    bv = ld(bb + 64)
                    x04 = x04.addingProduct(s0, bv); x14 = x14.addingProduct(s1, bv); x24 = x24.addingProduct(s2, bv); x34 = x34.addingProduct(s3, bv)
                    bv = ld(bb + 80)
                    x05 = x05.addingProduct(s0, bv); x15 = x15.addingProduct(s1, bv); x25 = x25.addingProduct(s2, bv); x35 = x35.addingProduct(s3, bv)
                    kk += 1
                }
                st(x00, c0); st(x01, c0 + 16); st(x02, c0 + 32); st(x03, c0 + 48); st(x04, c0 + 64); st(x05, c0 + 80)
                st(x10, c1); st(x11, c1 + 16); st(x12, c1 + 32); st(x13, c1 + 48); st(x14, c1 + 64); st(x15, c1 + 80)
                st(x20, c2); st(x21, c2 + 16); st(x22, c2 + 32); st(x23, c2 + 48); st(x24, c2 + 64); st(x25, c2 + 80)
                st(x30, c3); st(x31, c3 + 16); st(x32, c3 + 32); st(x33, c3 + 48); st(x34, c3 + 64); st(x35, c3 + 80)
                r += 4
            }
            k0 = k1
        }
    }

    static func run(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, m: Int, k: Int) {
        // Row panels of 64 rows, spread over the threads.
        let panel = 64
        let panels = (m + panel - 1) / panel
        let io = UncheckedSendable((a, b, c))
        parallelChunks(panels) { range in
            let (a, b, c) = io.value
            for p in range { rows(a, b, c, k: k, lo: p * panel, hi: min(m, (p + 1) * panel)) }
        }
    }
}

extension KernelBench {
    static func thinGEMM() {
        for (hw, ch) in [(56, 96)] {
            let m = batch * hw * hw, k = 4 * ch
            let a = random([m, k], seed: 1), b = random([k, 96], seed: 2)
            var c = [Float](repeating: 0, count: m * 96)
            var ref = [Float](repeating: 0, count: m * 96)
            let flops = 2 * Double(m) * Double(k) * 96
            let s = Shape(name: "thin", transA: false, transB: false, m: m, n: 96, k: k)
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        ref.withUnsafeMutableBufferPointer { pr in
                            let io = UncheckedSendable((pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, pr.baseAddress!))
                            for _ in 0..<3 {
                                row("thin swift \(hw)", "\(m)x96x\(k)", time(reps: reps) {
                                    ThinGEMM.run(io.value.0, io.value.1, io.value.2, m: m, k: k)
                                }, flops, "GFLOP/s")
                                row("thin openblas rows \(hw)", "\(m)x96x\(k)", time(reps: reps) {
                                    run("rows", s, io.value.0, k, io.value.1, 96, io.value.3)
                                }, flops, "GFLOP/s")
                            }
                            var worst: Float = 0
                            for i in 0..<(m * 96) { worst = max(worst, abs(io.value.2[i] - io.value.3[i])) }
                            print("max |swift - openblas| = \(worst)")
                        }
                    }
                }
            }
        }
    }
}
