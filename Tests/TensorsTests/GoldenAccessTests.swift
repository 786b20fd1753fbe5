import Foundation
import XCTest
import TestSupport

/// The rule every golden-data test relies on (`TestSupport/Golden.swift`):
/// skip when ../shared/golden is absent, fail when it is absent under CI or
/// when one file is missing from it.
final class GoldenAccessTests: XCTestCase {
    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-golden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testAbsentFolderSkipsOutsideCI() throws {
        let absent = try temporaryFolder().appendingPathComponent("golden")
        for environment in [[:], ["CI": ""]] {
            XCTAssertThrowsError(try Golden.url("prng.json", directory: absent, environment: environment)) { error in
                XCTAssertTrue(error is XCTSkip, "\(error)")
                XCTAssertTrue("\(error)".contains("clone ../shared"), "\(error)")
            }
        }
    }

    func testAbsentFolderFailsUnderCI() throws {
        let absent = try temporaryFolder().appendingPathComponent("golden")
        for value in ["1", "true"] {
            XCTAssertThrowsError(try Golden.url("prng.json", directory: absent, environment: ["CI": value])) { error in
                XCTAssertTrue(error is Golden.Missing, "\(error)")
                XCTAssertTrue("\(error)".contains("CI is set"), "\(error)")
            }
        }
    }

    func testFileMissingFromPresentFolderFails() throws {
        let folder = try temporaryFolder()
        XCTAssertThrowsError(try Golden.url("prng.json", directory: folder, environment: [:])) { error in
            XCTAssertTrue(error is Golden.Missing, "\(error)")
            XCTAssertTrue("\(error)".contains("incomplete"), "\(error)")
        }
    }

    func testPresentFileIsFound() throws {
        let folder = try temporaryFolder()
        try Data("{}".utf8).write(to: folder.appendingPathComponent("prng.json"))
        let url = try Golden.url("prng.json", directory: folder, environment: ["CI": "1"])
        XCTAssertEqual(url.lastPathComponent, "prng.json")
    }
}
