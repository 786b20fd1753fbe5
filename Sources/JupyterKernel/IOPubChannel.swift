import Foundation
import JSON

/// The iopub PUB socket, shared by the shell and control threads (a lock
/// gives libzmq the memory barrier it needs between them).
final class IOPubChannel: @unchecked Sendable {
    private let socket: ZMQSocket
    private let signer: MessageSigner
    private let session: String
    private let lock = NSLock()
    private let log: @Sendable (String) -> Void

    init(socket: ZMQSocket, signer: MessageSigner, session: String, log: @escaping @Sendable (String) -> Void) {
        self.socket = socket
        self.signer = signer
        self.session = session
        self.log = log
    }

    /// Publishes a `type` message with `content`, its parent the request being handled.
    func publish(_ type: String, _ content: JSONValue, parent: JupyterMessage?) {
        var message = JupyterMessage(type: type, session: session, content: content, parent: parent)
        // Subscribers filter on the topic frame: `kernel.<id>.<type>` as IPython sends.
        message.identities = [Array("kernel.\(session).\(type)".utf8)]
        let frames = WireFormat.encode(message, signer: signer)
        lock.withLock {
            do { try socket.send(frames) } catch { log("cnx kernel: \(error)") }
        }
    }

    func status(_ state: String, parent: JupyterMessage?) {
        publish("status", .object([("execution_state", .string(state))]), parent: parent)
    }

    func close() { lock.withLock { socket.close() } }
}
