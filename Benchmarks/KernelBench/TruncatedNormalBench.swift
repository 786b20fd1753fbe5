import Dispatch
import Foundation
import JaxRandom

/// Times the truncated-normal draws of ConvNeXt-Tiny's init: 28,589,128
/// parameters, of which the 59 random kernels are ~28.3M values; the bench
/// draws one 28,589,128-value array (the issue's figure) and reports the best
/// of a few runs.
enum TruncatedNormalBench {
    static func report(runs: Int = 5) -> String {
        let count = 28_589_128
        let key = PRNGKey(seed: 42).splitKey(0)
        var best = Double.infinity, bestCPU = Double.infinity
        var checksum: Float = 0
        for _ in 0..<runs {
            let c0 = cpuSeconds(), t0 = DispatchTime.now().uptimeNanoseconds
            let z = Random.truncatedNormal(key, count: count, lower: -2, upper: 2)
            let t1 = DispatchTime.now().uptimeNanoseconds, c1 = cpuSeconds()
            best = min(best, Double(t1 - t0) / 1e9)
            bestCPU = min(bestCPU, c1 - c0)
            checksum += z[count / 2]
        }
        let rate = Double(count) / best / 1e6
        return "truncated_normal \(count) values: best wall \(String(format: "%.3f", best)) s (\(String(format: "%.0f", rate)) M/s), "
            + "best process CPU \(String(format: "%.3f", bestCPU)) s over \(ProcessInfo.processInfo.activeProcessorCount) cores  [check \(checksum)]"
    }

    /// CPU time used by the process (all threads), to read through a busy machine.
    static func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
