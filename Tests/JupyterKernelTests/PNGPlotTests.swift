import Datasets
@testable import JupyterKernel
import Shell
import XCTest

/// The PNG charts, read back with libpng: their size, and the curve's pixels where the data puts them.
final class PNGPlotTests: XCTestCase {
    func pixel(_ image: RGBImage, _ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * image.width + x) * 3
        return (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
    }

    func same(_ a: (UInt8, UInt8, UInt8), _ b: (UInt8, UInt8, UInt8)) -> Bool { a == b }

    func testTheCurveIsWhereTheDataSays() throws {
        let x = (0...40).map(Double.init)
        var y = x.map { 3 - 2 * exp(-$0 / 10) }
        y[20] = .nan
        let series = Series(title: "loss", xLabel: "step", yLabel: "loss", x: x, y: y, marks: [Series.Mark(x: 30, label: "warmup end")])
        let png = try PNGPlot.png([series])
        XCTAssertEqual(png.width, 640)
        XCTAssertEqual(png.height, 300)
        let image = try PNGCodec.decode(png.bytes)
        XCTAssertEqual(image.width, 640)
        XCTAssertEqual(image.height, 300)
        let frame = PNGPlot.Frame(series)
        XCTAssertEqual(frame.x0, 0)
        XCTAssertEqual(frame.x1, 40)
        let blue = PNGPlot.colors[0]
        XCTAssertEqual(blue.0, 0x1f)
        for (px, py) in zip(x, y) where py.isFinite {
            XCTAssertTrue(same(pixel(image, frame.px(px), frame.py(py)), blue), "the curve passes through (\(px), \(py))")
        }
        // The curve rises: its first point is low on the chart, its last high.
        XCTAssertGreaterThan(frame.py(y[0]), frame.py(y[40]) + 200)
        // Nothing of the curve where the data says nothing: the NaN at x = 20 breaks the line.
        let gap = frame.px(20)
        XCTAssertFalse((0..<image.height).contains { same(pixel(image, gap, $0), blue) }, "the line breaks at the NaN")
        // Off the curve the chart is white (or grid/frame grey), never the curve's colour.
        let below = frame.py(y[10]) + 40
        XCTAssertFalse(same(pixel(image, frame.px(10), below), blue))
        XCTAssertTrue(same(pixel(image, frame.px(10) + 3, frame.py(y[10]) + 60), (255, 255, 255)) ||
                      same(pixel(image, frame.px(10) + 3, frame.py(y[10]) + 60), (229, 229, 229)))
        // The mark is a dashed grey line.
        let column = (0..<image.height).map { pixel(image, frame.px(30), $0) }
        XCTAssertTrue(column.contains { same($0, (153, 153, 153)) })
        // Tick values are drawn left of the frame, in dark ink.
        let labels = (0..<image.height).flatMap { row in (0..<PNGPlot.left - 4).map { pixel(image, $0, row) } }
        XCTAssertTrue(labels.contains { same($0, (51, 51, 51)) }, "tick values")
    }

    func testComparisonsAndStackedCharts() throws {
        let a = Series.Curve(label: "a", x: [0, 1, 2], y: [1, 2, 3])
        let b = Series.Curve(label: "b", x: [0, 1, 2], y: [3, 2, 1])
        let compare = Series(title: "loss", xLabel: "step", yLabel: "loss", curves: [a, b])
        let flat = Series(title: "lr", xLabel: "step", yLabel: "lr", x: [0, 1], y: [5, 5], plot: false)
        let png = try PNGPlot.png([compare, flat])
        let image = try PNGCodec.decode(png.bytes)
        XCTAssertEqual(image.width, 640)
        XCTAssertEqual(image.height, 600, "two charts, one above the other")
        let frame = PNGPlot.Frame(compare)
        XCTAssertTrue(same(pixel(image, frame.px(0), frame.py(1)), PNGPlot.colors[0]))
        XCTAssertTrue(same(pixel(image, frame.px(0), frame.py(3)), PNGPlot.colors[1]))
        // The flat series is widened around its value and drawn in the lower chart.
        var lower = PNGPlot.Frame(flat)
        lower.plotTop += Double(PNGPlot.height)
        XCTAssertEqual(lower.y0, 4.5)
        XCTAssertTrue(same(pixel(image, lower.px(0.5), lower.py(5)), PNGPlot.colors[0]))
    }
}
