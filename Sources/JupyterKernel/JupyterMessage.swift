import Foundation
import JSON

/// One message of the Jupyter messaging protocol (5.3): routing identities,
/// the four JSON parts and any binary buffers.
public struct JupyterMessage: Sendable {
    public var identities: [[UInt8]]
    public var header: JSONValue
    public var parentHeader: JSONValue
    public var metadata: JSONValue
    public var content: JSONValue
    public var buffers: [[UInt8]] = []

    public init(identities: [[UInt8]] = [], header: JSONValue, parentHeader: JSONValue = .object([]),
                metadata: JSONValue = .object([]), content: JSONValue, buffers: [[UInt8]] = []) {
        self.identities = identities
        self.header = header
        self.parentHeader = parentHeader
        self.metadata = metadata
        self.content = content
        self.buffers = buffers
    }

    /// A new message of `type` in `session`, answering `parent` (whose
    /// identities it is routed back to) when given.
    public init(type: String, session: String, content: JSONValue, parent: JupyterMessage? = nil) {
        self.init(identities: parent?.identities ?? [], header: Self.header(type: type, session: session),
                  parentHeader: parent?.header ?? .object([]), content: content)
    }

    /// `msg_type` from the header.
    public var type: String { header["msg_type"]?.text ?? "" }
    /// `msg_id` from the header.
    public var id: String { header["msg_id"]?.text ?? "" }

    /// A fresh header: a new msg_id, the session, the time, protocol 5.3.
    public static func header(type: String, session: String) -> JSONValue {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let date = formatter.string(from: Date())
        return .object([("msg_id", .string(UUID().uuidString.lowercased())), ("session", .string(session)),
                        ("username", "cnx"), ("date", .string(date)), ("msg_type", .string(type)), ("version", "5.3")])
    }
}

/// The wire format: `identities…, <IDS|MSG>, signature, header, parent_header, metadata, content, buffers…`.
public enum WireFormat {
    public static let delimiter = Array("<IDS|MSG>".utf8)

    /// Why a received message was dropped (one line, for the log).
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case noDelimiter, tooShort, badSignature, badJSON(String)

        public var description: String {
            switch self {
            case .noDelimiter: return "no <IDS|MSG> delimiter"
            case .tooShort: return "fewer than the five frames after the delimiter"
            case .badSignature: return "bad HMAC signature"
            case .badJSON(let part): return "\(part) is not a JSON object"
            }
        }
    }

    /// The frames of `message`, signed.
    public static func encode(_ message: JupyterMessage, signer: MessageSigner) -> [[UInt8]] {
        let parts = [message.header, message.parentHeader, message.metadata, message.content].map { Array($0.jsonText.utf8) }
        return message.identities + [delimiter, Array(signer.signature(parts).utf8)] + parts + message.buffers
    }

    /// The message in `frames`, after checking its signature.
    public static func decode(_ frames: [[UInt8]], signer: MessageSigner) throws(Failure) -> JupyterMessage {
        guard let split = frames.firstIndex(of: delimiter) else { throw .noDelimiter }
        guard frames.count - split >= 6 else { throw .tooShort }
        let parts = Array(frames[(split + 2)..<(split + 6)])
        guard signer.verify(frames[split + 1], parts) else { throw .badSignature }
        var json: [JSONValue] = []
        for (name, part) in zip(["header", "parent_header", "metadata", "content"], parts) {
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(part)), case .object = value else {
                throw .badJSON(name)
            }
            json.append(value)
        }
        return JupyterMessage(identities: Array(frames[..<split]), header: json[0], parentHeader: json[1],
                              metadata: json[2], content: json[3], buffers: Array(frames[(split + 6)...]))
    }
}

extension JSONValue {
    /// The string, when this is one.
    public var text: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The integer, when this is one (a whole double counts).
    public var integer: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }
    /// The Boolean, when this is one.
    public var boolean: Bool? { if case .bool(let b) = self { return b } else { return nil } }
}
