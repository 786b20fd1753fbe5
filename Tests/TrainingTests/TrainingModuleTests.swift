import XCTest
@testable import Training

final class TrainingModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertEqual(TrainingModule.name, "Training") }
}
