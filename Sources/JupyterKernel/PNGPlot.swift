import Datasets
import Foundation
import Shell

/// A series as a PNG line chart, for front ends that show `image/png` but not
/// SVG (`jupyter console` with an image handler, nbconvert to PDF, GitHub's
/// viewer): the same chart as `SVGPlot` (grid, tick values, dashed marks,
/// one colour per curve, non-finite points breaking the line), drawn into an
/// RGB raster here and encoded by libpng (`PNGCodec`). Tick values use a 5×7
/// bitmap font of the characters numbers need; titles and labels stay in the
/// bundle's text.
enum PNGPlot {
    static let width = 640, height = 300
    static let left = 64, right = 16, top = 14, bottom = 26
    static let colors: [(UInt8, UInt8, UInt8)] = SVGPlot.colors.map { hex in
        let v = UInt32(hex.dropFirst(), radix: 16) ?? 0
        return (UInt8(v >> 16), UInt8((v >> 8) & 0xff), UInt8(v & 0xff))
    }

    /// Where data lands on the chart: a data x/y to a pixel column/row.
    struct Frame {
        var x0, x1, y0, y1: Double
        var plotLeft = Double(PNGPlot.left), plotTop = Double(PNGPlot.top)
        var plotWidth = Double(PNGPlot.width - PNGPlot.left - PNGPlot.right)
        var plotHeight = Double(PNGPlot.height - PNGPlot.top - PNGPlot.bottom)

        /// The series' finite extent (marks included on x), widened when flat, as `SVGPlot` does.
        init(_ s: Series) {
            let curves = PNGPlot.curves(s)
            let points = curves.flatMap { zip($0.x, $0.y).filter { $0.0.isFinite && $0.1.isFinite } }
            (x0, x1) = SVGPlot.range(points.map(\.0) + s.marks.map(\.x))
            (y0, y1) = SVGPlot.range(points.map(\.1))
            if x0 == x1 { x0 -= 1; x1 += 1 }
            if y0 == y1 { let pad = y0 == 0 ? 1 : abs(y0) * 0.1; y0 -= pad; y1 += pad }
        }

        func px(_ x: Double) -> Int { Int((plotLeft + (x - x0) / (x1 - x0) * (plotWidth - 1)).rounded()) }
        func py(_ y: Double) -> Int { Int((plotTop + (1 - (y - y0) / (y1 - y0)) * (plotHeight - 1)).rounded()) }
    }

    /// The PNG file's bytes for one chart per series, stacked top to bottom.
    static func png(_ series: [Series]) throws -> (bytes: [UInt8], width: Int, height: Int) {
        let image = raster(series)
        return (try PNGCodec.encode(image), image.width, image.height)
    }

    /// The charts as pixels (white background).
    static func raster(_ series: [Series]) -> RGBImage {
        var canvas = Canvas(width: width, height: height * max(1, series.count))
        for (i, s) in series.enumerated() { draw(s, on: &canvas, top: i * height) }
        return RGBImage(width: canvas.width, height: canvas.height, pixels: canvas.pixels)
    }

    static func curves(_ s: Series) -> [Series.Curve] {
        s.curves.isEmpty ? [Series.Curve(label: s.yLabel, x: s.x, y: s.y)] : s.curves
    }

    private static func draw(_ s: Series, on c: inout Canvas, top offset: Int) {
        var frame = Frame(s)
        frame.plotTop += Double(offset)
        let l = left, r = width - right - 1, t = top + offset, b = offset + height - bottom - 1
        let grid: (UInt8, UInt8, UInt8) = (229, 229, 229), ink: (UInt8, UInt8, UInt8) = (51, 51, 51)
        for y in SVGPlot.ticks(frame.y0, frame.y1) {
            let row = frame.py(y)
            c.line(l, row, r, row, grid)
            c.text(TextRenderer.number(y), right: l - 5, middle: row, ink)
        }
        for x in SVGPlot.ticks(frame.x0, frame.x1) {
            let column = frame.px(x)
            c.line(column, t, column, b, grid)
            c.text(TextRenderer.number(x), center: column, top: b + 5, ink)
        }
        for mark in s.marks where mark.x.isFinite {
            let column = frame.px(mark.x)
            for y in stride(from: t, through: b, by: 7) { c.line(column, y, column, min(b, y + 3), (153, 153, 153)) }
        }
        c.line(l, t, r, t, ink); c.line(l, b, r, b, ink); c.line(l, t, l, b, ink); c.line(r, t, r, b, ink)
        for (i, curve) in curves(s).enumerated() {
            let color = colors[i % colors.count]
            var previous: (Int, Int)?
            for (x, y) in zip(curve.x, curve.y) {
                guard x.isFinite && y.isFinite else { previous = nil; continue }
                let point = (frame.px(x), frame.py(y))
                c.thickLine(previous ?? point, point, color)
                previous = point
            }
        }
    }

