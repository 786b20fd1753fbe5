import XCTest
@testable import JaxRandom

final class JaxRandomModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertEqual(JaxRandomModule.name, "JaxRandom") }
}
