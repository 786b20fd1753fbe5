import Foundation
import JaxRandom
import Training
import XCTest
@testable import Sessions

/// Sessions saved before the seed's training-key schedule (their key tree
/// has no `schedule`) load and continue with their own schedule, never
/// mixed with the new one (issue 20).
final class KeyScheduleSessionTests: XCTestCase {
    func testASessionSavedBeforeTheSeedScheduleContinuesAsItWas() throws {
        var s = try smallState()
        try TrainEngine.trainStep(&s)
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("old")
        try SessionStore().save(s, transcript: [], name: "old", to: url, cnxVersion: "test")
        // Rewrite the manifest as cnx 0.1 wrote it: no schedule in the key tree.
        let manifestURL = url.appendingPathComponent("v000001/manifest.json")
        var text = try String(contentsOf: manifestURL, encoding: .utf8)
        let before = text
        text = text.replacingOccurrences(of: #""schedule" : "seed","#, with: "")
            .replacingOccurrences(of: #","schedule":"seed""#, with: "")
            .replacingOccurrences(of: #""schedule":"seed","#, with: "")
        XCTAssertNotEqual(text, before, "the manifest records the key schedule")
        try Data(text.utf8).write(to: manifestURL)
        let pointerURL = url.appendingPathComponent("CURRENT")
        let pointer = try JSONDecoder().decode(SessionPointer.self, from: Data(contentsOf: pointerURL))
        try JSONEncoder().encode(SessionPointer(format: pointer.format, version: pointer.version,
                                                manifestSHA256: Checksum.sha256(Data(text.utf8)))).write(to: pointerURL)

        var old = try SessionStore().load(url, name: "old").makeState()
        XCTAssertEqual(old.keys.schedule, .streams)
        let dropout = try old.keys.key(KeyTree.dropout)
        try TrainEngine.trainStep(&old)
        XCTAssertEqual(try old.keys.key("step/dropout"), dropout.splitKey(0), "an old session steps with its own schedule")
        XCTAssertEqual(try old.keys.key(KeyTree.dropout), dropout.splitKey(1))

        let new = try SessionStore().load(url, name: "old")
        XCTAssertEqual(new.state.keys.schedule, .streams, "loading again gives the same schedule")
    }
}
