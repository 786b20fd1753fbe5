import Crypto
import Foundation
import XCTest
import TestSupport
@testable import JaxRandom

/// Small readers for the golden JSON (numbers arrive as NSNumber).
enum G {
    static func dict(_ any: Any?, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try XCTUnwrap(any as? [String: Any], "expected a JSON object", file: file, line: line)
    }
    static func list(_ any: Any?, file: StaticString = #filePath, line: UInt = #line) throws -> [Any] {
        try XCTUnwrap(any as? [Any], "expected a JSON array", file: file, line: line)
    }
    static func int64(_ any: Any?) throws -> Int64 { try XCTUnwrap(any as? NSNumber, "expected a number").int64Value }
    static func int(_ any: Any?) throws -> Int { Int(try int64(any)) }
    static func u32(_ any: Any?) throws -> UInt32 { UInt32(truncatingIfNeeded: try int64(any)) }
    static func double(_ any: Any?) throws -> Double { try XCTUnwrap(any as? NSNumber, "expected a number").doubleValue }
    static func key(_ any: Any?) throws -> PRNGKey {
        let words = try list(any)
        XCTAssertEqual(words.count, 2)
        return PRNGKey(try u32(words[0]), try u32(words[1]))
    }
    static func keys(_ any: Any?) throws -> [PRNGKey] { try list(any).map { try key($0) } }
    static func hex(_ any: Any?) throws -> UInt32 {
        let s = try XCTUnwrap(any as? String, "expected a hex string")
        return try XCTUnwrap(UInt32(s.dropFirst(2), radix: 16), "bad hex \(s)")
    }
    static func bits(_ any: Any?) throws -> [UInt32] { try list(any).map { try hex($0) } }
    /// Element count of a JSON shape.
    static func count(_ shape: Any?) throws -> Int { try list(shape).map { try int($0) }.reduce(1, *) }
    /// The case list `name` of prng.json.
    static func prng(_ name: String) throws -> [[String: Any]] {
        let root = try dict(Golden.json("prng.json"))
        return try list(root[name]).map { try dict($0) }
    }
}

/// sha256 of the little-endian float32 bytes, as golden digests record it.
func sha256F32LE(_ values: [Float]) -> String {
    let le = values.map { $0.bitPattern.littleEndian }
    return le.withUnsafeBytes { SHA256.hash(data: $0) }.map { String(format: "%02x", $0) }.joined()
}
