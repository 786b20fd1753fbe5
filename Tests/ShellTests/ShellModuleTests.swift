import XCTest
@testable import Shell

final class ShellModuleTests: XCTestCase {
    func testVersion() { XCTAssertFalse(ShellModule.version.isEmpty) }
}
