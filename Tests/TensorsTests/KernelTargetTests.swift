import Foundation
import XCTest
@testable import Tensors

/// The kernels' instruction-set level is the build machine's (Package.swift):
/// the machine running the tests built them, so it has every flag the level
/// needs, and the level is the highest this CPU supports.
final class KernelTargetTests: XCTestCase {
    func testTheLevelIsTheBuildMachinesHighest() throws {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no /proc/cpuinfo flags on this system")
        }
        if let forced = ProcessInfo.processInfo.environment["CNX_MARCH"], !forced.isEmpty {
            throw XCTSkip("CNX_MARCH=\(forced) chose the level by hand")
        }
        let flags = Set(line.split(separator: " ").map(String.init))
        XCTAssertEqual(KernelTarget.requiredCPUFlags.filter { !flags.contains($0) }, [], "built for \(KernelTarget.level)")
        let hasAVX512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        XCTAssertEqual(KernelTarget.level, hasAVX512 ? "x86-64-v4" : "x86-64-v3")
    }
}
