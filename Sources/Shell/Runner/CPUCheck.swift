import Foundation

/// The kernels are compiled for x86-64-v4 (AVX-512). On a CPU without it they
/// would die with an illegal instruction; say so plainly instead.
public enum CPUCheck {
    /// nil when this CPU can run cnx, else a one-line explanation.
    public static func problem() -> String? {
        #if arch(x86_64) && os(Linux)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        guard let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let needed = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "fma"]
        let missing = needed.filter { !flags.contains($0) }
        if !missing.isEmpty {
            return "this CPU lacks \(missing.joined(separator: ", ")): cnx's kernels are built for x86-64-v4 (AVX-512); build on and for an AVX-512 machine"
        }
        #endif
        return nil
    }
}
