import CZeroMQ
import Foundation

/// A ZeroMQ failure, one line: what was being done and libzmq's reason.
public struct ZMQError: Error, CustomStringConvertible, Sendable {
    public let description: String

    static func last(_ what: String) -> ZMQError {
        ZMQError(description: "\(what): \(String(cString: zmq_strerror(zmq_errno())))")
    }
}

/// A libzmq context. Sockets keep their context alive; it is destroyed
/// after the last of them closes.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public init() throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("cannot create a ZeroMQ context") }
        self.handle = handle
    }

    deinit { zmq_ctx_term(handle) }
}

/// One ZeroMQ socket, used by one thread at a time (a socket handed to
/// another thread goes through a lock: libzmq needs a full memory barrier).
public final class ZMQSocket: @unchecked Sendable {
    /// The socket types the Jupyter channels use (and their test clients).
    public enum Kind: Sendable {
        case router, dealer, pub, sub, rep, req

        var raw: Int32 {
            switch self {
            case .router: return ZMQ_ROUTER
            case .dealer: return ZMQ_DEALER
            case .pub: return ZMQ_PUB
            case .sub: return ZMQ_SUB
            case .rep: return ZMQ_REP
            case .req: return ZMQ_REQ
            }
        }
    }

    let handle: UnsafeMutableRawPointer
    private let context: ZMQContext
    private var closed = false

    /// - Parameter lingerMilliseconds: how long `close` may wait to deliver queued messages.
    public init(_ context: ZMQContext, _ kind: Kind, lingerMilliseconds: Int32 = 1000) throws {
        guard let handle = zmq_socket(context.handle, kind.raw) else { throw ZMQError.last("cannot create a ZeroMQ socket") }
        self.handle = handle
        self.context = context
        try setOption(ZMQ_LINGER, lingerMilliseconds)
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    public func setOption(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("cannot set ZeroMQ socket option \(option)")
        }
    }

    public func setOption(_ option: Int32, bytes: [UInt8]) throws {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError.last("cannot set ZeroMQ socket option \(option)") }
    }

    /// Binds to an endpoint such as `tcp://127.0.0.1:5555`.
    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("cannot bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("cannot connect to \(endpoint)") }
    }

    /// Sends a multipart message (every frame but the last with SNDMORE).
    public func send(_ frames: [[UInt8]]) throws {
        for (i, frame) in frames.enumerated() {
            let flags = i == frames.count - 1 ? 0 : ZMQ_SNDMORE
            while true {
                let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if rc >= 0 { break }
                if zmq_errno() == EINTR { continue }
                throw ZMQError.last("cannot send a ZeroMQ message")
            }
        }
    }

    /// Receives one multipart message, waiting at most `timeout` seconds; nil when none came.
    public func receive(timeout: Double) throws -> [[UInt8]]? {
        guard try ZMQSocket.poll([self], timeout: timeout).first == true else { return nil }
        return try receive()
    }

    /// Receives one multipart message, blocking until it comes.
    public func receive() throws -> [[UInt8]] {
        var frames: [[UInt8]] = []
        while true {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            while zmq_msg_recv(&message, handle, 0) < 0 {
                if zmq_errno() != EINTR { throw ZMQError.last("cannot receive a ZeroMQ message") }
            }
            let size = zmq_msg_size(&message)
            if size > 0, let data = zmq_msg_data(&message) {
                frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            } else {
                frames.append([])
            }
            if zmq_msg_more(&message) == 0 { return frames }
        }
    }

    /// Which of `sockets` (then of `fileDescriptors`) have a message to read,
    /// waiting at most `timeout` seconds for the first.
    public static func poll(_ sockets: [ZMQSocket], fileDescriptors: [Int32] = [], timeout: Double) throws -> [Bool] {
        var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        items += fileDescriptors.map { zmq_pollitem_t(socket: nil, fd: $0, events: Int16(ZMQ_POLLIN), revents: 0) }
        let rc = zmq_poll(&items, Int32(items.count), Int(timeout * 1000))
        if rc < 0 {
            if zmq_errno() == EINTR { return Array(repeating: false, count: items.count) }
            throw ZMQError.last("cannot poll ZeroMQ sockets")
        }
        return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    }
}
