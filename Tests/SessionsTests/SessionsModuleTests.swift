import XCTest
@testable import Sessions

final class SessionsModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertEqual(SessionsModule.name, "Sessions") }
}
