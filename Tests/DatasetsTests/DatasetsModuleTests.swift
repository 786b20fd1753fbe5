import XCTest
@testable import Datasets

final class DatasetsModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertEqual(DatasetsModule.name, "Datasets") }
}