    /// An RGB raster with the few drawing operations a chart needs.
    struct Canvas {
        let width: Int, height: Int
        var pixels: [UInt8]

        init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
            self.width = width
            self.height = height
            pixels = [UInt8](repeating: 0, count: width * height * 3)
            fill(0, 0, width, height, background)
        }

        mutating func set(_ x: Int, _ y: Int, _ color: (UInt8, UInt8, UInt8)) {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let i = (y * width + x) * 3
            pixels[i] = color.0; pixels[i + 1] = color.1; pixels[i + 2] = color.2
        }

        mutating func fill(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ color: (UInt8, UInt8, UInt8)) {
            for yy in y..<(y + h) { for xx in x..<(x + w) { set(xx, yy, color) } }
        }

        /// A one-pixel line (Bresenham), both ends included.
        mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: (UInt8, UInt8, UInt8)) {
            var x = x0, y = y0
            let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
            var err = dx + dy
            while true {
                set(x, y, color)
                if x == x1 && y == y1 { return }
                let e2 = 2 * err
                if e2 >= dy { err += dy; x += sx }
                if e2 <= dx { err += dx; y += sy }
            }
        }

        /// A two-pixel-wide line (for curves), so a lone point shows as a dot.
        mutating func thickLine(_ a: (Int, Int), _ b: (Int, Int), _ color: (UInt8, UInt8, UInt8)) {
            for (ox, oy) in [(0, 0), (1, 0), (0, 1), (1, 1)] { line(a.0 + ox, a.1 + oy, b.0 + ox, b.1 + oy, color) }
        }

        /// Text in the 5×7 font ending at column `right`, centred on row `middle`.
        mutating func text(_ s: String, right: Int, middle: Int, _ color: (UInt8, UInt8, UInt8)) {
            draw(s, x: right - Font.width(s) + 1, y: middle - 3, color)
        }

        /// Text centred on column `center`, its top at row `top`.
        mutating func text(_ s: String, center: Int, top: Int, _ color: (UInt8, UInt8, UInt8)) {
            draw(s, x: center - Font.width(s) / 2, y: top, color)
        }

        private mutating func draw(_ s: String, x: Int, y: Int, _ color: (UInt8, UInt8, UInt8)) {
            var cx = x
            for ch in s {
                for (row, bits) in Font.glyph(ch).enumerated() {
                    for col in 0..<5 where bits & (0b10000 >> col) != 0 { set(cx + col, y + row, color) }
                }
                cx += Font.advance
            }
        }
    }

    /// A 5×7 bitmap font for tick values: digits, `.`, `-`, `+`, `e`, and the
    /// letters of `NaN`/`inf`; anything else is a blank. Rows top to bottom,
    /// bit 4 the leftmost pixel.
    enum Font {
        static let advance = 6
        static func width(_ s: String) -> Int { max(0, s.count * advance - 1) }
        static func glyph(_ ch: Character) -> [UInt8] { glyphs[ch] ?? [0, 0, 0, 0, 0, 0, 0] }
        private static let glyphs: [Character: [UInt8]] = [
            "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
            "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
            "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
            "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
            "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
            ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C], "-": [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
            "+": [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00], "e": [0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E],
            "N": [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11], "a": [0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F],
            "i": [0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E], "n": [0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11],
            "f": [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08],
        ]
    }
}
