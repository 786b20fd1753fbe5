import Datasets
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
        // The logos Jupyter's launcher shows: PNGs of their size (libpng reads them back), blue corners, a white curve.
        for size in [32, 64] {
            let logo = try PNGCodec.decode([UInt8](Data(contentsOf: dir.appendingPathComponent("logo-\(size)x\(size).png"))))
            XCTAssertEqual([logo.width, logo.height], [size, size])
            XCTAssertEqual(Array(logo.pixels[0..<3]), [0x1f, 0x77, 0xb4], "the corner is the background")
            let white = stride(from: 0, to: logo.pixels.count, by: 3).filter { logo.pixels[$0] == 255 && logo.pixels[$0 + 1] == 255 && logo.pixels[$0 + 2] == 255 }
            XCTAssertGreaterThan(white.count, size, "the curve is drawn")
            XCTAssertLessThan(white.count, size * size / 4)
            // It falls: white near the top left, white near the bottom right.
            func isWhite(_ x: Int, _ y: Int) -> Bool { logo.pixels[(y * size + x) * 3] == 255 && logo.pixels[(y * size + x) * 3 + 2] == 255 }
            XCTAssertTrue((0..<size / 3).contains { y in (0..<size / 3).contains { isWhite($0, y) } })
            XCTAssertTrue((2 * size / 3..<size).contains { y in (2 * size / 3..<size).contains { isWhite($0, y) } })
        }
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
