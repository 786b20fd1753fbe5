@testable import JupyterKernel
import Shell
import XCTest

final class SVGPlotTests: XCTestCase {
    func testTicksAreRoundValuesInsideTheRange() {
        let unit: [Double] = SVGPlot.ticks(0, 1)
        XCTAssertEqual(unit.count, 6)
        for (tick, expected) in zip(unit, [0, 0.2, 0.4, 0.6, 0.8, 1.0]) { XCTAssertEqual(tick, expected, accuracy: 1e-12) }
        XCTAssertEqual(SVGPlot.ticks(3, 97), [20, 40, 60, 80])
        XCTAssertTrue(SVGPlot.ticks(3, 97).allSatisfy { $0 >= 3 && $0 <= 97 })
        XCTAssertEqual(SVGPlot.ticks(1000, 1900), [1000, 1200, 1400, 1600, 1800])
    }

    func testNonFinitePointsBreakTheLineAndMarksAreDrawn() {
        let series = Series(title: "loss <1>", xLabel: "step", yLabel: "loss", x: [1, 2, 3, 4, 5], y: [2, .nan, 1.5, 1.2, 1.0],
                            marks: [Series.Mark(x: 3, label: "warmup end")])
        let svg = SVGPlot.render(series)
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2, "one run before the NaN, one after")
        XCTAssertTrue(svg.contains("warmup end") && svg.contains("stroke-dasharray"))
        XCTAssertTrue(svg.contains("loss &lt;1&gt;"), "text is escaped")
    }
}
