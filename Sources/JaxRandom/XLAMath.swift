/// XLA:CPU's float32 `erf_inv`, `log1p`, `log` and `erf`, operation for
/// operation, 16 lanes at a time.
///
/// JAX's normal and truncated_normal samplers end in `erf_inv`; its exact
/// bits depend on how XLA:CPU compiles it (golden/README.md step 13):
/// `log1p` is a Cephes rational for |t| < sqrt(2)-1 and Eigen's float32 `log`
/// polynomial of 1+t otherwise, and LLVM contracts every `a*b + c` into a
/// hardware FMA. This file copies that sequence from
/// reference/threefry_numpy.py (`erfinv_f32`, `xla_log1p_f32`,
/// `xla_log_f32`, `fma32`); `c.addingProduct(a, b)` is the correctly rounded
/// `fma(a, b, c)`. Constants are written as float32 bit patterns so that no
/// decimal-literal rounding can move them.
enum XLAMath {
    typealias V = SIMD16<Float>
    typealias U = SIMD16<UInt32>

    @inline(__always) static func f(_ bits: UInt32) -> Float { Float(bitPattern: bits) }
    @inline(__always) static func splat(_ bits: UInt32) -> V { V(repeating: Float(bitPattern: bits)) }
    @inline(__always) static func asBits(_ v: V) -> U { unsafeBitCast(v, to: U.self) }
    @inline(__always) static func asFloat(_ u: U) -> V { unsafeBitCast(u, to: V.self) }
    /// |v| by clearing the sign bit (there is no SIMD abs).
    @inline(__always) static func abs(_ v: V) -> V { asFloat(asBits(v) & 0x7FFF_FFFF) }

    // Eigen plog_float polynomial p0..p8 (bits inline below), q1 = -2.12194440e-4
    // (0xB95E8083), q2 = 0.693359375 (0x3F318000), sqrt(1/2) = 0x3F3504F3.

    /// XLA:CPU float32 `log(x)` (Eigen `plog_float`, FMA-contracted).
    @inline(__always)
    static func log(_ x: V) -> V {
        // Clamp to the smallest normal, split x = m * 2^e with m in [0.5, 1).
        let xc = x.replacing(with: V(repeating: f(0x0080_0000)), where: .!(x .>= f(0x0080_0000)) .& (x .== x))
        let bits = asBits(xc)
        let m = asFloat((bits & 0x807F_FFFF) | 0x3F00_0000)
        // e = float(int(bits >> 23) - 127) + 1, exactly: 2^23 + k has the bits 0x4B000000 | k.
        var e = asFloat((bits &>> 23) | 0x4B00_0000) - V(repeating: 8_388_735) + 1
        // If m < sqrt(1/2): e -= 1 and r = m - 1 + m; else r = m - 1.
        let small = m .< f(0x3F35_04F3)
        e = e - V.zero.replacing(with: 1, where: small)
        let r = (m - 1) + V.zero.replacing(with: m, where: small)
        let r2 = r * r
        let r3 = r2 * r
        // Three interleaved Horner chains, then combined with r^3 (as Eigen writes it).
        var y = splat(0xBDEB_D1B8).addingProduct(r, splat(0x3D90_21BB))
        var y1 = splat(0x3E11_E9BF).addingProduct(r, splat(0xBDFE_5D4F))
        var y2 = splat(0xBE7F_FFFC).addingProduct(r, splat(0x3E4C_CEAC))
        y = splat(0x3DEF_251A).addingProduct(y, r)
        y1 = splat(0xBE2A_AE50).addingProduct(y1, r)
        y2 = splat(0x3EAA_AAAA).addingProduct(y2, r)
        y = y1.addingProduct(y, r3)
        y = y2.addingProduct(y, r3)
        y = (e * f(0xB95E_8083)).addingProduct(y, r3)
        // log(m) = r - r^2/2 + y; plus e * ln 2 (q2 part).
        var t = r.addingProduct(-r2, V(repeating: 0.5))
        t = t + y
        var out = t.addingProduct(e, splat(0x3F31_8000))
        out = out.replacing(with: .nan, where: x .< 0)
        out = out.replacing(with: -.infinity, where: x .== 0)
        out = out.replacing(with: .infinity, where: x .== .infinity)
        return out
    }

    // Cephes log1p rational: denominator D (leading 1) and numerator N, highest power first.

