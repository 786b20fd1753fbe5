import XCTest
@testable import Shell

final class TokenizerTests: XCTestCase {
    func words(_ text: String) throws -> [[String]] {
        try Tokenizer.commands(text).map { $0.map(\.text) }
    }

    func testWordsQuotesAndComments() throws {
        XCTAssertEqual(try words("model build tiny --classes 1000"), [["model", "build", "tiny", "--classes", "1000"]])
        XCTAssertEqual(try words("data imagefolder 'my photos/train' # the data"), [["data", "imagefolder", "my photos/train"]])
        XCTAssertEqual(try words("echo \"a \\\"b\\\"\\tc\""), [["echo", "a \"b\"\tc"]])
        XCTAssertEqual(try words("a#b c"), [["a#b", "c"]], "# inside a word is not a comment")
        XCTAssertEqual(try words("# only a comment"), [])
        XCTAssertEqual(try words("rng seed 1; model init ;; help"), [["rng", "seed", "1"], ["model", "init"], ["help"]])
        XCTAssertEqual(try words("x\\ y"), [["x y"]])
        XCTAssertEqual(try words("''"), [[""]], "an empty quoted word is a word")
    }

    func testQuotedWordsAreMarked() throws {
        let tokens = try Tokenizer.commands("show '--lr' --lr")[0]
        XCTAssertEqual(tokens.map(\.quoted), [false, true, false])
    }

    func testUnterminatedQuotesAndTrailingBackslashAreErrors() {
        XCTAssertThrowsError(try Tokenizer.commands("a 'b")) { XCTAssertTrue("\($0)".contains("single quote")) }
        XCTAssertThrowsError(try Tokenizer.commands("a \"b")) { XCTAssertTrue("\($0)".contains("double quote")) }
        XCTAssertThrowsError(try Tokenizer.commands("a \\")) { XCTAssertTrue("\($0)".contains("backslash")) }
    }

    func testQuoteRoundTrips() throws {
        for word in ["plain", "with space", "it's", "a\"b", "#hash", "semi;colon", "", "tab\there", "été"] {
            let line = "cmd " + Tokenizer.quote(word)
            XCTAssertEqual(try words(line), [["cmd", word]], "round trip of \(word.debugDescription)")
        }
    }

    func testNumbers() {
        XCTAssertEqual(NumberParsing.double("1e-4"), 1e-4)
        XCTAssertEqual(NumberParsing.double("-3.5"), -3.5)
        XCTAssertEqual(NumberParsing.double("4E+2"), 400)
        XCTAssertEqual(NumberParsing.int("1e3"), 1000)
        XCTAssertEqual(NumberParsing.int("16"), 16)
        XCTAssertNil(NumberParsing.int("1.5"))
        XCTAssertNil(NumberParsing.double("abc"))
        XCTAssertNil(NumberParsing.double("1_000"))
        XCTAssertNil(NumberParsing.double("0x10"))
    }
}
