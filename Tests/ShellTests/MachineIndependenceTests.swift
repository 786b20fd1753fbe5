import Foundation
import XCTest
import TestSupport

/// The same commands print the same numbers whatever kernels OpenBLAS would
/// pick for this CPU: `OPENBLAS_CORETYPE` set to the AVX-512 family or left
/// unset gives the same losses (cnx fixes the family before loading it).
final class MachineIndependenceTests: XCTestCase {
    func testOpenBLASCoreTypeFromTheEnvironmentDoesNotChangeTheNumbers() throws {
        let binary = Golden.repoRoot.appendingPathComponent(".build/debug/cnx")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            let message = "\(binary.path) is missing: run 'swift build --product cnx' (make test does)"
            if Golden.isCI() { XCTFail(message) }
            throw XCTSkip(message)
        }
        let script = "data synthetic --batch 16; model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 10 --image-size 32; "
            + "rng seed 3; model init; optim adamw --lr 0.003; train steps 4"
        var outputs: [String] = []
        for coreType in [nil, "SkylakeX", "Haswell"] {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["-c", script]
            var env = ProcessInfo.processInfo.environment
            env["NO_COLOR"] = "1"
            env["OPENBLAS_CORETYPE"] = coreType
            process.environment = env
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "OPENBLAS_CORETYPE=\(coreType ?? "unset")")
            let text = String(decoding: data, as: UTF8.self)
            let losses = text.split(separator: "\n").filter { $0.contains("mean_loss") || $0.contains("last_loss") }
            XCTAssertEqual(losses.count, 2, text)
            outputs.append(losses.joined(separator: "\n"))
        }
        XCTAssertEqual(Set(outputs).count, 1, "losses differ with OPENBLAS_CORETYPE: \(outputs)")
    }
}
