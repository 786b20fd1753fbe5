import Foundation

/// A Jupyter connection file (written by the front end, named by `-f`): where
/// the five channels listen and the key that signs every message.
public struct ConnectionInfo: Codable, Sendable, Equatable {
    public var ip: String
    public var transport: String
    public var shellPort: Int
    public var iopubPort: Int
    public var stdinPort: Int
    public var controlPort: Int
    public var hbPort: Int
    /// The HMAC key (UTF-8 text); empty switches signing off.
    public var key: String
    /// `hmac-sha256` (the only scheme cnx speaks), or empty with an empty key.
    public var signatureScheme: String

    enum CodingKeys: String, CodingKey {
        case ip, transport, key
        case shellPort = "shell_port", iopubPort = "iopub_port", stdinPort = "stdin_port"
        case controlPort = "control_port", hbPort = "hb_port", signatureScheme = "signature_scheme"
    }

    public init(ip: String = "127.0.0.1", transport: String = "tcp", shellPort: Int, iopubPort: Int, stdinPort: Int,
                controlPort: Int, hbPort: Int, key: String, signatureScheme: String = "hmac-sha256") {
        self.ip = ip
        self.transport = transport
        self.shellPort = shellPort
        self.iopubPort = iopubPort
        self.stdinPort = stdinPort
        self.controlPort = controlPort
        self.hbPort = hbPort
        self.key = key
        self.signatureScheme = signatureScheme
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ip = try c.decodeIfPresent(String.self, forKey: .ip) ?? "127.0.0.1"
        transport = try c.decodeIfPresent(String.self, forKey: .transport) ?? "tcp"
        shellPort = try c.decode(Int.self, forKey: .shellPort)
        iopubPort = try c.decode(Int.self, forKey: .iopubPort)
        stdinPort = try c.decode(Int.self, forKey: .stdinPort)
        controlPort = try c.decode(Int.self, forKey: .controlPort)
        hbPort = try c.decode(Int.self, forKey: .hbPort)
        key = try c.decodeIfPresent(String.self, forKey: .key) ?? ""
        signatureScheme = try c.decodeIfPresent(String.self, forKey: .signatureScheme) ?? "hmac-sha256"
    }

    /// Reads and checks a connection file; errors are one line.
    public static func load(_ url: URL) throws -> ConnectionInfo {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw KernelError("cannot read the connection file \(url.path): \(error.localizedDescription)")
        }
        let info: ConnectionInfo
        do { info = try JSONDecoder().decode(ConnectionInfo.self, from: data) } catch let DecodingError.keyNotFound(key, _) {
            throw KernelError("connection file \(url.path) has no \"\(key.stringValue)\"; Jupyter writes it, pass the file it names")
        } catch {
            throw KernelError("connection file \(url.path) is not a Jupyter connection file (JSON with ip, ports, key, signature_scheme)")
        }
        guard info.transport == "tcp" || info.transport == "ipc" else {
            throw KernelError("connection file \(url.path): transport '\(info.transport)' is not supported; use tcp or ipc")
        }
        _ = try MessageSigner(key: info.key, scheme: info.signatureScheme)
        return info
    }

    /// The ZeroMQ endpoint of a channel's port.
    public func endpoint(_ port: Int) -> String {
        transport == "ipc" ? "ipc://\(ip)-\(port)" : "tcp://\(ip):\(port)"
    }
}

/// A kernel failure the user can act on; its description is one line.
public struct KernelError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
