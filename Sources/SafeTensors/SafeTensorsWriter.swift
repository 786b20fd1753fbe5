import Foundation
import JSON
import Tensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The contents of one tensor to write.
public enum SafeTensorsValue: Sendable, Equatable {
    case float32(Tensor)
    /// Written as BF16: each value rounded to bfloat16 (ties to even).
    case bfloat16(Tensor)
    case int32(shape: [Int], values: [Int32])
    case uint32(shape: [Int], values: [UInt32])

    var dtype: SafeTensorsDType {
        switch self {
        case .float32: return .f32
        case .bfloat16: return .bf16
        case .int32: return .i32
        case .uint32: return .u32
        }
    }

    var shape: [Int] {
        switch self {
        case .float32(let t), .bfloat16(let t): return t.shape
        case .int32(let s, _), .uint32(let s, _): return s
        }
    }

    var count: Int {
        switch self {
        case .float32(let t), .bfloat16(let t): return t.count
        case .int32(_, let v): return v.count
        case .uint32(_, let v): return v.count
        }
    }
}

extension SafeTensorsFile {
    /// Writes float32 tensors, in the given order, atomically to `url`.
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to url: URL) throws {
        try write(values: tensors.map { ($0.0, SafeTensorsValue.float32($0.1)) }, metadata: metadata, to: url)
    }

    /// Writes tensors of any writable dtype, in the given order, atomically to `url`.
    ///
    /// The data section holds the tensors in the given order; the header
    /// lists them in the same order after `__metadata__`, padded with spaces
    /// to a multiple of 8 bytes. The bytes go to a temporary file in the same
    /// directory, which is fsynced and then renamed over `url`, so a reader
    /// sees either the old file or the complete new one.
    public static func write(values: [(String, SafeTensorsValue)], metadata: [String: String] = [:], to url: URL) throws {
        let data = try encode(values, metadata: metadata, source: url.path)
        try AtomicFile.write(data, to: url)
    }

    /// The bytes of a safetensors file holding `values` in the given order.
    public static func encode(_ values: [(String, SafeTensorsValue)], metadata: [String: String] = [:],
                              source: String = "<memory>") throws -> Data {
        var seen = Set<String>()
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for (name, value) in values {
            guard !name.isEmpty else { throw SafeTensorsError(file: source, "cannot write a tensor with an empty name") }
            guard name != "__metadata__" else { throw SafeTensorsError(file: source, tensor: name, "this name is reserved for metadata") }
            guard seen.insert(name).inserted else { throw SafeTensorsError(file: source, tensor: name, "name given twice") }
            guard value.count == Tensor.count(of: value.shape) else {
                throw SafeTensorsError(file: source, tensor: name, "\(value.count) values do not fill shape \(value.shape)")
            }
            let size = value.count * value.dtype.size
            let shape = value.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonQuoted(name)):{\"dtype\":\"\(value.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        var out = Data(capacity: 8 + headerBytes.count + offset)
        var n = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for (_, value) in values {
            switch value {
            case .float32(let t):
                #if _endian(little)
                t.scalars.withUnsafeBytes { out.append(contentsOf: $0) }
                #else
                appendLittleEndian(t.scalars.map(\.bitPattern), to: &out)
                #endif
            case .bfloat16(let t):
                let halves = t.scalars.map { UInt16(truncatingIfNeeded: roundToBF16($0).bitPattern >> 16).littleEndian }
                halves.withUnsafeBytes { out.append(contentsOf: $0) }
            case .int32(_, let v):
                appendLittleEndian(v.map { UInt32(bitPattern: $0) }, to: &out)
            case .uint32(_, let v):
                appendLittleEndian(v, to: &out)
            }
        }
        return out
    }

    private static func appendLittleEndian(_ words: [UInt32], to out: inout Data) {
        let le = words.map(\.littleEndian)
        le.withUnsafeBytes { out.append(contentsOf: $0) }
    }
}
