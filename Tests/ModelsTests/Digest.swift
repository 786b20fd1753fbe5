import Crypto
import Tensors

/// The golden files' `sha256_f32le`: SHA-256 of the float32 values as
/// little-endian bytes (the in-memory layout on the little-endian hosts cnx runs on).
func sha256F32LE(_ t: Tensor) -> String {
    precondition(1.littleEndian == 1, "big-endian host")
    let digest = t.scalars.withUnsafeBytes { SHA256.hash(data: $0) }
    return digest.map { byte in
        let s = String(byte, radix: 16)
        return s.count == 1 ? "0" + s : s
    }.joined()
}
