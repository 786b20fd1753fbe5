import Foundation
import JSON

/// Renders command results as text for a person: aligned tables with
/// thousands separators, records, plots and sparklines, image notes.
public struct TextRenderer: Sendable {
    /// Terminal width in columns.
    public var width: Int
    /// Use ANSI colour and terminal images.
    public var color: Bool
    /// Fit text to `width` (a terminal): records and messages wrap at
    /// spaces, tables cut their widest text column with `…`. Off for pipes
    /// and files, whose lines stay whole.
    public var fits: Bool

    public init(width: Int = 100, color: Bool = false, fits: Bool = false) {
        self.width = max(40, width)
        self.color = color
        self.fits = fits
    }

    /// `text` wrapped to the width when fitting, else as it is.
    func wrap(_ text: String, _ width: Int) -> [String] {
        fits ? Width.wrap(text, width) : text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    public func render(_ result: CommandResult) -> String {
        switch result {
        case .empty: return ""
        case .message(let text): return wrap(text, width).joined(separator: "\n")
        case .record(let r): return render(r)
        case .table(let t): return render(t)
        case .series(let s) where !s.curves.isEmpty:
            return s.plot ? Plot.overlay(s, width: width, height: 12) : Plot.sparklineRows(s, width: width)
        case .series(let s): return s.plot ? Plot.lines(s, width: width, height: 12) : Plot.sparklineRow(s)
        case .image(let i): return renderImage(i)
        case .group(let items): return items.map(render).filter { !$0.isEmpty }.joined(separator: "\n")
        }
    }

    func render(_ record: Record) -> String {
        var lines: [String] = []
        if let title = record.title { lines.append(contentsOf: wrap(title, width).map(bold)) }
        let keyWidth = min(28, fits ? width / 3 : 28, record.fields.map { $0.0.count }.max() ?? 0)
        for (key, value) in record.fields {
            let text = Self.cell(value, format: record.formats[key])
            let pad = String(repeating: " ", count: max(0, keyWidth - key.count))
            // Values wrap at spaces within the width, continuing under the value column;
            // a key longer than the column puts its value on the next line.
            let valueLines = wrap(text, max(20, width - keyWidth - 4))
            if fits && key.count > keyWidth {
                lines.append("  \(key)")
                lines.append("  " + String(repeating: " ", count: keyWidth) + "  " + (valueLines.first ?? ""))
            } else {
                lines.append("  \(key)\(pad)  \(valueLines.first ?? "")")
            }
            for more in valueLines.dropFirst() {
                lines.append("  " + String(repeating: " ", count: keyWidth) + "  " + more)
            }
        }
        return lines.joined(separator: "\n")
    }

    func render(_ table: Table) -> String {
        let header = table.columns.map { column in column.unit.map { "\(column.name) (\($0))" } ?? column.name }
        func cells(_ row: [JSONValue]) -> [String] {
            row.enumerated().map { i, v in Self.cell(v, format: i < table.columns.count ? table.columns[i].format : nil) }
        }
        var body = table.rows.map(cells)
        var footer = table.footer.map(cells)
        // Numeric columns align right (not key words: they are text).
        let numeric = table.columns.indices.map { i in
            table.columns[i].format == nil &&
            table.rows.contains { i < $0.count && Self.isNumber($0[i]) } &&
            table.rows.allSatisfy { i >= $0.count || Self.isNumber($0[i]) || $0[i] == .null }
        }
        var widths = header.map(\.count)
        for row in body + (footer.map { [$0] } ?? []) {
            for (i, c) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) }
        }
        // Too wide for the terminal: shrink the widest text column (never a
        // numeric one) and cut its cells with `…`, until the table fits.
        let fitted = fits ? TableFit.widths(widths, numeric: numeric, headers: header.map(\.count), limit: width) : widths
        if fitted != widths {
            widths = fitted
            func cut(_ row: [String]) -> [String] {
                row.enumerated().map { i, c in i < widths.count ? Width.fit(c, widths[i]) : c }
            }
            body = body.map(cut)
            footer = footer.map(cut)
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let w = i < widths.count ? widths[i] : c.count
                let pad = String(repeating: " ", count: max(0, w - c.count))
                return (i < numeric.count && numeric[i]) ? pad + c : c + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var lines: [String] = []
        if let title = table.title { lines.append(contentsOf: wrap(title, width).map(bold)) }
        lines.append(bold(line(header.enumerated().map { i, h in i < widths.count ? Width.fit(h, max(widths[i], 1)) : h })))
        lines.append(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  "))
        lines += body.map(line)
        if let footer {
            lines.append(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  "))
            lines.append(line(footer))
        }
        return lines.joined(separator: "\n")
    }

    func renderImage(_ image: ImageResult) -> String {
        var out = "\(image.title): \(image.width)x\(image.height) PNG written to \(image.path)"
        if color && !image.pixels.isEmpty {
            out += "\n" + HalfBlocks.render(image, maxWidth: width)
        }
        return out
    }

    private func bold(_ s: String) -> String { color ? "\u{1B}[1m\(s)\u{1B}[0m" : s }

    static func isNumber(_ v: JSONValue) -> Bool {
        switch v {
        case .int, .float, .double: return true
        default: return false
        }
    }

    /// One value as text in `format` (nil: by its type, as `cell(_:)`).
    public static func cell(_ value: JSONValue, format: CellFormat?) -> String {
        format.flatMap { KeyWords.text(value, $0) } ?? cell(value)
    }

    /// One value as table text: integers with thousands separators, float32
    /// values as their shortest round-tripping decimal, doubles in 4–6
    /// significant digits, lists comma-separated.
    public static func cell(_ value: JSONValue) -> String {
        switch value {
        case .null: return "–"
        case .bool(let b): return b ? "yes" : "no"
        case .int(let i): return thousands(i)
        case .float(let f): return float(f)
        case .double(let d): return number(d)
        case .string(let s): return s
        case .array(let items):
            // Inside lists, integers print plainly (key words, indices): no separators.
            return items.map { if case .int(let i) = $0 { return String(i) } else { return cell($0) } }.joined(separator: ", ")
        case .object(let pairs): return pairs.map { "\($0.0)=\(cell($0.1))" }.joined(separator: " ")
        }
    }

    static func thousands(_ i: Int) -> String {
        let digits = String(i.magnitude)
        var out = ""
        for (n, c) in digits.reversed().enumerated() {
            if n > 0 && n % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (i < 0 ? "-" : "") + String(out.reversed())
    }

    /// A float32 as the shortest decimal that reads back as the same float32
    /// (`0.006`, never `0.00599998` or `0.006000000052`); `NaN`, `inf`.
    public static func float(_ f: Float) -> String {
        f.isFinite ? f.description : number(Double(f))
    }

    /// A compact number: 0, 1234.5, 0.0123, 1.5e-06.
    public static func number(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == 0 { return "0" }
        let a = abs(d)
        if a >= 1e-3 && a < 1e6 {
            var s = String(format: "%.6g", d)
            if s.contains("e") { s = String(format: "%.4f", d) }
            return s
        }
        return String(format: "%.4g", d)
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
