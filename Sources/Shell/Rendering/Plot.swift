import Foundation

/// Terminal plots: sparklines (`▁▂▃▄▅▆▇█`) and braille line plots with axes.
public enum Plot {
    static let ticks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// A sparkline of `values`, resampled to at most `width` characters.
    public static func sparkline(_ values: [Double], width: Int = 60) -> String {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return "" }
        let sampled = resample(values, to: min(width, values.count))
        return String(sampled.map { v -> Character in
            guard v.isFinite else { return " " }
            if hi == lo { return ticks[3] }
            let level = Int(((v - lo) / (hi - lo) * 7).rounded())
            return ticks[max(0, min(7, level))]
        })
    }

    static func sparklineRow(_ s: Series) -> String {
        let finite = s.y.filter(\.isFinite)
        let lo = finite.min() ?? 0, hi = finite.max() ?? 0
        return "\(s.title)  \(sparkline(s.y))  [\(TextRenderer.number(lo)) … \(TextRenderer.number(hi))]"
    }

    /// Averages (or repeats) values into `count` buckets.
    static func resample(_ values: [Double], to count: Int) -> [Double] {
        guard count > 0, !values.isEmpty else { return [] }
        if values.count <= count { return values }
        return (0..<count).map { b in
            let lo = b * values.count / count
            let hi = max(lo + 1, (b + 1) * values.count / count)
            let slice = values[lo..<hi].filter(\.isFinite)
            return slice.isEmpty ? .nan : slice.reduce(0, +) / Double(slice.count)
        }
    }

    /// A braille line plot (2x4 dots per character) with a y axis on the left,
    /// an x axis below, and marks (e.g. "warmup end") under the axis.
    public static func lines(_ s: Series, width: Int, height: Int) -> String {
        let points = zip(s.x, s.y).filter { $0.0.isFinite && $0.1.isFinite }
        guard let xMin = points.map(\.0).min(), let xMax = points.map(\.0).max(),
              let yMin0 = points.map(\.1).min(), let yMax0 = points.map(\.1).max() else {
            return "\(s.title): no finite values to plot"
        }
        let yMin = yMin0, yMax = yMax0 == yMin0 ? yMin0 + 1 : yMax0
        let labels = [TextRenderer.number(yMax), TextRenderer.number((yMax + yMin) / 2), TextRenderer.number(yMin)]
        let labelWidth = labels.map(\.count).max() ?? 1
        let cols = max(10, width - labelWidth - 3)
        let rows = max(4, height)
        let dotW = cols * 2, dotH = rows * 4
        var dots = [[Bool]](repeating: [Bool](repeating: false, count: dotW), count: dotH)
        func dx(_ x: Double) -> Int { xMax == xMin ? 0 : Int(((x - xMin) / (xMax - xMin) * Double(dotW - 1)).rounded()) }
        func dy(_ y: Double) -> Int { dotH - 1 - Int(((y - yMin) / (yMax - yMin) * Double(dotH - 1)).rounded()) }
        var previous: (Int, Int)?
        for (x, y) in points.sorted(by: { $0.0 < $1.0 }) {
            let p = (dx(x), dy(y))
            if let q = previous {
                // Connect consecutive points with a straight segment.
                let steps = max(abs(p.0 - q.0), abs(p.1 - q.1), 1)
                for k in 0...steps {
                    let ix = q.0 + (p.0 - q.0) * k / steps, iy = q.1 + (p.1 - q.1) * k / steps
                    dots[iy][ix] = true
                }
            } else {
                dots[p.1][p.0] = true
            }
            previous = p
        }
        // Braille: dot (col c, row r) of a cell sets bit `bit[r][c]` above U+2800.
        let bit = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]
        var out: [String] = [s.title]
        for row in 0..<rows {
            var line = ""
            for col in 0..<cols {
                var code = 0
                for r in 0..<4 { for c in 0..<2 where dots[row * 4 + r][col * 2 + c] { code |= bit[r][c] } }
                line.unicodeScalars.append(Unicode.Scalar(0x2800 + code)!)
            }
            let label = row == 0 ? labels[0] : (row == rows / 2 ? labels[1] : (row == rows - 1 ? labels[2] : ""))
            out.append(String(repeating: " ", count: labelWidth - label.count) + label + " ┤" + line)
        }
        out.append(String(repeating: " ", count: labelWidth) + " └" + String(repeating: "─", count: cols))
        let left = TextRenderer.number(xMin), right = TextRenderer.number(xMax)
        let gap = max(1, cols - left.count - right.count - s.xLabel.count)
        out.append(String(repeating: " ", count: labelWidth + 2) + left
                   + String(repeating: " ", count: gap / 2) + s.xLabel
                   + String(repeating: " ", count: gap - gap / 2) + right)
        for mark in s.marks {
            let col = xMax == xMin ? 0 : Int(((mark.x - xMin) / (xMax - xMin) * Double(cols - 1)).rounded())
            out.append(String(repeating: " ", count: labelWidth + 2 + col) + "↑ \(mark.label) (\(TextRenderer.number(mark.x)))")
        }
        return out.joined(separator: "\n")
    }
}
