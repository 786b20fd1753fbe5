import JSON
import XCTest
@testable import Shell

final class RenderingTests: XCTestCase {
    func testTableAlignsNumbersRightWithSeparators() {
        let table = Table(columns: [.init("path"), .init("params")],
                          rows: [[.string("Stem_Conv/kernel"), .int(4608)], [.string("Head/kernel"), .int(768000)]],
                          footer: [.string("total"), .int(772608)])
        let lines = TextRenderer().render(table).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "path               params")
        XCTAssertEqual(lines[2], "Stem_Conv/kernel    4,608")
        XCTAssertEqual(lines[3], "Head/kernel       768,000")
        XCTAssertEqual(lines[5], "total             772,608")
    }

    func testNumberFormatting() {
        XCTAssertEqual(TextRenderer.number(0), "0")
        XCTAssertEqual(TextRenderer.number(0.004), "0.004")
        XCTAssertEqual(TextRenderer.number(1e-6), "1e-06")
        XCTAssertEqual(TextRenderer.number(2.2094839), "2.20948")
        XCTAssertEqual(TextRenderer.thousands(-28589128), "-28,589,128")
    }

    func testSparklineSpansTheLevels() {
        XCTAssertEqual(Plot.sparkline([0, 1, 2, 3, 4, 5, 6, 7]), "▁▂▃▄▅▆▇█")
        XCTAssertEqual(Plot.sparkline([2, 2, 2]), "▄▄▄")
        XCTAssertEqual(Plot.sparkline([0, 7, 0, 7], width: 2), "▅▅", "resampling averages buckets (3.5 of 7 rounds up)")
    }

    func testLinePlotHasAxesAndMarks() {
        let s = Series(title: "lr", xLabel: "step", yLabel: "lr", x: (0...100).map(Double.init),
                       y: (0...100).map { Double($0 < 10 ? $0 : 10) }, marks: [.init(x: 10, label: "warmup end")])
        let text = Plot.lines(s, width: 60, height: 8)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "lr")
        XCTAssertTrue(lines[1].hasPrefix("10 ┤"))
        XCTAssertTrue(lines[8].hasPrefix(" 0 ┤"))
        XCTAssertTrue(lines.contains { $0.contains("└") })
        XCTAssertTrue(lines.last!.contains("↑ warmup end (10)"))
        // The first plotted row has dots on the right (the plateau) and none at the far left.
        let top = Array(lines[1].dropFirst(4))
        XCTAssertEqual(top.first, "⠀")
        XCTAssertNotEqual(top.last, "⠀")
    }

    func testJSONEscaping() {
        let v = JSONValue.object([("s", .string("a\"b\\c\n\u{01}é")), ("f", .float(0.1)), ("n", .double(.nan))])
        XCTAssertEqual(v.jsonText, #"{"s":"a\"b\\c\n\u0001é","f":0.1,"n":"NaN"}"#)
    }
}
