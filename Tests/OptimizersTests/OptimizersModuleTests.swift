import XCTest
@testable import Optimizers

final class OptimizersModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertEqual(OptimizersModule.name, "Optimizers") }
}
