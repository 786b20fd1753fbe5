import Foundation
import JSON
import Shell

/// A result as Jupyter's MIME bundle: `text/plain` (the terminal's text),
/// `text/html` when it holds a table (with any plots beside it inline),
/// `image/svg+xml` for a plot on its own (`show loss --plot`, `show lr
/// --plot`), `image/png` when it holds an image (the PNG file the command
/// wrote, e.g. `data preview`) or else plots (each series as a `PNGPlot`
/// chart, stacked: `show loss --plot`, `show lr --plot`, the sparklines of
/// `show droppath` and `show layerscale`).
enum MimeBundle {
    static func make(_ result: CommandResult, renderer: TextRenderer) -> (data: JSONValue, metadata: JSONValue)? {
        let text = renderer.render(result)
        var data: [(String, JSONValue)] = []
        var metadata: [(String, JSONValue)] = []
        if !text.isEmpty { data.append(("text/plain", .string(text))) }
        if let html = HTMLRenderer.render(result, text: renderer) { data.append(("text/html", .string(html))) }
        if case .series(let series) = result { data.append(("image/svg+xml", .string(SVGPlot.render(series)))) }
        if let image = firstImage(result), image.path.lowercased().hasSuffix(".png"),
           let png = FileManager.default.contents(atPath: image.path) {
            data.append(("image/png", .string(png.base64EncodedString())))
            metadata.append(("image/png", .object([("width", .int(image.width)), ("height", .int(image.height))])))
        } else if case let plots = series(result), !plots.isEmpty, let png = try? PNGPlot.png(plots) {
            data.append(("image/png", .string(Data(png.bytes).base64EncodedString())))
            metadata.append(("image/png", .object([("width", .int(png.width)), ("height", .int(png.height))])))
        }
        return data.isEmpty ? nil : (.object(data), .object(metadata))
    }

    /// Whether the result shows more than text: a table, a plot or an image.
    static func isRich(_ result: CommandResult) -> Bool {
        switch result {
        case .table, .series, .image: return true
        case .group(let items): return items.contains(where: isRich)
        default: return false
        }
    }

    /// Every series in the result, in order.
    static func series(_ result: CommandResult) -> [Series] {
        switch result {
        case .series(let s): return [s]
        case .group(let items): return items.flatMap(series)
        default: return []
        }
    }

    static func firstImage(_ result: CommandResult) -> ImageResult? {
        switch result {
        case .image(let image): return image
        case .group(let items): return items.lazy.compactMap(firstImage).first
        default: return nil
        }
    }
}
