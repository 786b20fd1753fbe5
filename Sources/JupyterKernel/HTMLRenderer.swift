import JSON
import Shell

/// `text/html` for results that hold a table, or a plot among other
/// results: each table as an HTML table (title as caption, units in the
/// header, the same number formatting as the terminal), each series as an
/// inline SVG chart, anything else as preformatted text. (A result that is
/// only a series goes out as `image/svg+xml` instead: `MimeBundle`.)
enum HTMLRenderer {
    /// nil when text/plain (and an image) say it all.
    static func render(_ result: CommandResult, text: TextRenderer) -> String? {
        guard needsHTML(result) else { return nil }
        return html(result, text: text)
    }

    private static func needsHTML(_ result: CommandResult) -> Bool {
        switch result {
        case .table: return true
        case .group(let items): return items.contains { item in
            if case .series = item { return true }
            return needsHTML(item)
        }
        default: return false
        }
    }

    private static func html(_ result: CommandResult, text: TextRenderer) -> String {
        switch result {
        case .table(let t): return table(t)
        case .series(let s): return "<div>" + SVGPlot.render(s) + "</div>"
        case .group(let items): return items.map { html($0, text: text) }.filter { !$0.isEmpty }.joined(separator: "\n")
        default:
            let shown = text.render(result)
            return shown.isEmpty ? "" : "<pre>\(escape(shown))</pre>"
        }
    }

    private static func table(_ t: Table) -> String {
        var out = "<table>\n"
        if let title = t.title { out += "<caption>\(escape(title))</caption>\n" }
        out += "<thead><tr>" + t.columns.map { column in
            "<th>\(escape(column.name))\(column.unit.map { " (\(escape($0)))" } ?? "")</th>"
        }.joined() + "</tr></thead>\n<tbody>\n"
        let formats = t.columns.map(\.format)
        for row in t.rows { out += line(row, formats) }
        out += "</tbody>\n"
        if let footer = t.footer { out += "<tfoot>\n" + line(footer, formats) + "</tfoot>\n" }
        return out + "</table>"
    }

    private static func line(_ cells: [JSONValue], _ formats: [CellFormat?]) -> String {
        "<tr>" + cells.enumerated().map { i, value -> String in
            let format = i < formats.count ? formats[i] : nil
            let numeric: Bool
            switch value {
            case .int, .float, .double: numeric = format == nil
            default: numeric = false
            }
            return (numeric ? "<td style=\"text-align:right\">" : "<td>") + escape(TextRenderer.cell(value, format: format)) + "</td>"
        }.joined() + "</tr>\n"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
