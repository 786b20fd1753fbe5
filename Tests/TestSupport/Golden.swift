import Foundation
import XCTest

/// Access to the JAX/Flax/Optax reference outputs in `../shared/golden`.
///
/// Tests find the folder relative to the repository root (found from this
/// file's path, so it works from any working directory) and skip with a
/// clear message when it is absent.
public enum Golden {
    /// The repository root: two levels above `Tests/TestSupport`.
    public static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/golden` relative to the repository root.
    public static let directory: URL = repoRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/golden")

    /// The URL of a golden file, or an `XCTSkip` when the golden folder is absent.
    public static func url(_ name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("golden data not found at \(url.path): clone ../shared beside the repository to run this test")
        }
        return url
    }

    /// A golden JSON file, parsed.
    public static func json(_ name: String) throws -> Any {
        let data = try Data(contentsOf: try url(name))
        return try JSONSerialization.jsonObject(with: data)
    }
}
