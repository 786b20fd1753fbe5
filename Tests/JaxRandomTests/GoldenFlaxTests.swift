import Foundation
import XCTest
import TestSupport
@testable import JaxRandom

/// Flax-derived keys and init weights: golden/README.md's worked examples,
/// small_model.json (`flax_rng_check`, `train/stochastic_depth`, all small
/// init kernels in small_init_params.safetensors) and every random Tiny kernel
/// in tiny_model.json (sha256 of the whole tensor).
final class GoldenFlaxTests: XCTestCase {
    /// float32(0.02), the stddev of jax.nn.initializers.truncated_normal(0.02).
    let stddev002 = Float(bitPattern: 0x3CA3_D70A)

    /// The init a kernel gets: truncated_normal(-2, 2) times 0.02, or Flax
    /// Dense's lecun_normal for `Head/kernel`: sqrt(float32(1/fan_in)) / float32(0.8796...).
    func initKernel(_ paramsKey: PRNGKey, path: String, shape: [Int]) -> [Float] {
        let parts = path.split(separator: "/").map(String.init)
        XCTAssertEqual(parts.last, "kernel")
        let key = FlaxRNG.moduleKey(paramsKey, path: Array(parts.dropLast()), counter: 1)
        let z = Random.truncatedNormal(key, count: shape.reduce(1, *), lower: -2, upper: 2)
        var std = stddev002
        if path == "Head/kernel" {
            let fanIn = shape.dropLast().reduce(1, *)
            std = Float(1.0 / Double(fanIn)).squareRoot() / Float(bitPattern: 0x3F61_2F26)
        }
        return z.map { $0 * std }
    }

    func testWorkedExampleInitKey() throws {
        let small = try G.dict(Golden.json("small_model.json"))
        let check = try G.dict(small["flax_rng_check"])
        let initRecord = try G.dict(small["init"])
        let paramsKey = try G.key(initRecord["params_rng"])
        XCTAssertEqual(paramsKey, PRNGKey(1_832_780_943, 270_669_613))
        let path = ["ConvNeXtBackbone_0", "BottleneckConvNeXtBlock_01_01", "Conv_1"]
        // The SHA-1 input bytes are the names then \x01.
        let hexInput = (path.joined().utf8.map { String(format: "%02x", $0) } + ["01"]).joined()
        XCTAssertEqual(hexInput, check["example_sha1_input_bytes_hex"] as? String)
        let h = FlaxRNG.hash(path: path, counter: 1)
        XCTAssertEqual(h, try G.hex(check["example_fold_in_data_sha1_u32"]))
        XCTAssertEqual(h, 0xAB69_75BD)
        let key = FlaxRNG.moduleKey(paramsKey, path: path, counter: 1)
        XCTAssertEqual(key, try G.key(check["example_key_flax_fold_in_static"]))
        XCTAssertEqual(FlaxRNG.moduleKey(paramsKey, modulePath: path.joined(separator: "/"), counter: 1), key)
        let values = initKernel(paramsKey, path: "ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/Conv_1/kernel", shape: [16, 64])
        let want = try G.list(check["example_first8_flax"]).map { Float(try G.double($0)) }
        XCTAssertEqual(Array(values.prefix(8)), want)
    }

    func testCounterEncoding() {
        // Counter 0 adds no bytes, 256 adds two: different hashes, stable results.
        XCTAssertNotEqual(FlaxRNG.hash(path: ["Dense_0"], counter: 1), FlaxRNG.hash(path: ["Dense_0"], counter: 2))
        XCTAssertEqual(FlaxRNG.hash(path: ["A", "B"], counter: 1), FlaxRNG.hash(path: ["AB"], counter: 1),
                       "Flax concatenates names with no separator (flax_fix_rng_separator = False)")
        XCTAssertNotEqual(FlaxRNG.hash(path: ["A"], counter: 256), FlaxRNG.hash(path: ["A"], counter: 1))
    }

    func testStochasticDepthRecords() throws {
        let small = try G.dict(Golden.json("small_model.json"))
        let train = try G.dict(small["train"])
        let rngs = try G.dict(train["rngs"])
        let sdKey = try G.key(rngs["stochastic_depth"])
        XCTAssertEqual(sdKey, PRNGKey(3_887_732_801, 3_627_665_616))
        let records = try G.list(train["stochastic_depth"]).map { try G.dict($0) }
        var checked = 0
        for rec in records where (rec["has_module"] as? Bool) == true {
            let modulePath = try XCTUnwrap(rec["module_path"] as? String)
            let parts = modulePath.split(separator: "/").map(String.init)
            XCTAssertEqual(FlaxRNG.hash(path: parts, counter: 1), try G.hex(rec["fold_in_data_sha1_u32"]), modulePath)
            let key = FlaxRNG.moduleKey(sdKey, modulePath: modulePath, counter: 1)
            XCTAssertEqual(key, try G.key(rec["key"]), modulePath)
            let u = Random.uniform(key, count: 4)
            let uniform = try G.dict(rec["uniform"])
            XCTAssertEqual(u.map(\.bitPattern), try G.bits(uniform["bits"]), modulePath)
            let keepProb = Float(bitPattern: try G.hex(try G.dict(rec["keep_prob"])["bits"]))
            let kept = try G.list(rec["kept"]).map { try G.int($0) != 0 }
            XCTAssertEqual(u.map { $0 < keepProb }, kept, modulePath)
            checked += 1
        }
        XCTAssertEqual(checked, 4)
    }

