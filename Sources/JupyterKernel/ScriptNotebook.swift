import Foundation
import JSON
import Sessions

/// A `.cnx` script as a notebook for the cnx kernel (`cnx kernel notebook`;
/// the notebooks in examples/notebooks are made so): each block of comment
/// lines becomes a markdown cell (its first line a heading when it opens
/// the script; indented comment lines become a code block), each block of
/// consecutive command lines one code cell, without outputs. Blank lines
/// separate blocks. The same script always gives the same bytes.
public enum ScriptNotebook {
    /// The notebook's JSON. `source` (the script's file name) is named in the notebook's first cell.
    public static func make(script: String, source: String) throws -> Data {
        var cells: [JSONValue] = []
        var comments: [String] = [], commands: [String] = []
        func flushComments() {
            guard !comments.isEmpty else { return }
            if cells.isEmpty, !comments[0].isEmpty {
                comments[0] = "# " + comments[0]
                comments.insert(contentsOf: ["", "*Made from `\(source)` by `cnx kernel notebook`; it runs on the cnx kernel (`cnx kernel install`).*"], at: 1)
            }
            cells.append(cell("markdown", id: "md-\(cells.count + 1)", text: markdown(comments)))
            comments = []
        }
        func flushCommands() {
            guard !commands.isEmpty else { return }
            cells.append(cell("code", id: "code-\(cells.count + 1)", text: commands.joined(separator: "\n")))
            commands = []
        }
        for raw in script.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty {
                flushComments(); flushCommands()
            } else if line.hasPrefix("#") {
                flushCommands()
                var text = String(line.dropFirst())
                if text.hasPrefix(" ") { text.removeFirst() }
                comments.append(text)
            } else {
                flushComments()
                commands.append(line)
            }
        }
        flushComments(); flushCommands()
        return try Notebook.encode(cells: cells)
    }

    /// Writes `DIR/NAME.ipynb` for each `NAME.cnx`; returns the files written.
    public static func generate(scripts: [URL], into dir: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return try scripts.map { script in
            guard let text = try? String(contentsOf: script, encoding: .utf8) else {
                throw KernelError("cannot read the script \(script.path)")
            }
            let out = dir.appendingPathComponent(script.deletingPathExtension().lastPathComponent + ".ipynb")
            try make(script: text, source: script.lastPathComponent).write(to: out, options: .atomic)
            return out
        }
    }

    /// Comment lines as markdown: runs of indented lines (commands quoted in a comment) become fenced code blocks.
    static func markdown(_ lines: [String]) -> String {
        var out: [String] = [], fenced = false
        for line in lines {
            let indented = line.hasPrefix("  ")
            if indented != fenced { out.append("```"); fenced = indented }
            out.append(indented ? String(line.dropFirst(2)) : line)
        }
        if fenced { out.append("```") }
        return out.joined(separator: "\n")
    }

    private static func cell(_ type: String, id: String, text: String) -> JSONValue {
        var fields: [(String, JSONValue)] = [("cell_type", .string(type)), ("id", .string(id)), ("metadata", .object([])),
                                             ("source", Notebook.lines(text))]
        if type == "code" { fields += [("execution_count", .null), ("outputs", .array([]))] }
        return .object(fields)
    }
}
