import Foundation
import XCTest
@testable import SafeTensors

/// Every malformed header is refused before any data is read, with one line
/// naming the file (and the tensor when there is one).
final class SafeTensorsCorruptHeaderTests: XCTestCase {
    private let eight: [UInt8] = Array(repeating: 0, count: 8)

    /// Asserts that parsing fails and the message names the file, the tensor
    /// (if given) and contains `fragment`.
    private func assertRejected(_ data: Data, tensor: String? = nil, _ fragment: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(data: data, source: "bad.safetensors"), file: file, line: line) { error in
            guard let e = error as? SafeTensorsError else { return XCTFail("wrong error type \(error)", file: file, line: line) }
            let text = e.description
            XCTAssertFalse(text.contains("\n"), "message is not one line: \(text)", file: file, line: line)
            XCTAssertTrue(text.hasPrefix("bad.safetensors: "), text, file: file, line: line)
            XCTAssertEqual(e.tensor, tensor, text, file: file, line: line)
            if let tensor { XCTAssertTrue(text.contains("'\(tensor)'"), text, file: file, line: line) }
            XCTAssertTrue(text.contains(fragment), "expected '\(fragment)' in: \(text)", file: file, line: line)
        }
    }

    private func hdr(_ name: String, _ dtype: String = "F32", _ shape: String = "[2]", offsets: String) -> String {
        #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
    }

    func testValidBaselineParses() throws {
        let f = try SafeTensorsFile(data: rawFile("{\(hdr("a", offsets: "[0,8]")),\(hdr("b", offsets: "[8,16]"))}  ", Array(repeating: 0, count: 16)))
        XCTAssertEqual(f.names, ["a", "b"])
    }

    func testFileShorterThanLengthField() {
        assertRejected(Data([1, 2, 3]), "shorter than the 8-byte header length")
    }

    func testAbsurdHeaderLength() {
        assertRejected(rawFile("{}", [], headerLength: 1 << 40), "absurd")
        assertRejected(rawFile("{}", [], headerLength: UInt64.max), "absurd")
    }

    func testHeaderLengthPastEndOfFile() {
        assertRejected(rawFile("{}", [], headerLength: 100), "runs past the end of the file")
    }

    func testHeaderTooSmall() {
        assertRejected(rawFile("", [], headerLength: 0), "too small")
    }

    func testNotJSON() {
        assertRejected(rawFile("{\"a\":", []), "not valid JSON")
        assertRejected(rawFile("{\"a\" 1}", []), "not valid JSON")
        assertRejected(rawFile("{} trailing", []), "not valid JSON")
        assertRejected(rawFile("{\"a\":01}", []), "not valid JSON")
        assertRejected(Data([2, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFE]), "not valid UTF-8")
    }

    func testHeaderNotAnObject() {
        assertRejected(rawFile("[1,2]", []), "not a JSON object")
    }

    func testEntryNotAnObject() {
        assertRejected(rawFile(#"{"a":[0,8]}"#, eight), tensor: "a", "not an object")
    }

    func testMissingFields() {
        assertRejected(rawFile(#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, eight), tensor: "a", "missing field 'dtype'")
        assertRejected(rawFile(#"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#, eight), tensor: "a", "missing field 'shape'")
        assertRejected(rawFile(#"{"a":{"dtype":"F32","shape":[2]}}"#, eight), tensor: "a", "missing field 'data_offsets'")
    }

    func testUnknownAndRepeatedFields() {
        assertRejected(rawFile(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}"#, eight), tensor: "a", "unknown field 'extra'")
        assertRejected(rawFile(#"{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, eight), tensor: "a", "'dtype' appears twice")
    }

    func testUnknownDType() {
        assertRejected(rawFile("{\(hdr("a", "F31", offsets: "[0,8]"))}", eight), tensor: "a", "unknown dtype 'F31'")
        assertRejected(rawFile(#"{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}"#, eight), tensor: "a", "not a string")
    }

    func testBadShape() {
        assertRejected(rawFile("{\(hdr("a", "F32", "[-2]", offsets: "[0,8]"))}", eight), tensor: "a", "non-negative integer")
        assertRejected(rawFile("{\(hdr("a", "F32", "[2.5]", offsets: "[0,8]"))}", eight), tensor: "a", "non-negative integer")
        assertRejected(rawFile("{\(hdr("a", "F32", "2", offsets: "[0,8]"))}", eight), tensor: "a", "not an array")
        assertRejected(rawFile("{\(hdr("a", "F32", "[4294967296,4294967296,4294967296]", offsets: "[0,8]"))}", eight), tensor: "a", "too many")
    }

    func testBadOffsets() {
        assertRejected(rawFile("{\(hdr("a", offsets: "[0]"))}", eight), tensor: "a", "two integers")
        assertRejected(rawFile("{\(hdr("a", offsets: "[8,0]"))}", eight), tensor: "a", "not an increasing pair")
        assertRejected(rawFile("{\(hdr("a", offsets: "[-8,0]"))}", eight), tensor: "a", "not an increasing pair")
    }

    func testOffsetsOutOfRange() {
        assertRejected(rawFile("{\(hdr("a", offsets: "[0,8]"))}", [0, 0, 0, 0]), tensor: "a", "run past the data section")
        assertRejected(rawFile("{\(hdr("a", offsets: "[0,99999999999999999999]"))}", eight), tensor: "a", "two integers")
    }

    func testByteCountDoesNotMatchShape() {
        assertRejected(rawFile("{\(hdr("a", "F32", "[3]", offsets: "[0,8]"))}", eight), tensor: "a", "needs 12 bytes")
        assertRejected(rawFile("{\(hdr("a", "BF16", "[2]", offsets: "[0,8]"))}", eight), tensor: "a", "needs 4 bytes")
    }

    func testOverlappingRanges() {
        let h = "{\(hdr("a", offsets: "[0,8]")),\(hdr("b", offsets: "[4,12]"))}"
        assertRejected(rawFile(h, Array(repeating: 0, count: 12)), tensor: "b", "overlap")
        let same = "{\(hdr("a", offsets: "[0,8]")),\(hdr("b", offsets: "[0,8]"))}"
        assertRejected(rawFile(same, eight), tensor: "b", "overlap")
    }

    func testGapBetweenRanges() {
        let h = "{\(hdr("a", offsets: "[0,8]")),\(hdr("b", offsets: "[12,20]"))}"
        assertRejected(rawFile(h, Array(repeating: 0, count: 20)), tensor: "b", "gap")
        assertRejected(rawFile("{\(hdr("a", offsets: "[4,12]"))}", Array(repeating: 0, count: 12)), tensor: "a", "gap")
    }

    func testTrailingBytes() {
        assertRejected(rawFile("{\(hdr("a", offsets: "[0,8]"))}", Array(repeating: 0, count: 12)), "trailing or missing")
    }

    func testDuplicateNames() {
        let h = "{\(hdr("a", offsets: "[0,8]")),\(hdr("a", offsets: "[8,16]"))}"
        assertRejected(rawFile(h, Array(repeating: 0, count: 16)), tensor: "a", "appears twice")
    }

    func testBadMetadata() {
        assertRejected(rawFile(#"{"__metadata__":{"k":1}}"#, []), "not a string")
        assertRejected(rawFile(#"{"__metadata__":"x"}"#, []), "not a map")
        assertRejected(rawFile(#"{"__metadata__":{},"__metadata__":{}}"#, []), "twice")
    }

    func testEmptyName() {
        assertRejected(rawFile("{\(hdr("", offsets: "[0,8]"))}", eight), "empty name")
    }

    func testUnreadableFileNamesPath() {
        XCTAssertThrowsError(try SafeTensorsFile.read(URL(fileURLWithPath: "/nonexistent/cnx.safetensors"))) {
            XCTAssertTrue("\($0)".hasPrefix("/nonexistent/cnx.safetensors: "), "\($0)")
        }
    }

    func testJSONReaderEscapesAndUnicode() throws {
        let v = try JSONReader.parse(Array(#"{"a\u00e9\ud83d\ude00\n":[true,false,null,-1.5e3,0]}"#.utf8))
        XCTAssertEqual(v, .object([("aé😀\n", .array([.bool(true), .bool(false), .null, .number(-1500), .integer(0)]))]))
        XCTAssertThrowsError(try JSONReader.parse(Array(#""\ud83d""#.utf8)))
        XCTAssertThrowsError(try JSONReader.parse(Array(String(repeating: "[", count: 100).utf8)))
        // Names with quotes and control characters survive a write and a read.
        let name = "we\"ird\\name\u{01}é"
        let data = try SafeTensorsFile.encode([(name, .float32(.ones([1])))])
        XCTAssertEqual(try SafeTensorsFile(data: data).names, [name])
    }
}
