import XCTest
import Distributed

/// `cnx` joins an MPI world only when a launcher started it.
final class LauncherDetectionTests: XCTestCase {
    func testPlainEnvironmentIsNotLaunched() {
        XCTAssertFalse(MPIWorld.launched(environment: [:]))
        XCTAssertFalse(MPIWorld.launched(environment: ["PATH": "/usr/bin", "OMPI_MCA_btl": "self"]))
    }

    func testEachLauncherVariableCounts() {
        for name in MPIWorld.launcherVariables {
            XCTAssertTrue(MPIWorld.launched(environment: [name: "0"]), name)
        }
    }
}
