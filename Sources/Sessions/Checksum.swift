import Crypto
import Foundation

/// SHA-256 of file contents, as lowercase hex (the manifest's checksums).
enum Checksum {
    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }
}
