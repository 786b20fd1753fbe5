import Foundation
import JSON
import XCTest

/// JSONValue: ordered objects, float32 printed shortest, non-finite numbers as
/// strings, control characters escaped; Codable round trip.
final class JSONValueTests: XCTestCase {
    func testTextKeepsKeyOrderAndEscapes() {
        let value: JSONValue = .object([("z", 1), ("a", .array([.float(0.1), .double(2.5), .null, true])),
                                        ("text", .string("a \"b\"\n\u{1}"))])
        XCTAssertEqual(value.jsonText, #"{"z":1,"a":[0.1,2.5,null,true],"text":"a \"b\"\n\u0001"}"#)
        XCTAssertEqual(JSONValue.float(.nan).jsonText, #""NaN""#)
        XCTAssertEqual(JSONValue.double(-.infinity).jsonText, #""-Infinity""#)
        XCTAssertEqual(jsonQuoted("tab\there\\"), #""tab\there\\""#)
    }

    func testCodableRoundTrip() throws {
        let value: JSONValue = .object([("a", .array([1, "two", .double(3.5), false, .null])), ("b", .object([("c", "d")]))])
        let data = try JSONEncoder().encode(value)
        XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: data), value)
        XCTAssertEqual(JSONValue.float(.nan), JSONValue.float(.nan), "NaN equals NaN, so results with NaN compare")
    }
}