    /// XLA:CPU float32 `log1p(t)`: `t - t²/2 + t³·N(t)/D(t)` when
    /// |t| < sqrt(2)-1, else `log(1 + t)`.
    @inline(__always)
    static func log1p(_ t: V) -> V {
        let large = log(t + 1)
        let t2 = t * t
        var d = splat(0x3F80_0000)
        var n = splat(0x383D_E04B)
        d = splat(0x4171_01AD).addingProduct(d, t)
        d = splat(0x42A6_185B).addingProduct(d, t)
        d = splat(0x435D_C32D).addingProduct(d, t)
        d = splat(0x439A_8CA3).addingProduct(d, t)
        d = splat(0x4358_6D8A).addingProduct(d, t)
        d = splat(0x4270_7982).addingProduct(d, t)
        n = splat(0x3EFF_40C5).addingProduct(n, t)
        n = splat(0x40D2_84FA).addingProduct(n, t)
        n = splat(0x41EF_4B9C).addingProduct(n, t)
        n = splat(0x4273_CC76).addingProduct(n, t)
        n = splat(0x4264_73AD).addingProduct(n, t)
        n = splat(0x41A0_5101).addingProduct(n, t)
        let q = n / d
        var small = ((t * t2) * q).addingProduct(-t2, V(repeating: 0.5))
        small = t + small
        return large.replacing(with: small, where: abs(t) .< f(0x3ED4_13CD))
    }

    // Giles' single-precision erfinv coefficients c0..c8 as float32 bits:
    // w < 5: 2.81022636e-08 ... 1.50140941; w >= 5: -0.000200214257 ... 2.83297682.

    /// XLA float32 `erf_inv(x)` (CHLO's decomposition of Giles 2010):
    /// `w = -log1p(-x·x)`; if w < 5 { w -= 2.5 } else { w = sqrt(w) - 3 };
    /// Horner with FMA over the 9 coefficients; `x · (|x| == 1 ? inf : p)`.
    @inline(__always)
    static func erfInv(_ x: V) -> V {
        let lg = log1p(x * -x)                    // == -w
        let lt = lg .> -5
        let wLt = V(repeating: -2.5) - lg
        // The w >= 5 branch needs |x| > 0.9966; most blocks have no such lane, and
        // SIMD squareRoot lowers to one sqrtf call per lane, so take it only when needed.
        var w = wLt
        if any(.!lt) {
            var wGe = V.zero
            let nlg = -lg
            for l in 0..<16 { wGe[l] = nlg[l].squareRoot() - 3 }
            w = wGe.replacing(with: wLt, where: lt)
        }
        var p = splat(0xB951_F09B).replacing(with: f(0x32F1_6588), where: lt)
        p = splat(0x38D3_B56B).replacing(with: f(0x34B8_4B36), where: lt).addingProduct(p, w)
        p = splat(0x3AB0_DC72).replacing(with: f(0xB66C_7357), where: lt).addingProduct(p, w)
        p = splat(0xBB70_BDE7).replacing(with: f(0xB693_5AC1), where: lt).addingProduct(p, w)
        p = splat(0x3BBC_127B).replacing(with: f(0x3965_32DB), where: lt).addingProduct(p, w)
        p = splat(0xBBF9_C5D7).replacing(with: f(0xBAA4_5408), where: lt).addingProduct(p, w)
        p = splat(0x3C1A_A57E).replacing(with: f(0xBB88_E4EF), where: lt).addingProduct(p, w)
        p = splat(0x3F80_36DB).replacing(with: f(0x3E7C_8F63), where: lt).addingProduct(p, w)
        p = splat(0x4035_4F7E).replacing(with: f(0x3FC0_2E2F), where: lt).addingProduct(p, w)
        p = p.replacing(with: .infinity, where: abs(x) .== 1)
        return x * p
    }

    // XLA's float32 erf rational (xla/service/elemental_ir_emitter, notes/swift-kernels.md):
    // odd numerator and even denominator in x², highest power first, clamp |x| <= 3.8325069.
    static let erfAlpha: [UInt32] = [0x3970_2D51, 0x3B5F_5DA2, 0x3D50_B6EB, 0x3E3D_A740, 0x3F90_6EBA]
    static let erfBeta: [UInt32] = [0xB3FD_3906, 0x37C5_88DF, 0x3A85_6D28, 0x3C66_87D4, 0x3DE3_4C21, 0x3EFE_B44A, 0x3F80_0000]

    /// XLA:CPU float32 `erf(x)` (the rational approximation, FMA Horner), used
    /// for truncated-normal bounds: `x·P(x²)/Q(x²)` after clamping.
    /// For ±2/sqrt(2) it gives ±0x3F745A18, the values recorded in prng.json.
    static func erf(_ x: Float) -> Float {
        let c = f(0x4075_47CB)
        let xc = Swift.min(Swift.max(x, -c), c)
        let x2 = xc * xc
        var p = f(erfAlpha[0])
        for i in 1..<erfAlpha.count { p = f(erfAlpha[i]).addingProduct(p, x2) }
        var q = f(erfBeta[0])
        for i in 1..<erfBeta.count { q = f(erfBeta[i]).addingProduct(q, x2) }
        return (xc * p) / q
    }
}
