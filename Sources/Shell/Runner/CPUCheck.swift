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
    /// Whether this CPU has AVX512-BF16 (`vdpbf16ps`).
    public static var hasAVX512BF16: Bool {
        #if arch(x86_64) && os(Linux)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        return flagsLine.split(separator: " ").contains("avx512_bf16")
        #else
        return false
        #endif
    }

    /// The one-line note printed when bf16 is asked for: how bf16 runs here.
    public static var bf16Note: String {
        hasAVX512BF16
            ? "bf16 runs emulated in float32 arithmetic (same numbers as bf16, not faster): cnx has no avx512_bf16 kernels yet"
            : "this CPU has no avx512_bf16, so bf16 runs emulated in float32 arithmetic (same numbers as bf16, not faster)"
    }
}
