import Foundation
import Shell

/// A series as an SVG line chart for notebooks: the same data as the
/// terminal's braille plot or sparkline, with axes, tick values, axis labels,
/// marks (e.g. "warmup end") as dashed lines, and a legend for comparisons.
/// Non-finite points break the line.
enum SVGPlot {
    static let width = 640.0, height = 300.0
    static let left = 70.0, right = 20.0, top = 30.0, bottom = 45.0
    static let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    static func render(_ s: Series) -> String {
        let curves = s.curves.isEmpty ? [Series.Curve(label: s.yLabel, x: s.x, y: s.y)] : s.curves
        let points = curves.flatMap { zip($0.x, $0.y).filter { $0.0.isFinite && $0.1.isFinite } }
        var (x0, x1) = range(points.map(\.0) + s.marks.map(\.x))
        var (y0, y1) = range(points.map(\.1))
        if x0 == x1 { x0 -= 1; x1 += 1 }
        if y0 == y1 { let pad = y0 == 0 ? 1 : abs(y0) * 0.1; y0 -= pad; y1 += pad }
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(f(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(HTMLRenderer.escape(s.title))</text>\n"
        // Grid and tick values.
        for y in ticks(y0, y1) {
            out += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(py(y)))\" y2=\"\(f(py(y)))\" stroke=\"#e5e5e5\"/>"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(y) + 4))\" text-anchor=\"end\">\(TextRenderer.number(y))</text>\n"
        }
        for x in ticks(x0, x1) {
            out += "<line x1=\"\(f(px(x)))\" x2=\"\(f(px(x)))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" stroke=\"#e5e5e5\"/>"
            out += "<text x=\"\(f(px(x)))\" y=\"\(f(top + plotH + 15))\" text-anchor=\"middle\">\(TextRenderer.number(x))</text>\n"
        }
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(HTMLRenderer.escape(s.xLabel))</text>\n"
        out += "<text transform=\"translate(14 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(HTMLRenderer.escape(s.yLabel))</text>\n"
        for mark in s.marks where mark.x.isFinite {
            out += "<line x1=\"\(f(px(mark.x)))\" x2=\"\(f(px(mark.x)))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>"
            // Labels of marks in the right half sit left of their line, so they stay on the canvas.
            let rightHalf = px(mark.x) > left + plotW / 2
            out += "<text x=\"\(f(px(mark.x) + (rightHalf ? -3 : 3)))\" y=\"\(f(top + 12))\" text-anchor=\"\(rightHalf ? "end" : "start")\" fill=\"#666\">\(HTMLRenderer.escape(mark.label))</text>\n"
        }
        // One polyline per finite run of each curve.
        for (i, curve) in curves.enumerated() {
            let color = colors[i % colors.count]
            var run: [String] = []
            func flush() {
                if run.count == 1 { run.append(run[0]) }
                if !run.isEmpty {
                    out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(run.joined(separator: " "))\"/>\n"
                }
                run = []
            }
            for (x, y) in zip(curve.x, curve.y) {
                if x.isFinite && y.isFinite { run.append("\(f(px(x))),\(f(py(y)))") } else { flush() }
            }
            flush()
            if curves.count > 1 {
                let ly = top + 14 + Double(i) * 14
                out += "<line x1=\"\(f(width - right - 120))\" x2=\"\(f(width - right - 104))\" y1=\"\(f(ly - 4))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>"
                out += "<text x=\"\(f(width - right - 100))\" y=\"\(f(ly))\">\(HTMLRenderer.escape(curve.label))</text>\n"
            }
        }
        return out + "</svg>"
    }

    /// The finite extent of `values` ((0, 1) when there is none).
    static func range(_ values: [Double]) -> (Double, Double) {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return (0, 1) }
        return (lo, hi)
    }

    /// About five round tick values (1, 2 or 5 × 10^k apart) inside [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let raw = (hi - lo) / 5
        guard raw > 0, raw.isFinite else { return [lo] }
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var out: [Double] = []
        var t = (lo / step).rounded(.up) * step
        while t <= hi + step * 1e-9 && out.count < 12 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }
}
