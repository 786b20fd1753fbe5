/// Several labelled curves in one terminal plot (`show loss --compare`):
/// each curve has its own mark, on shared axes, with a legend below; or one
/// sparkline row per curve, on a shared scale.
extension Plot {
    /// Marks for curves 1, 2, 3, …; `+` where curves meet.
    static let curveMarks: [Character] = ["●", "○", "x", "◆", "□", "△"]

    /// A character-cell plot of `s.curves` in `width` columns.
    static func overlay(_ s: Series, width: Int, height: Int) -> String {
        let all = s.curves.flatMap { zip($0.x, $0.y) }.filter { $0.0.isFinite && $0.1.isFinite }
        guard let xMin = all.map(\.0).min(), let xMax = all.map(\.0).max(),
              let yMin = all.map(\.1).min(), let yMax0 = all.map(\.1).max() else {
            return "\(s.title): no finite values to plot"
        }
        let yMax = yMax0 == yMin ? yMin + 1 : yMax0
        let labels = [TextRenderer.number(yMax), TextRenderer.number((yMax + yMin) / 2), TextRenderer.number(yMin)]
        let labelWidth = labels.map(\.count).max() ?? 1
        let cols = max(10, width - labelWidth - 3), rows = max(4, height)
        var grid = [[Character]](repeating: [Character](repeating: " ", count: cols), count: rows)
        for (c, curve) in s.curves.enumerated() {
            let mark = curveMarks[c % curveMarks.count]
            // Average the curve's points that fall in each column: one mark per column.
            var sums = [Double](repeating: 0, count: cols), counts = [Int](repeating: 0, count: cols)
            for (x, y) in zip(curve.x, curve.y) where x.isFinite && y.isFinite {
                let col = xMax == xMin ? 0 : Int(((x - xMin) / (xMax - xMin) * Double(cols - 1)).rounded())
                sums[col] += y
                counts[col] += 1
            }
            for col in 0..<cols where counts[col] > 0 {
                let y = sums[col] / Double(counts[col])
                let row = rows - 1 - Int(((y - yMin) / (yMax - yMin) * Double(rows - 1)).rounded())
                grid[row][col] = grid[row][col] == " " || grid[row][col] == mark ? mark : "+"
            }
        }
        var out: [String] = [s.title]
        for row in 0..<rows {
            let label = row == 0 ? labels[0] : (row == rows / 2 ? labels[1] : (row == rows - 1 ? labels[2] : ""))
            out.append((String(repeating: " ", count: labelWidth - label.count) + label + " ┤" + String(grid[row])).trimmingTrailingSpaces())
        }
        out.append(String(repeating: " ", count: labelWidth) + " └" + String(repeating: "─", count: cols))
        let left = TextRenderer.number(xMin), right = TextRenderer.number(xMax)
        let gap = max(1, cols - left.count - right.count - s.xLabel.count)
        out.append(String(repeating: " ", count: labelWidth + 2) + left + String(repeating: " ", count: gap / 2) + s.xLabel
                   + String(repeating: " ", count: gap - gap / 2) + right)
        for (c, curve) in s.curves.enumerated() {
            out.append(Width.fit("  \(curveMarks[c % curveMarks.count]) \(curve.label)", width))
        }
        if s.curves.count > 1 { out.append("  + curves meet") }
        return out.joined(separator: "\n")
    }

    /// One sparkline row per curve, all on the same y scale.
    static func sparklineRows(_ s: Series, width: Int) -> String {
        let finite = s.curves.flatMap(\.y).filter(\.isFinite)
        let lo = finite.min() ?? 0, hi = finite.max() ?? 0
        var out = ["\(s.title)  [\(TextRenderer.number(lo)) … \(TextRenderer.number(hi))]"]
        let labelWidth = min(width / 3, s.curves.map { $0.label.count }.max() ?? 0)
        for curve in s.curves {
            let label = Width.fit(curve.label, labelWidth)
            let pad = String(repeating: " ", count: max(0, labelWidth - label.count))
            let spark = scaledSparkline(curve.y, lo: lo, hi: hi, width: max(8, min(60, width - labelWidth - 4)))
            out.append("  \(label)\(pad)  \(spark)")
        }
        return out.joined(separator: "\n")
    }

    /// A sparkline on a given scale (so several are comparable).
    static func scaledSparkline(_ values: [Double], lo: Double, hi: Double, width: Int) -> String {
        String(resample(values, to: min(width, values.count)).map { v -> Character in
            guard v.isFinite else { return " " }
            if hi == lo { return ticks[3] }
            return ticks[max(0, min(7, Int(((v - lo) / (hi - lo) * 7).rounded())))]
        })
    }
}
