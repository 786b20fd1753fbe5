import Foundation
import JSON
import Shell

/// The answers that read code without running it: completion (the shell's
/// Tab completer), inspection (`help CMD` for the command under the cursor)
/// and whether a cell is complete. Positions count Unicode code points, as
/// protocol 5.2+ says.
enum Introspection {
    /// `complete_reply` content for `code` with the cursor at `cursor`.
    static func complete(_ code: String, cursor: Int, workbench: Workbench) -> JSONValue {
        let before = prefix(code, cursor)
        let line = before.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        let completion = Completer(registry: workbench.registry, workingDirectory: workbench.workingDirectory)
            .complete(line, snapshot: workbench.snapshot)
        let end = before.unicodeScalars.count
        return .object([("status", "ok"), ("matches", .array(completion.candidates.map { .string($0) })),
                        ("cursor_start", .int(end - completion.prefix.unicodeScalars.count)), ("cursor_end", .int(end)),
                        ("metadata", .object([]))])
    }

    /// `inspect_reply` content: the help of the longest command (or group)
    /// spelled by the line's words up to the one under the cursor.
    static func inspect(_ code: String, cursor: Int, workbench: Workbench, renderer: TextRenderer) -> JSONValue {
        let words = wordsToCursor(code, cursor)
        var n = words.count
        while n > 0 {
            if let result = try? workbench.registry.help(for: Array(words.prefix(n))) {
                return .object([("status", "ok"), ("found", true),
                                ("data", .object([("text/plain", .string(renderer.render(result)))])), ("metadata", .object([]))])
            }
            n -= 1
        }
        return .object([("status", "ok"), ("found", false), ("data", .object([])), ("metadata", .object([]))])
    }

    /// `is_complete_reply` content: `complete` when every line reads as
    /// commands, `invalid` otherwise (cnx has no multi-line commands).
    static func isComplete(_ code: String) -> JSONValue {
        do {
            _ = try CellRunner.parse(code)
            return .object([("status", "complete")])
        } catch {
            return .object([("status", "invalid")])
        }
    }

    /// The first `cursor` code points of `code` (all of it when out of range).
    static func prefix(_ code: String, _ cursor: Int) -> String {
        let scalars = code.unicodeScalars
        guard cursor >= 0, cursor < scalars.count else { return code }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars.prefix(cursor))
        return String(view)
    }

    /// The words of the cursor's line from its start through the word the cursor is in or after.
    static func wordsToCursor(_ code: String, _ cursor: Int) -> [String] {
        let before = prefix(code, cursor)
        let after = String(code.unicodeScalars.dropFirst(before.unicodeScalars.count))
        let head = before.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        // Finish the word under the cursor.
        let tail = after.prefix { !$0.isWhitespace && $0 != "?" && $0 != ";" }
        let line = (head + tail).split(separator: ";").last.map(String.init) ?? ""
        return line.split(whereSeparator: { $0.isWhitespace || $0 == "?" }).map(String.init)
            .filter { !$0.hasPrefix("-") }
    }
}
