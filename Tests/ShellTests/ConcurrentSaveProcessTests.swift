import Foundation
import XCTest
@testable import Shell

/// Issue 21: four `cnx` processes saving one session name at once left
/// `CURRENT` naming a deleted version in 3 of 25 rounds. With the session
/// lock every round ends with a loadable session and exactly one version.
final class ConcurrentSaveProcessTests: XCTestCase {
    func testFourProcessesSavingOneNameNeverLoseIt() throws {
        let binary = try PseudoTerminal.binary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-conc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func cnx(_ script: String) throws -> Process {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["-c", script]
            p.currentDirectoryURL = dir
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        let setup = "model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 10 --image-size 32; model init; optim adamw"
        for round in 0..<3 {
            let savers = try (0..<4).map { _ in try cnx("\(setup); session save conc") }
            for p in savers { p.waitUntilExit() }
            XCTAssertTrue(savers.allSatisfy { $0.terminationStatus == 0 }, "round \(round): a save failed")
            let load = try cnx("session load conc")
            load.waitUntilExit()
            XCTAssertEqual(load.terminationStatus, 0, "round \(round): the session does not load")
            let versions = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("sessions/conc").path)
                .filter { $0.hasPrefix("v") }
            XCTAssertEqual(versions.count, 1, "round \(round): \(versions)")
        }
    }
}
