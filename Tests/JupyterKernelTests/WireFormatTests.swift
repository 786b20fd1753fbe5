import Crypto
import Foundation
import JupyterKernel
import XCTest

final class WireFormatTests: XCTestCase {
    func testSignatureIsHMACSHA256OfTheFourParts() throws {
        let signer = try MessageSigner(key: "secret")
        let message = JupyterMessage(type: "kernel_info_request", session: "s", content: .object([("a", 1)]))
        let frames = WireFormat.encode(message, signer: signer)
        XCTAssertEqual(frames[0], WireFormat.delimiter)
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: Array("secret".utf8)))
        for part in frames[2...5] { hmac.update(data: part) }
        XCTAssertEqual(String(decoding: frames[1], as: UTF8.self), Data(hmac.finalize()).map { String(format: "%02x", $0) }.joined())
        let back = try WireFormat.decode(frames, signer: signer)
        XCTAssertEqual(back.type, "kernel_info_request")
        XCTAssertEqual(back.content["a"]?.integer, 1)
    }

    func testTamperedOrMalformedMessagesAreRefused() throws {
        let signer = try MessageSigner(key: "secret")
        let message = JupyterMessage(identities: [[1, 2]], header: JupyterMessage.header(type: "execute_request", session: "s"),
                                     content: .object([("code", "help")]))
        var frames = WireFormat.encode(message, signer: signer)
        XCTAssertEqual(try WireFormat.decode(frames, signer: signer).identities, [[1, 2]])
        frames[5] = Array(#"{"code":"rng seed 1"}"#.utf8)
        XCTAssertThrowsError(try WireFormat.decode(frames, signer: signer)) { XCTAssertEqual($0 as? WireFormat.Failure, .badSignature) }
        XCTAssertThrowsError(try WireFormat.decode(Array(frames.dropFirst(2)), signer: signer)) {
            XCTAssertEqual($0 as? WireFormat.Failure, .noDelimiter)
        }
        XCTAssertThrowsError(try WireFormat.decode(Array(frames.prefix(4)), signer: signer)) {
            XCTAssertEqual($0 as? WireFormat.Failure, .tooShort)
        }
        // Without a key nothing is signed and nothing checked.
        let open = try MessageSigner(key: "")
        XCTAssertEqual(WireFormat.encode(message, signer: open)[2], [], "an empty signature frame after the identity and delimiter")
        XCTAssertThrowsError(try MessageSigner(key: "k", scheme: "hmac-md5"))
    }

    func testConnectionFileIsReadAndChecked() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-conn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("kernel.json")
        try Data(#"{"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5, "ip": "127.0.0.1", "key": "k", "transport": "tcp", "signature_scheme": "hmac-sha256", "kernel_name": "cnx"}"#.utf8).write(to: good)
        let info = try ConnectionInfo.load(good)
        XCTAssertEqual(info.endpoint(info.controlPort), "tcp://127.0.0.1:4")
        XCTAssertEqual(info.key, "k")
        let missing = dir.appendingPathComponent("missing.json")
        try Data(#"{"shell_port": 1}"#.utf8).write(to: missing)
        XCTAssertThrowsError(try ConnectionInfo.load(missing)) { XCTAssertTrue("\($0)".contains("iopub_port"), "\($0)") }
        XCTAssertThrowsError(try ConnectionInfo.load(dir.appendingPathComponent("absent.json"))) {
            XCTAssertTrue("\($0)".hasPrefix("cannot read the connection file"), "\($0)")
        }
    }
}
