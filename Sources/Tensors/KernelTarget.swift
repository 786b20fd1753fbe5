/// The instruction-set level the kernel modules were compiled for, chosen by
/// Package.swift from the build machine's CPU (or `CNX_MARCH`).
///
/// x86-64-v4 keeps a `SIMD16<Float>` in one AVX-512 register; x86-64-v3 splits
/// it over two AVX2 registers. Every kernel computes the same bits on both
/// (lane-wise IEEE arithmetic, FMA on both levels); only the speed differs.
public enum KernelTarget {
    #if CNX_X86_64_V4
    /// The `-march` level, as `bench` reports it (`kernels`).
    public static let level = "x86-64-v4"
    /// The /proc/cpuinfo flags a CPU needs to run these kernels.
    public static let requiredCPUFlags = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma", "f16c", "bmi2"]
    #else
    /// The `-march` level, as `bench` reports it (`kernels`).
    public static let level = "x86-64-v3"
    /// The /proc/cpuinfo flags a CPU needs to run these kernels.
    public static let requiredCPUFlags = ["avx2", "fma", "f16c", "bmi2"]
    #endif
}