    /// Head dropout (rate 0.25) on the train rngs: Flax `Dropout_0` draws
    /// `bernoulli(fold_in(dropout, sha1_u32("Dropout_0" \x01)), 0.75, [4, 64])`;
    /// small_alt.safetensors `head_dropout/mask_kept` holds the mask Flax used.
    func testHeadDropoutMask() throws {
        let small = try G.dict(Golden.json("small_model.json"))
        let dropout = try G.key(try G.dict(try G.dict(small["train"])["rngs"])["dropout"])
        let file = try MiniSafeTensors(url: try Golden.url("small_alt.safetensors"))
        let (shape, kept) = try file.int32("head_dropout/mask_kept")
        XCTAssertEqual(shape, [4, 64])
        let key = FlaxRNG.moduleKey(dropout, path: ["Dropout_0"], counter: 1)
        let mask = Random.bernoulli(key, count: 256, p: 1 - 0.25)
        XCTAssertEqual(mask, kept.map { $0 != 0 })
        XCTAssertEqual(mask.filter { !$0 }.count, 69)   // "head dropout at 0.25 drops 69 of 256 features"
    }

    /// Every random kernel of the small model, compared with
    /// small_init_params.safetensors bit for bit.
    func testSmallInitKernelsBitExact() throws {
        let small = try G.dict(Golden.json("small_model.json"))
        let paramsKey = try G.key(try G.dict(small["init"])["params_rng"])
        let file = try MiniSafeTensors(url: try Golden.url("small_init_params.safetensors"))
        var checked = 0
        for name in file.names where name.hasSuffix("/kernel") {
            let (shape, want) = try file.float32(name)
            let got = initKernel(paramsKey, path: name, shape: shape)
            assertBitsEqual(got, want, name)
            checked += 1
        }
        // Stem, 3 downsamples, 5 blocks x 3 kernels, Head.
        XCTAssertEqual(checked, 20)
    }

    /// Every random kernel of ConvNeXt-T (59 tensors, ~28.3M values), by sha256.
    func testTinyInitKernelsSHA256() throws {
        let tiny = try G.dict(Golden.json("tiny_model.json"))
        let paramsKey = try G.key(try G.dict(tiny["init"])["params_rng"])
        let spot = try G.dict(tiny["numpy_spot_check_bit_exact"])
        XCTAssertEqual(spot.count, 3)
        var checked = 0, spotChecked = 0
        for any in try G.list(tiny["params"]) {
            let p = try G.dict(any)
            let path = try XCTUnwrap(p["path"] as? String)
            guard path.hasSuffix("/kernel") else { continue }
            let shape = try G.list(p["shape"]).map { try G.int($0) }
            let values = initKernel(paramsKey, path: path, shape: shape)
            XCTAssertEqual(Array(values.prefix(8)).map(\.bitPattern), try G.bits(p["first8_bits"]), path)
            XCTAssertEqual(sha256F32LE(values), p["sha256_f32le"] as? String, path)
            checked += 1
            if spot[path] != nil { spotChecked += 1 }
        }
        XCTAssertEqual(checked, 59)
        XCTAssertEqual(spotChecked, 3)
    }
}

/// Bit-exact comparison that reports how many values differ and the first one,
/// instead of printing whole tensors.
func assertBitsEqual(_ got: [Float], _ want: [Float], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, name, file: file, line: line)
    let diff = zip(got, want).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
    if let first = diff.first {
        XCTFail("\(name): \(diff.count) of \(want.count) values differ; first at \(first.offset): "
                + "\(first.element.0) vs \(first.element.1)", file: file, line: line)
    }
}

/// Just enough of the safetensors format for the test: an 8-byte little-endian
/// header length, a JSON header of `name -> {dtype, shape, data_offsets}`, data.
struct MiniSafeTensors {
    let header: [String: Any]
    let data: Data
    let start: Int

    init(url: URL) throws {
        data = try Data(contentsOf: url)
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        header = try G.dict(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))))
        start = 8 + n
    }

    var names: [String] { header.keys.filter { $0 != "__metadata__" }.sorted() }

    func float32(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let (shape, words) = try raw32(name, dtype: "F32")
        return (shape, words.map { Float(bitPattern: $0) })
    }

    func int32(_ name: String) throws -> (shape: [Int], values: [Int32]) {
        let (shape, words) = try raw32(name, dtype: "I32")
        return (shape, words.map { Int32(bitPattern: $0) })
    }

    private func raw32(_ name: String, dtype: String) throws -> (shape: [Int], values: [UInt32]) {
        let entry = try G.dict(header[name])
        XCTAssertEqual(entry["dtype"] as? String, dtype)
        let shape = try G.list(entry["shape"]).map { try G.int($0) }
        let offsets = try G.list(entry["data_offsets"]).map { try G.int($0) }
        let bytes = data.subdata(in: (start + offsets[0])..<(start + offsets[1]))
        let values = bytes.withUnsafeBytes { raw in
            (0..<(bytes.count / 4)).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
        return (shape, values)
    }
}
