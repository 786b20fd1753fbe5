import CZeroMQ
import Foundation
import JSON
import JupyterKernel
import XCTest

/// Ports nobody listens on now (bound to port 0, then released).
func freePorts(_ n: Int) -> [Int] {
    var sockets: [Int32] = []
    defer { for s in sockets { close(s) } }
    return (0..<n).map { _ in
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        sockets.append(s)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A connection file's contents on free local ports with a fresh key.
func testConnection() -> ConnectionInfo {
    let p = freePorts(5)
    return ConnectionInfo(shellPort: p[0], iopubPort: p[1], stdinPort: p[2], controlPort: p[3], hbPort: p[4],
                          key: UUID().uuidString)
}

/// A front end in miniature: speaks the protocol over ZeroMQ to a kernel,
/// every wait bounded so a kernel bug fails the test instead of hanging it.
final class KernelClient {
    let context: ZMQContext
    let shell: ZMQSocket
    let control: ZMQSocket
    let iopub: ZMQSocket
    let heartbeat: ZMQSocket
    /// Where `input_request`s come; it shares the shell socket's identity, as jupyter_client's do.
    let stdin: ZMQSocket
    let signer: MessageSigner
    let session = UUID().uuidString

    init(_ info: ConnectionInfo) throws {
        context = try ZMQContext()
        shell = try ZMQSocket(context, .dealer, lingerMilliseconds: 0)
        control = try ZMQSocket(context, .dealer, lingerMilliseconds: 0)
        iopub = try ZMQSocket(context, .sub, lingerMilliseconds: 0)
        heartbeat = try ZMQSocket(context, .req, lingerMilliseconds: 0)
        stdin = try ZMQSocket(context, .dealer, lingerMilliseconds: 0)
        try shell.setOption(ZMQ_IDENTITY, bytes: Array(session.utf8))
        try stdin.setOption(ZMQ_IDENTITY, bytes: Array(session.utf8))
        try stdin.connect(info.endpoint(info.stdinPort))
        try iopub.setOption(ZMQ_SUBSCRIBE, bytes: [])
        try shell.connect(info.endpoint(info.shellPort))
        try control.connect(info.endpoint(info.controlPort))
        try iopub.connect(info.endpoint(info.iopubPort))
        try heartbeat.connect(info.endpoint(info.hbPort))
        signer = try MessageSigner(key: info.key, scheme: info.signatureScheme)
    }

    /// Sends a request; returns it (its id is the parent of what comes back).
    @discardableResult
    func send(_ type: String, _ content: JSONValue, on socket: ZMQSocket? = nil, signer: MessageSigner? = nil) throws -> JupyterMessage {
        let message = JupyterMessage(type: type, session: session, content: content)
        try (socket ?? shell).send(WireFormat.encode(message, signer: signer ?? self.signer))
        return message
    }

    /// The next reply on `socket`, checked against the request; fails after `timeout` seconds.
    func reply(to request: JupyterMessage, on socket: ZMQSocket? = nil, timeout: Double = 10,
               file: StaticString = #filePath, line: UInt = #line) throws -> JupyterMessage {
        guard let frames = try (socket ?? shell).receive(timeout: timeout) else {
            XCTFail("no reply to \(request.type) within \(timeout) s", file: file, line: line)
            throw KernelError("timeout")
        }
        let reply = try WireFormat.decode(frames, signer: signer)
        XCTAssertEqual(reply.parentHeader["msg_id"]?.text, request.id, "a reply names its request", file: file, line: line)
        return reply
    }

    /// iopub messages for `request`, through its `idle` status; fails after `timeout` seconds.
    func outputs(of request: JupyterMessage, timeout: Double = 20,
                 file: StaticString = #filePath, line: UInt = #line) throws -> [JupyterMessage] {
        var out: [JupyterMessage] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let frames = try iopub.receive(timeout: deadline.timeIntervalSinceNow) else { break }
            let message = try WireFormat.decode(frames, signer: signer)
            guard message.parentHeader["msg_id"]?.text == request.id else { continue }
            out.append(message)
            if message.type == "status", message.content["execution_state"]?.text == "idle" { return out }
        }
        XCTFail("no idle status for \(request.type) within \(timeout) s; got \(out.map(\.type))", file: file, line: line)
        return out
    }

    /// kernel_info until iopub is seen to be subscribed (ZeroMQ drops what a
    /// PUB socket sends before the subscription arrives). Returns the info reply.
    func handshake(file: StaticString = #filePath, line: UInt = #line) throws -> JupyterMessage {
        for _ in 0..<20 {
            let request = try send("kernel_info_request", .object([]))
            let reply = try self.reply(to: request, file: file, line: line)
            let deadline = Date().addingTimeInterval(0.5)
            while Date() < deadline, let frames = try iopub.receive(timeout: deadline.timeIntervalSinceNow) {
                let message = try WireFormat.decode(frames, signer: signer)
                if message.parentHeader["msg_id"]?.text == request.id, message.type == "status",
                   message.content["execution_state"]?.text == "idle" { return reply }
            }
        }
        XCTFail("iopub never delivered a status", file: file, line: line)
        throw KernelError("no iopub")
    }

    /// Runs a cell: its execute_reply and its iopub messages.
    func execute(_ code: String, silent: Bool = false, stopOnError: Bool = true, allowStdin: Bool = false, timeout: Double = 20,
                 file: StaticString = #filePath, line: UInt = #line) throws -> (reply: JupyterMessage, outputs: [JupyterMessage]) {
        let request = try send("execute_request", .object([("code", .string(code)), ("silent", .bool(silent)),
                                                          ("store_history", .bool(!silent)), ("user_expressions", .object([])),
                                                          ("allow_stdin", .bool(allowStdin)), ("stop_on_error", .bool(stopOnError))]))
        let reply = try self.reply(to: request, timeout: timeout, file: file, line: line)
        return (reply, try outputs(of: request, timeout: timeout, file: file, line: line))
    }
}
