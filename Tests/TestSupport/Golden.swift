import Foundation
import XCTest

/// Access to the JAX/Flax/Optax reference outputs in `../shared/golden`.
///
/// Tests find the folder relative to the repository root (found from this
/// file's path, so it works from any working directory). When the folder is
/// absent they skip with a clear message, except under CI (the environment
/// variable `CI` set and non-empty), where a missing golden folder fails the
/// test: CI must not pass by skipping the parity checks. A file missing from
/// a folder that is there always fails (the golden data is incomplete).
public enum Golden {
    /// The repository root: two levels above `Tests/TestSupport`.
    public static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/golden` relative to the repository root.
    public static let directory: URL = repoRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/golden")

    /// Why a golden file could not be used; thrown (failing the test) where a skip would hide it.
    public struct Missing: Error, CustomStringConvertible {
        public var description: String
    }

    /// Whether this run is under CI (`CI` set to anything but the empty string).
    public static func isCI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        !(environment["CI"] ?? "").isEmpty
    }

    /// What to throw when golden file `name` is not in `directory`: an
    /// `XCTSkip` when the folder is absent outside CI, otherwise `Missing`.
    public static func missingError(_ name: String, directory: URL, environment: [String: String]) -> Error {
        let path = directory.appendingPathComponent(name).path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return Missing(description: "golden file \(name) is missing from \(directory.path): the golden data is incomplete; restore it from ../shared")
        }
        if isCI(environment) {
            return Missing(description: "golden data not found at \(path) and CI is set: CI must run the parity tests; check out ../shared beside the repository")
        }
        return XCTSkip("golden data not found at \(path): clone ../shared beside the repository to run this test")
    }

    /// The URL of a golden file. Throws an `XCTSkip` when the golden folder
    /// is absent, or `Missing` (a failure) under CI or when only the file is absent.
    public static func url(_ name: String) throws -> URL {
        try url(name, directory: directory, environment: ProcessInfo.processInfo.environment)
    }

    /// `url(_:)` against a given folder and environment (for the tests of this rule).
    public static func url(_ name: String, directory: URL, environment: [String: String]) throws -> URL {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw missingError(name, directory: directory, environment: environment)
        }
        return url
    }

    /// A golden JSON file, parsed.
    public static func json(_ name: String) throws -> Any {
        let data = try Data(contentsOf: try url(name))
        return try JSONSerialization.jsonObject(with: data)
    }
}
