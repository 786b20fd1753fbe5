import Foundation
import XCTest
import Tensors
import JaxRandom
import SafeTensors
@testable import Models
import TestSupport

/// Helpers for reading the golden files and comparing tensors.
enum G {
    /// All float32 tensors of a golden safetensors file by name.
    static func tensors(_ file: String) throws -> [String: Tensor] {
        let f = try SafeTensorsFile.read(try Golden.url(file))
        var out: [String: Tensor] = [:]
        for name in f.names {
            if let t = try? f.tensor(name) { out[name] = t }
        }
        return out
    }

    static func int32s(_ file: String, _ name: String) throws -> (shape: [Int], values: [Int32]) {
        try SafeTensorsFile.read(try Golden.url(file)).int32s(name)
    }

    static func object(_ file: String) throws -> [String: Any] {
        try Golden.json(file) as! [String: Any]
    }

    /// A `{"value":..., "bits": "0x..."}` record as a Float from its bits.
    static func float(_ record: Any?) -> Float {
        let r = record as! [String: Any]
        let bits = r["bits"] as! String
        return Float(bitPattern: UInt32(bits.dropFirst(2), radix: 16)!)
    }

    /// A list of float64 numbers `"key": [ ... ]` read from the JSON text
    /// (after `anchor`, if given) and parsed with `Double(String)`, which is
    /// correctly rounded; JSONSerialization on Linux can be off by an ulp.
    static func doubles(inJSON file: String, after anchor: String?, key: String) throws -> [Double] {
        let text = try String(contentsOf: try Golden.url(file), encoding: .utf8)
        var rest = Substring(text)
        if let anchor, let r = rest.range(of: anchor) { rest = rest[r.upperBound...] }
        guard let k = rest.range(of: "\"\(key)\": ["), let end = rest[k.upperBound...].firstIndex(of: "]") else {
            throw XCTSkip("no list \(key) in \(file)")
        }
        return rest[k.upperBound..<end].split(separator: ",").map {
            Double($0.trimmingCharacters(in: .whitespacesAndNewlines))!
        }
    }

    static func key(_ any: Any?) -> PRNGKey {
        let a = any as! [Any]
        return PRNGKey(UInt32(truncating: a[0] as! NSNumber), UInt32(truncating: a[1] as! NSNumber))
    }

    /// The small dev model's config from `small_model.json`.
    static func smallConfig(dropPath: Double? = nil, headDropout: Double = 0, imageSize: Int = 32) throws -> ConvNeXtConfig {
        let j = try object("small_model.json")
        let c = j["config"] as! [String: Any]
        return ConvNeXtConfig(depths: c["stage_sizes"] as! [Int], dims: c["num_filters"] as! [Int],
                              classes: c["num_classes"] as! Int, imageSize: imageSize,
                              dropPathRate: dropPath ?? (c["init_stochastic_depth_rate"] as! Double),
                              headDropout: headDropout)
    }

    /// Params stored under `prefix` + path in a golden file, as a tree in the model's order.
    static func params(_ model: ConvNeXt, file: String, prefix: String = "") throws -> TensorTree {
        let all = try tensors(file)
        var tree = TensorTree()
        for spec in model.parameterSpecs() {
            guard let t = all[prefix + spec.path] else { XCTFail("golden \(file) lacks \(prefix + spec.path)"); continue }
            tree[spec.path] = t
        }
        return tree
    }

    static func maxAbs(_ t: Tensor) -> Float { t.scalars.reduce(0) { max($0, abs($1)) } }

    static func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "shape \(a.shape) vs \(b.shape)")
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a.scalars[i] - b.scalars[i])) }
        return m
    }

    /// Absolute comparison.
    static func assertClose(_ a: Tensor, _ b: Tensor, atol: Float, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
        guard a.shape == b.shape else { return }
        let d = maxAbsDiff(a, b)
        XCTAssertLessThanOrEqual(d, atol, "\(what): max |a-b| = \(d)", file: file, line: line)
    }

    /// The golden README's per-tensor gradient criterion: |a-b| <= rtol * max|b| + 1e-9.
    /// Returns the worst ratio |a-b| / (max|b|) seen.
    @discardableResult
    static func assertGradsClose(_ got: TensorTree, _ want: [String: Tensor], prefix: String, rtol: Float = 1e-5,
                                 file: StaticString = #filePath, line: UInt = #line) -> Float {
        var worst: Float = 0
        XCTAssertEqual(got.count, want.keys.filter { $0.hasPrefix(prefix) }.count, "gradient count", file: file, line: line)
        for (path, g) in got {
            guard let w = want[prefix + path] else { XCTFail("no golden \(prefix + path)", file: file, line: line); continue }
            XCTAssertEqual(g.shape, w.shape, path, file: file, line: line)
            guard g.shape == w.shape else { continue }
            let scale = maxAbs(w)
            let d = maxAbsDiff(g, w)
            XCTAssertLessThanOrEqual(d, rtol * scale + 1e-9, "grad \(path): max|a-b| \(d) vs max|b| \(scale)", file: file, line: line)
            if scale > 0 { worst = max(worst, d / scale) }
        }
        return worst
    }

    /// Distance in units in the last place between two floats of the same sign.
    static func ulps(_ a: Float, _ b: Float) -> Int {
        if a == b { return 0 }
        func ordered(_ x: Float) -> Int64 {
            let bits = Int64(Int32(bitPattern: x.bitPattern))
            return bits < 0 ? Int64(Int32.min) - bits : bits
        }
        return Int(abs(ordered(a) - ordered(b)))
    }
}
