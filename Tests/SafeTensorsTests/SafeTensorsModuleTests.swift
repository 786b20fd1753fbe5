import XCTest
@testable import SafeTensors

final class SafeTensorsModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertEqual(SafeTensorsModule.name, "SafeTensors") }
}
