import Foundation
import JSON

/// A transcript as a Jupyter notebook (nbformat 4.5): a markdown title cell,
/// then one code cell per command with its text output as a `stream`
/// output, each PNG it produced as a `display_data` output (`image/png`,
/// base64), and a failed command's message as an `error` output.
public enum Notebook {
    /// The notebook's JSON. Cells still running (no result, no error) are left out.
    public static func make(title: String, cells: [TranscriptCell], notes: [String] = []) throws -> Data {
        var nbCells: [JSONValue] = []
        let heading = (["# \(title)", ""] + notes).joined(separator: "\n")
        nbCells.append(.object([("cell_type", .string("markdown")), ("id", .string("title")),
                                ("metadata", .object([])), ("source", lines(heading))]))
        var used = Set<String>()
        for cell in cells {
            var outputs: [JSONValue] = []
            if !cell.text.isEmpty {
                outputs.append(.object([("output_type", .string("stream")), ("name", .string("stdout")),
                                        ("text", lines(cell.text + "\n"))]))
            }
            for image in cell.images {
                if let png = FileManager.default.contents(atPath: image.file) {
                    outputs.append(.object([("output_type", .string("display_data")),
                                            ("data", .object([("image/png", .string(png.base64EncodedString())),
                                                              ("text/plain", lines(image.title))])),
                                            ("metadata", .object([]))]))
                } else {
                    outputs.append(.object([("output_type", .string("stream")), ("name", .string("stderr")),
                                            ("text", lines("(image \(image.title) is no longer at \(image.file))\n"))]))
                }
            }
            if let error = cell.error {
                outputs.append(.object([("output_type", .string("error")), ("ename", .string("CommandError")),
                                        ("evalue", .string(error)), ("traceback", .array([.string(error)]))]))
            }
            var id = "cell-\(cell.number)"
            while !used.insert(id).inserted { id += "x" }
            nbCells.append(.object([
                ("cell_type", .string("code")), ("id", .string(id)), ("execution_count", .int(cell.number)),
                ("metadata", .object([("cnx", .object([("seconds", .double(cell.seconds)), ("ok", .bool(cell.ok))]))])),
                ("source", lines(cell.command)), ("outputs", .array(outputs)),
            ]))
        }
        return try encode(cells: nbCells)
    }

    /// The notebook's `metadata`: the `cnx` kernel (the name `cnx kernel
    /// install` gives it) and its language, so Jupyter starts it to run the cells.
    public static let metadata = JSONValue.object([
        ("kernelspec", .object([("name", .string("cnx")), ("display_name", .string("cnx")), ("language", .string("cnx"))])),
        ("language_info", .object([("name", .string("cnx")), ("file_extension", .string(".cnx")), ("mimetype", .string("text/plain"))])),
    ])

    /// An nbformat 4.5 notebook of `cells` with `metadata`, as JSON.
    public static func encode(cells: [JSONValue]) throws -> Data {
        let notebook = JSONValue.object([
            ("nbformat", .int(4)), ("nbformat_minor", .int(5)),
            ("metadata", metadata),
            ("cells", .array(cells)),
        ])
        return try SessionJSON.encoder().encode(notebook)
    }

    /// nbformat's multi-line string: a list of lines, each but the last ending in "\n".
    public static func lines(_ text: String) -> JSONValue {
        var out: [JSONValue] = []
        var current = ""
        for ch in text {
            current.append(ch)
            if ch == "\n" { out.append(.string(current)); current = "" }
        }
        if !current.isEmpty { out.append(.string(current)) }
        return .array(out)
    }
}
