import Foundation
import Tensors

/// The kernels are compiled for the build machine's level (`KernelTarget`:
/// x86-64-v4 with AVX-512, or x86-64-v3 with AVX2). On a CPU without it they
/// would die with an illegal instruction; say so plainly instead.
public enum CPUCheck {
    /// nil when this CPU can run cnx, else a one-line explanation.
    public static func problem() -> String? {
        #if arch(x86_64) && os(Linux)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        guard let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let missing = KernelTarget.requiredCPUFlags.filter { !flags.contains($0) }
        if !missing.isEmpty {
            return "this CPU lacks \(missing.joined(separator: ", ")): this cnx was built for \(KernelTarget.level); rebuild it on this machine (`make build`), or with CNX_MARCH=x86-64-v3 for any AVX2 CPU"
        }
        #endif
        return nil
    }
}

extension CPUCheck {
    /// The one-line note printed when bf16 is asked for: how bf16 runs here.
    public static var bf16Note: String {
        switch BF16GEMMEngine.standard {
        case .native:
            return "bf16 convs and Dense layers run on this CPU's AVX512-BF16 (vdpbf16ps, float32 accumulation); the other ops compute bf16 values in float32 arithmetic"
        case .emulated where BF16GEMMEngine.nativeAvailable:
            return "CNX_BF16_GEMM=emulated: bf16 GEMMs run emulated in float32 FMAs (the same bits as AVX512-BF16, slower)"
        case .emulated:
            return "this CPU has no avx512_bf16, so bf16 GEMMs run emulated in float32 FMAs: the same bits as on an AVX512-BF16 CPU, slower than float32"
        }
    }
}
