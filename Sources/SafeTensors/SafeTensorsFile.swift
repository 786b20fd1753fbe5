import Foundation
import Tensors

/// A Hugging Face safetensors file, read and validated.
///
/// Layout (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length `N`, `N` bytes of a JSON object mapping each
/// tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets
/// relative to the byte after the header) plus an optional `"__metadata__"`
/// map of strings, then the tensor bytes, little-endian, C order.
///
/// `read` checks the whole header before any tensor is touched: the header
/// size, the JSON, every field, the dtypes, that each byte range has exactly
/// `product(shape) * dtype size` bytes, and that the ranges tile the data
/// section from its first to its last byte with no gap and no overlap.
public struct SafeTensorsFile: Sendable {
    /// One tensor's header entry.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var dtype: SafeTensorsDType
        public var shape: [Int]
        /// Byte range within the data section (after the header).
        public var offsets: Range<Int>
    }

    /// Headers larger than this are refused (the reference implementation's limit).
    public static let maxHeaderSize = 100_000_000

    /// Where the file came from (a path or a label), used in error messages.
    public let source: String
    /// Tensor names in data order (the order the tensors lie in the file).
    public let names: [String]
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    private let entriesByName: [String: Entry]
    private let bytes: Data        // the whole file
    private let dataStart: Int     // 8 + N

    /// Reads and validates the file at `url`.
    public static func read(_ url: URL) throws -> SafeTensorsFile {
        let data: Data
        do { try FileCheck.readable(url.path) } catch { throw SafeTensorsError(file: url.path, "cannot read it: \(error.reason)") }
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError(file: url.path, "cannot read the file (\(error.localizedDescription))")
        }
        return try SafeTensorsFile(data: data, source: url.path)
    }

    /// Validates `data` as a safetensors file; `source` names it in errors.
    public init(data: Data, source: String = "<memory>") throws {
        func fail(_ tensor: String?, _ message: String) -> SafeTensorsError {
            SafeTensorsError(file: source, tensor: tensor, message)
        }
        func bad(_ message: String) -> SafeTensorsError { fail(nil, message) }
        self.source = source
        self.bytes = data
        let total = data.count
        guard total >= 8 else { throw bad("not a safetensors file: \(total) bytes, shorter than the 8-byte header length") }
        var n64: UInt64 = 0
        for k in 0..<8 { n64 |= UInt64(data[data.startIndex + k]) << (8 * UInt64(k)) }
        guard n64 <= UInt64(SafeTensorsFile.maxHeaderSize) else {
            throw bad("header length \(n64) is absurd (limit \(SafeTensorsFile.maxHeaderSize) bytes): not a safetensors file or corrupt")
        }
        let n = Int(n64)
        guard n >= 2 else { throw bad("header length \(n) is too small for a JSON object") }
        guard 8 + n <= total else {
            throw bad("header length \(n) runs past the end of the file (\(total) bytes): file truncated or corrupt")
        }
        let headerBytes = [UInt8](data[(data.startIndex + 8)..<(data.startIndex + 8 + n)])
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw bad("header is not valid UTF-8") }
        let json: JSONValue
        do { json = try JSONReader.parse(headerBytes) } catch let e as JSONSyntaxError {
            throw bad("header is not valid JSON (\(e.message) at byte \(e.offset))")
        }
        guard case .object(let members) = json else { throw bad("header is \(json.kind), not a JSON object") }

        let dataSize = total - 8 - n
        var metadata: [String: String] = [:]
        var sawMetadata = false
        var entries: [Entry] = []
        var seen = Set<String>()
        for (name, value) in members {
            if name == "__metadata__" {
                guard !sawMetadata else { throw bad("'__metadata__' appears twice in the header") }
                sawMetadata = true
                guard case .object(let pairs) = value else { throw bad("'__metadata__' is \(value.kind), not a map of strings") }
                for (k, v) in pairs {
                    guard case .string(let s) = v else { throw bad("'__metadata__' entry '\(k)' is \(v.kind), not a string") }
                    guard metadata[k] == nil else { throw bad("'__metadata__' entry '\(k)' appears twice") }
                    metadata[k] = s
                }
                continue
            }
            guard !name.isEmpty else { throw bad("a tensor has an empty name") }
            guard seen.insert(name).inserted else { throw fail(name, "name appears twice in the header") }
            entries.append(try SafeTensorsFile.entry(name: name, value: value, dataSize: dataSize, fail: fail))
        }

        // The ranges must tile [0, dataSize) exactly: sorted by start, each
        // begins where the previous ended, and the last ends at the file's end.
        entries.sort { ($0.offsets.lowerBound, $0.offsets.upperBound) < ($1.offsets.lowerBound, $1.offsets.upperBound) }
        var cursor = 0
        for e in entries {
            if e.offsets.lowerBound < cursor {
                throw fail(e.name, "data_offsets [\(e.offsets.lowerBound), \(e.offsets.upperBound)] overlap the previous tensor (which ends at \(cursor))")
            }
            if e.offsets.lowerBound > cursor {
                throw fail(e.name, "data_offsets start at \(e.offsets.lowerBound), leaving a gap after byte \(cursor)")
            }
            cursor = e.offsets.upperBound
        }
        guard cursor == dataSize else {
            throw bad("tensors cover \(cursor) data bytes but the file holds \(dataSize) after the header: trailing or missing bytes")
        }
        self.names = entries.map(\.name)
        self.metadata = metadata
        self.entriesByName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        self.dataStart = 8 + n
    }

    private static func entry(name: String, value: JSONValue, dataSize: Int,
                              fail: (String?, String) -> SafeTensorsError) throws -> Entry {
        guard case .object(let fields) = value else { throw fail(name, "header entry is \(value.kind), not an object") }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for (k, v) in fields {
            switch k {
            case "dtype": guard dtypeValue == nil else { throw fail(name, "field 'dtype' appears twice") }; dtypeValue = v
            case "shape": guard shapeValue == nil else { throw fail(name, "field 'shape' appears twice") }; shapeValue = v
            case "data_offsets": guard offsetsValue == nil else { throw fail(name, "field 'data_offsets' appears twice") }; offsetsValue = v
            default: throw fail(name, "unknown field '\(k)' (expected dtype, shape, data_offsets)")
            }
        }
        guard let dtypeValue else { throw fail(name, "missing field 'dtype'") }
        guard let shapeValue else { throw fail(name, "missing field 'shape'") }
        guard let offsetsValue else { throw fail(name, "missing field 'data_offsets'") }
        guard case .string(let dtypeName) = dtypeValue else { throw fail(name, "'dtype' is \(dtypeValue.kind), not a string") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw fail(name, "unknown dtype '\(dtypeName)' (known: \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard case .array(let dims) = shapeValue else { throw fail(name, "'shape' is \(shapeValue.kind), not an array") }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard case .integer(let v) = d, v >= 0 else { throw fail(name, "'shape' has an entry that is not a non-negative integer") }
            shape.append(v)
            let (p, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow else { throw fail(name, "shape \(shape) has too many elements") }
            count = p
        }
        guard case .array(let offs) = offsetsValue, offs.count == 2,
              case .integer(let begin) = offs[0], case .integer(let end) = offs[1] else {
            throw fail(name, "'data_offsets' must be an array of two integers [begin, end]")
        }
        guard begin >= 0, begin <= end else { throw fail(name, "data_offsets [\(begin), \(end)] are not an increasing pair of non-negative integers") }
        guard end <= dataSize else {
            throw fail(name, "data_offsets [\(begin), \(end)] run past the data section (\(dataSize) bytes): file truncated or corrupt")
        }
        let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytesNeeded == end - begin else {
            throw fail(name, "shape \(shape) of \(dtype.rawValue) needs \(overflow ? "too many" : String(bytesNeeded)) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, offsets: begin..<end)
    }

    /// The header entry of `name`, if the file has it.
    public func entry(_ name: String) -> Entry? { entriesByName[name] }

    /// Whether the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { entriesByName[name] != nil }

    private func lookup(_ name: String) throws -> Entry {
        guard let e = entriesByName[name] else {
            throw SafeTensorsError(file: source, tensor: name, "no such tensor in the file (it holds \(names.count))")
        }
        return e
    }

    /// Calls `body` with the tensor's raw little-endian bytes.
    private func withBytes<R>(_ e: Entry, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { raw in
            body(UnsafeRawBufferPointer(rebasing: raw[(dataStart + e.offsets.lowerBound)..<(dataStart + e.offsets.upperBound)]))
        }
    }

    /// The tensor `name` as float32; F32, F16 and BF16 are accepted.
    public func tensor(_ name: String) throws -> Tensor {
        let e = try lookup(name)
        let count = Tensor.count(of: e.shape)
        var out = [Float](repeating: 0, count: count)
        switch e.dtype {
        case .f32:
            withBytes(e) { src in out.withUnsafeMutableBufferPointer { dst in
                #if _endian(little)
                UnsafeMutableRawBufferPointer(dst).copyMemory(from: src)   // the file's bytes are the floats
                #else
                for i in 0..<count { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                #endif
            } }
        case .f16:
            withBytes(e) { src in out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<count { dst[i] = floatFromHalfBits(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            } }
        case .bf16:
            // bfloat16 is the top half of a float32.
            withBytes(e) { src in out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<count { dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            } }
        default:
            throw SafeTensorsError(file: source, tensor: name, "dtype \(e.dtype.rawValue) cannot be read as float (F32, F16 and BF16 can)")
        }
        return Tensor(shape: e.shape, scalars: out)
    }

    /// The I32 tensor `name`.
    public func int32s(_ name: String) throws -> (shape: [Int], values: [Int32]) {
        let e = try lookup(name)
        guard e.dtype == .i32 else {
            throw SafeTensorsError(file: source, tensor: name, "dtype is \(e.dtype.rawValue), expected I32")
        }
        let count = Tensor.count(of: e.shape)
        let values = withBytes(e) { src in
            (0..<count).map { Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        }
        return (e.shape, values)
    }

    /// The U32 tensor `name`.
    public func uint32s(_ name: String) throws -> (shape: [Int], values: [UInt32]) {
        let e = try lookup(name)
        guard e.dtype == .u32 else {
            throw SafeTensorsError(file: source, tensor: name, "dtype is \(e.dtype.rawValue), expected U32")
        }
        let count = Tensor.count(of: e.shape)
        let values = withBytes(e) { src in
            (0..<count).map { UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
        return (e.shape, values)
    }

    /// Every float tensor whose name starts with `prefix`, keyed by the rest
    /// of the name, in file order (e.g. `tree(prefix: "grads/")`).
    public func tree(prefix: String = "") throws -> TensorTree {
        var tree = TensorTree()
        for name in names where name.hasPrefix(prefix) {
            tree[String(name.dropFirst(prefix.count))] = try tensor(name)
        }
        return tree
    }
}

/// IEEE half (binary16) bits to float32, exactly (subnormals, inf, NaN included).
@inline(__always)
func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let mant = UInt32(h) & 0x3FF
    if exp == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }   // inf / NaN
    if exp == 0 {
        // Zero or subnormal: mant * 2^-24, exact in float32.
        let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))  // rebias 15 -> 127
}
