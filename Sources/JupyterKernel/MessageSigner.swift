import Crypto
import Foundation

/// Signs and checks Jupyter messages: HMAC-SHA256 over the header, parent
/// header, metadata and content frames, as lowercase hex. An empty key
/// switches signing off (the protocol's "no authentication").
public struct MessageSigner: Sendable {
    /// The key's bytes (SymmetricKey is not Sendable; one is made per message).
    private let key: [UInt8]?

    public init(key: String, scheme: String = "hmac-sha256") throws {
        if key.isEmpty {
            self.key = nil
            return
        }
        guard scheme == "hmac-sha256" else {
            throw KernelError("signature scheme '\(scheme)' is not supported; cnx signs with hmac-sha256")
        }
        self.key = Array(key.utf8)
    }

    /// The signature frame for these four JSON frames ("" without a key).
    public func signature(_ parts: [[UInt8]]) -> String {
        guard let key else { return "" }
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key))
        for part in parts { hmac.update(data: part) }
        return Data(hmac.finalize()).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `signature` signs these frames; compares every byte, whatever differs.
    public func verify(_ signature: [UInt8], _ parts: [[UInt8]]) -> Bool {
        guard key != nil else { return true }
        let expected = Array(self.signature(parts).utf8)
        guard expected.count == signature.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(expected, signature) { difference |= a ^ b }
        return difference == 0
    }
}
