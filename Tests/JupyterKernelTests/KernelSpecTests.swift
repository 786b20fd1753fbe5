import Foundation
import JSON
import JupyterKernel
import XCTest

final class KernelSpecTests: XCTestCase {
    func testInstallWritesKernelJSONAndUninstallRemovesIt() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-spec-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = try KernelSpec.install(name: "cnx-test", location: .prefix(root.path), executable: "/opt/cnx/bin/cnx")
        XCTAssertEqual(dir.path, root.appendingPathComponent("share/jupyter/kernels/cnx-test").path)
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: dir.appendingPathComponent("kernel.json")))
        XCTAssertEqual(json["argv"], .array(["/opt/cnx/bin/cnx", "kernel", "-f", "{connection_file}"]))
        XCTAssertEqual(json["language"]?.text, "cnx")
        XCTAssertEqual(json["interrupt_mode"]?.text, "message")
        XCTAssertEqual(json["display_name"]?.text, "cnx")
        try KernelSpec.uninstall(name: "cnx-test", location: .prefix(root.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path))
        XCTAssertThrowsError(try KernelSpec.uninstall(name: "cnx-test", location: .prefix(root.path))) {
            XCTAssertTrue("\($0)".hasPrefix("no kernelspec 'cnx-test'"), "\($0)")
        }
        XCTAssertThrowsError(try KernelSpec.install(name: "../x", location: .prefix(root.path), executable: "/bin/cnx"))
        XCTAssertThrowsError(try KernelSpec.install(name: "x", location: .prefix(root.path), executable: "cnx"))
    }

    func testUserLocationFollowsJupyterDataDirectories() {
        XCTAssertEqual(KernelSpec.directory(name: "cnx", location: .user, environment: ["HOME": "/h"]).path,
                       "/h/.local/share/jupyter/kernels/cnx")
        XCTAssertEqual(KernelSpec.directory(name: "cnx", location: .user, environment: ["HOME": "/h", "XDG_DATA_HOME": "/x"]).path,
                       "/x/jupyter/kernels/cnx")
        XCTAssertEqual(KernelSpec.directory(name: "n", location: .user, environment: ["HOME": "/h", "JUPYTER_DATA_DIR": "/j"]).path,
                       "/j/kernels/n")
    }
}
