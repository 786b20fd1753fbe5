import Foundation

/// The heartbeat channel: a REP socket echoing every message back, on its
/// own thread, so a front end sees the kernel alive while a job computes.
final class Heartbeat: @unchecked Sendable {
    private let socket: ZMQSocket
    private let log: @Sendable (String) -> Void

    init(socket: ZMQSocket, log: @escaping @Sendable (String) -> Void) {
        self.socket = socket
        self.log = log
    }

    /// Echoes until `shouldStop`, then closes the socket.
    func run(until shouldStop: () -> Bool) {
        defer { socket.close() }
        while !shouldStop() {
            do {
                if let frames = try socket.receive(timeout: 0.1) { try socket.send(frames) }
            } catch {
                log("cnx kernel: heartbeat: \(error)")
                return
            }
        }
    }
}
