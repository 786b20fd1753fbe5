import Foundation
import XCTest
@testable import Shell

/// Output fits the terminal: bars, tables, records and messages at a width.
final class WidthTests: XCTestCase {
    func testProgressBarNeverExceedsTheWidth() {
        for width in [20, 40, 60, 80, 140] {
            for done in [0, 1, 250, 3000] {
                let bar = ProgressBar(completed: done, total: 3000, elapsed: 12.5,
                                      postfix: "loss=2.6013665 lr=0.0059999544 992.1 img/s")
                let text = bar.render(width: width)
                XCTAssertLessThanOrEqual(text.count, width, text)
                XCTAssertTrue(text.contains("\(done)/3000"), text)
            }
        }
        // Wide enough: the whole postfix shows; narrow: it is cut with `…`.
        let bar = ProgressBar(completed: 5, total: 10, elapsed: 1, postfix: "loss=2.6013665 lr=0.0059999544")
        XCTAssertTrue(bar.render(width: 140).hasSuffix("loss=2.6013665 lr=0.0059999544]"))
        XCTAssertTrue(bar.render(width: 60).contains("…]"), bar.render(width: 60))
    }

    func testWrapKeepsWordsAndNumbersWhole() {
        let values = (0..<40).map { _ in "1e-06" }.joined(separator: ", ")
        let lines = Width.wrap(values, 30)
        XCTAssertGreaterThan(lines.count, 5)
        XCTAssertTrue(lines.allSatisfy { $0.count <= 30 }, "\(lines)")
        XCTAssertEqual(lines.joined(separator: " "), values, "wrapping only breaks at spaces")
        // A word longer than the width keeps a line of its own, whole.
        XCTAssertEqual(Width.wrap("see a_very_long_identifier_that_does_not_fit here", 20),
                       ["see", "a_very_long_identifier_that_does_not_fit", "here"])
        // A path longer than the line breaks after a `/`.
        XCTAssertEqual(Width.wrap("see ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/Conv_1/kernel, next", 30),
                       ["see ConvNeXtBackbone_0/", "BottleneckConvNeXtBlock_01_01/", "Conv_1/kernel, next"])
        // Indentation carries over to continuation lines.
        XCTAssertEqual(Width.wrap("    one two three four", 14), ["    one two", "    three four"])
    }

    func testTablesElideTheirWidestTextColumnToFit() {
        let table = Table(title: "t", columns: [.init("path"), .init("note"), .init("value")],
                          rows: [[.string(String(repeating: "a", count: 90)), .string("short"), .double(0.125)],
                                 [.string("b"), .string(String(repeating: "c", count: 30)), .int(123_456)]])
        let fitted = TextRenderer(width: 80, fits: true).render(.table(table))
        for line in fitted.split(separator: "\n") { XCTAssertLessThanOrEqual(line.count, 80, String(line)) }
        XCTAssertTrue(fitted.contains("…"))
        XCTAssertTrue(fitted.contains("0.125") && fitted.contains("123,456"), "numbers are never cut")
        XCTAssertTrue(fitted.contains(String(repeating: "c", count: 30)), "only the widest column shrinks while that is enough")
        // Not fitting (a pipe): the table stays whole.
        XCTAssertTrue(TextRenderer(width: 80).render(.table(table)).contains(String(repeating: "a", count: 90)))
    }

    func testRecordsWrapTheirValuesUnderTheValueColumn() {
        let record = Record(title: "r", [("values", .array((0..<30).map { _ in .float(1e-6) })), ("n", .int(3))])
        let text = TextRenderer(width: 60, fits: true).render(.record(record))
        let lines = text.split(separator: "\n")
        XCTAssertTrue(lines.allSatisfy { $0.count <= 60 }, text)
        XCTAssertTrue(lines.dropFirst(2).first?.hasPrefix("          1e-06") ?? false, text)
        XCTAssertEqual(text.components(separatedBy: "1e-06").count - 1, 30, "every number whole")
    }

    func testFloatsPrintAsTheirShortestRoundTrip() {
        XCTAssertEqual(TextRenderer.float(Float(0.006)), "0.006")
        XCTAssertEqual(TextRenderer.float(Float(1e-6)), "1e-06")
        for f: Float in [0.0059999544, 2.6013665, 3.4028235e38, 1.0e-45] {
            XCTAssertEqual(Float(TextRenderer.float(f)), f)
        }
        XCTAssertEqual(TextRenderer.cell(.float(0.1)), "0.1")
    }

    func testOverlayPlotFitsAndMarksEachRun() {
        let a = Series.Curve(label: "run 1: drop-path 0.1", x: [1, 2, 3, 4], y: [2.5, 2.2, 2.0, 1.9])
        let b = Series.Curve(label: "run 2 (current): drop-path 0", x: [1, 2, 3], y: [2.5, 2.3, 2.25])
        let s = Series(title: "loss", xLabel: "step", yLabel: "loss", curves: [a, b])
        for width in [80, 140] {
            let text = TextRenderer(width: width).render(.series(s))
            XCTAssertTrue(text.split(separator: "\n").allSatisfy { $0.count <= width }, text)
            XCTAssertTrue(text.contains("● run 1: drop-path 0.1") && text.contains("○ run 2 (current)"), text)
            XCTAssertTrue(text.contains("●") && text.contains("○"))
        }
        var spark = s
        spark.plot = false
        let rows = TextRenderer(width: 80).render(.series(spark)).split(separator: "\n")
        XCTAssertEqual(rows.count, 3, "a title and one sparkline per run")
    }
}
