import XCTest
@testable import Models

final class ModelsModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertEqual(ModelsModule.name, "Models") }
}
