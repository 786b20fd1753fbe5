import Foundation
import XCTest
import Tensors
import TestSupport
@testable import SafeTensors

final class SafeTensorsRoundTripTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testRoundTripKeepsValuesOrderShapesAndMetadata() throws {
        let a = Tensor(shape: [2, 3], scalars: [1, -2.5, .pi, -0.0, .greatestFiniteMagnitude, .leastNonzeroMagnitude])
        let b = Tensor(scalar: 42)
        let empty = Tensor.zeros([0, 4])
        let nan = Tensor(shape: [2], scalars: [.nan, -.infinity])
        let url = dir.appendingPathComponent("t.safetensors")
        // Names deliberately not sorted: the data must keep the given order.
        try SafeTensorsFile.write(values: [
            ("z/last", .float32(a)),
            ("a/first", .float32(b)),
            ("m/empty", .float32(empty)),
            ("ints", .int32(shape: [3], values: [-7, 0, .max])),
            ("uints", .uint32(shape: [1, 2], values: [0xDEADBEEF, 1])),
            ("nan", .float32(nan)),
        ], metadata: ["format": "pt", "note": "quote \" and \\ and\nnewline"], to: url)

        let f = try SafeTensorsFile.read(url)
        XCTAssertEqual(f.names, ["z/last", "a/first", "m/empty", "ints", "uints", "nan"])
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "quote \" and \\ and\nnewline"])
        XCTAssertEqual(try f.tensor("z/last").shape, [2, 3])
        XCTAssertEqual(try f.tensor("z/last").scalars.map(\.bitPattern), a.scalars.map(\.bitPattern))
        XCTAssertEqual(try f.tensor("a/first"), b)
        XCTAssertEqual(try f.tensor("m/empty").shape, [0, 4])
        XCTAssertEqual(try f.tensor("nan").scalars.map(\.bitPattern), nan.scalars.map(\.bitPattern))
        XCTAssertEqual(try f.int32s("ints").values, [-7, 0, .max])
        XCTAssertEqual(try f.uint32s("uints").shape, [1, 2])
        XCTAssertEqual(try f.uint32s("uints").values, [0xDEADBEEF, 1])
        XCTAssertEqual(f.entry("z/last")?.offsets, 0..<24)
        XCTAssertEqual(f.entry("a/first")?.offsets, 24..<28)

        // The header is padded to 8 bytes and the data follows in the given order.
        let raw = try Data(contentsOf: url)
        let n = raw.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(n % 8, 0)
        let bits = Float(42).bitPattern  // "a/first" is second in the data, after 24 bytes of "z/last"
        XCTAssertEqual(Array(raw[(8 + n + 24)..<(8 + n + 28)]), [0, 1, 2, 3].map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) })
    }

    /// BF16 tensors are written rounded to bfloat16 (2 bytes each) and read back as those values.
    func testBF16WritesRoundedHalves() throws {
        let t = Tensor(shape: [2, 2], scalars: [1e-6, 1 + 0x1p-8, -3.3, .infinity])
        let url = dir.appendingPathComponent("b.safetensors")
        try SafeTensorsFile.write(values: [("g", .bfloat16(t)), ("f", .float32(t))], to: url)
        let f = try SafeTensorsFile.read(url)
        XCTAssertEqual(try f.tensor("g"), t.roundedToBF16())
        XCTAssertEqual(try f.tensor("f"), t)
        let header = String(decoding: try Data(contentsOf: url).prefix(200), as: UTF8.self)
        XCTAssertTrue(header.contains(#""g":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}"#), header)
    }

    func testTreeAndWriteOverwriteAtomically() throws {
        let url = dir.appendingPathComponent("p.safetensors")
        try SafeTensorsFile.write([("grads/a", .ones([2])), ("grads/b", .zeros([1])), ("x", .ones([3]))], to: url)
        try SafeTensorsFile.write([("only", Tensor(shape: [1], scalars: [5]))], metadata: ["k": "v"], to: url)
        let f = try SafeTensorsFile.read(url)
        XCTAssertEqual(f.names, ["only"])
        XCTAssertEqual(try f.tensor("only").scalars, [5])
        // No temporary files remain beside the target.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["p.safetensors"])

        try SafeTensorsFile.write([("grads/a", .ones([2])), ("grads/b", .zeros([1])), ("x", .ones([3]))], to: url)
        let tree = try SafeTensorsFile.read(url).tree(prefix: "grads/")
        XCTAssertEqual(tree.paths, ["a", "b"])
        XCTAssertEqual(tree["a"], .ones([2]))
    }

    func testWriteRejectsBadInputAndLeavesTargetUntouched() throws {
        let url = dir.appendingPathComponent("w.safetensors")
        try SafeTensorsFile.write([("keep", .ones([1]))], to: url)
        XCTAssertThrowsError(try SafeTensorsFile.write([("a", .ones([1])), ("a", .ones([1]))], to: url)) {
            XCTAssertTrue("\($0)".contains("'a'"), "\($0)")
        }
        XCTAssertThrowsError(try SafeTensorsFile.write([("", .ones([1]))], to: url))
        XCTAssertThrowsError(try SafeTensorsFile.write([("__metadata__", .ones([1]))], to: url))
        XCTAssertThrowsError(try SafeTensorsFile.write(values: [("i", .int32(shape: [2], values: [1]))], to: url))
        // A missing folder is created; a path under a regular file cannot be.
        try SafeTensorsFile.write([("x", .ones([1]))], to: dir.appendingPathComponent("missing/x.safetensors"))
        XCTAssertEqual(try SafeTensorsFile.read(dir.appendingPathComponent("missing/x.safetensors")).names, ["x"])
        XCTAssertThrowsError(try SafeTensorsFile.write([("x", .ones([1]))], to: url.appendingPathComponent("x.safetensors"))) {
            XCTAssertTrue("\($0)".contains("w.safetensors/x.safetensors"), "\($0)")
        }
        XCTAssertEqual(try SafeTensorsFile.read(url).names, ["keep"])
    }

    func testReadsHalfAndBFloat16AsFloat() throws {
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000, smallest subnormal 0x0001 = 2^-24, 65504 = 0x7BFF, inf = 0x7C00.
        // BF16: 1.0 = 0x3F80, -3.0 = 0xC040, 0.15625 = 0x3E20.
        let f16: [UInt16] = [0x3C00, 0xC000, 0x0001, 0x7BFF, 0x7C00, 0x8000]
        let bf16: [UInt16] = [0x3F80, 0xC040, 0x3E20]
        var data: [UInt8] = []
        for h in f16 + bf16 { data += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        let header = #"{"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]}}"#
        let f = try SafeTensorsFile(data: rawFile(header, data), source: "half")
        XCTAssertEqual(try f.tensor("h").shape, [2, 3])
        XCTAssertEqual(try f.tensor("h").scalars, [1, -2, Float(sign: .plus, exponent: -24, significand: 1), 65504, .infinity, -0.0])
        XCTAssertEqual(try f.tensor("h").scalars[5].sign, .minus)
        XCTAssertEqual(try f.tensor("b").scalars, [1, -3, 0.15625])
        XCTAssertThrowsError(try f.int32s("h")) { XCTAssertTrue("\($0)".contains("expected I32"), "\($0)") }
        XCTAssertThrowsError(try f.tensor("nope")) { XCTAssertTrue("\($0)".contains("'nope'"), "\($0)") }
    }

    func testHalfConversionMatchesFloat16ForEveryPattern() {
        #if arch(x86_64) || arch(arm64)
        for bits in 0...UInt16.max {
            let ours = floatFromHalfBits(bits)
            let ref = Float(Float16(bitPattern: bits))
            if ref.isNaN { XCTAssertTrue(ours.isNaN); continue }
            XCTAssertEqual(ours.bitPattern, ref.bitPattern, "half 0x\(String(bits, radix: 16))")
        }
        #endif
    }

    func testReadsGoldenFiles() throws {
        let input = try SafeTensorsFile.read(try Golden.url("small_input.safetensors"))
        XCTAssertEqual(Set(input.names), ["x", "labels", "labels_onehot_smoothed", "labels_int"])
        XCTAssertEqual(input.metadata["generator"], "make_golden.py")
        let x = try input.tensor("x")
        XCTAssertEqual(x.shape, [4, 32, 32, 3])
        XCTAssertTrue(x.scalars.allSatisfy { $0 >= -1 && $0 < 1 })
        // Values checked independently with numpy.
        XCTAssertEqual(Array(x.scalars.prefix(3)), [0.27392337, -0.46042657, -0.918053])
        XCTAssertEqual(x.scalars.reduce(0.0) { $0 + Double($1) }, 10.656385730129841, accuracy: 1e-9)
        XCTAssertEqual(try input.int32s("labels_int").values, [6, 0, 9, 7])
        let labels = try input.tensor("labels")
        for b in 0..<4 {  // soft labels sum to 1 per sample
            XCTAssertEqual(labels.scalars[(b * 10)..<(b * 10 + 10)].reduce(0, +), 1, accuracy: 1e-5)
        }

        let params = try SafeTensorsFile.read(try Golden.url("small_init_params.safetensors"))
        XCTAssertEqual(params.names.count, 65)
        XCTAssertEqual(try params.tree().scalarCount, 114_346)

        let adam = try SafeTensorsFile.read(try Golden.url("optax_adamw.safetensors"))
        XCTAssertEqual(adam.names.count, 4 * 65)
        XCTAssertEqual(try adam.tree(prefix: "mu_step10/").count, 65)
    }
}

/// A safetensors file from a header string and data bytes.
func rawFile(_ header: String, _ data: [UInt8], headerLength: UInt64? = nil) -> Data {
    let h = Array(header.utf8)
    var n = (headerLength ?? UInt64(h.count)).littleEndian
    var out = Data()
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    out.append(contentsOf: h)
    out.append(contentsOf: data)
    return out
}

final class SafeTensorsLargeTests: XCTestCase {
    /// A 256k-float tensor round-trips exactly (exercises the bulk copy paths).
    func testLargeTensorRoundTrip() throws {
        let n = 1 << 18
        var scalars = [Float](repeating: 0, count: n)
        for i in 0..<n { scalars[i] = Float(bitPattern: UInt32(truncatingIfNeeded: i &* 2_654_435_761) & 0x7F7F_FFFF) }
        let t = Tensor(shape: [256, 1024], scalars: scalars)
        let data = try SafeTensorsFile.encode([("big", .float32(t)), ("tail", .int32(shape: [2], values: [1, -1]))])
        let f = try SafeTensorsFile(data: data)
        XCTAssertEqual(try f.tensor("big").scalars.map(\.bitPattern), scalars.map(\.bitPattern))
        XCTAssertEqual(try f.int32s("tail").values, [1, -1])
    }
}
