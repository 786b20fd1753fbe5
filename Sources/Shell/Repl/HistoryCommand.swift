import JSON

/// `history`: this session's cells, numbered like the prompt (`In [n]`).
enum HistoryCommand {
    static let spec = CommandSpec(["history"], summary: "List this session's cells: number, command, outcome, time",
                                  help: "Lists the commands typed in this session, numbered like In [n]. Up-arrow and Ctrl-R search the history of earlier sessions too.",
                                  mutates: false) { _, context in
        table(context.workbench.cells.filter { $0.command != "history" || $0.result != nil || $0.error != nil })
    }

    static func table(_ cells: [Cell]) -> CommandResult {
        let rows: [[JSONValue]] = cells.map { cell in
            [.int(cell.number), .string(cell.command),
             .string(cell.error.map { "error: \($0)" } ?? (cell.result == nil ? "running" : "ok")),
             .double((cell.seconds * 1000).rounded() / 1000)]
        }
        return .table(Table(title: "History of this session", columns: [.init("cell"), .init("command"), .init("outcome"), .init("time", unit: "s")], rows: rows))
    }
}
