import Foundation
import Shell

/// Runs one Jupyter cell: one or more `cnx` lines, in order, through the
/// same `Workbench.execute` the terminal uses. The whole cell is parsed
/// first, so a line that cannot be read runs nothing. A failing command
/// ends the cell; an interrupt stops a job at its next step boundary (as
/// Ctrl-C does) and ends the cell after it.
struct CellRunner {
    let workbench: Workbench
    var renderer = TextRenderer(width: 100, color: false, fits: false)
    /// Asks the user a question and returns the answer (the stdin channel's
    /// `input_request`), or nil when the front end cannot be asked
    /// (`allow_stdin` false): a question is then refused with one line.
    var ask: ((String) -> String?)?

    /// What a cell shows, in order.
    enum Output {
        /// The text of a command that is not the cell's last (stdout).
        case stream(String)
        /// A result that is not the cell's last but holds a table, plot or image (`display_data`).
        case display(CommandResult)
        /// The last command's result (`Out[n]`).
        case result(CommandResult)
    }

    /// Why a cell ended early: Jupyter's `error` content.
    struct Failure: Error, Equatable {
        var ename: String
        var evalue: String
        var traceback: [String]
    }

    /// Runs `code`; `interrupted` is polled between commands.
    func run(_ code: String, interrupted: () -> Bool, emit: (Output) -> Void) -> Failure? {
        let commands: [(line: Int, tokens: [Token])]
        do { commands = try Self.parse(code) } catch { return error }
        for (index, command) in commands.enumerated() {
            let text = command.tokens.map { Tokenizer.quote($0.text) }.joined(separator: " ")
            if interrupted() {
                return Failure(ename: "Interrupted", evalue: "interrupted before line \(command.line) (\(text)); it and the lines after it did not run",
                               traceback: ["line \(command.line): \(text)", "interrupted: the commands from here on did not run"])
            }
            if Repl.isUnforcedLoad(command.tokens), workbench.runningJob == nil, let question = workbench.loadOverUnsavedWorkQuestion {
                guard let ask else {
                    let message = "unsaved work (\(workbench.unsavedWork ?? "")) would be replaced, and this front end cannot be asked "
                        + "(no stdin): save it first with `session save NAME`, or load anyway with `\(text) --force`"
                    return Failure(ename: "CommandError", evalue: message, traceback: ["line \(command.line): \(text)", "error: \(message)"])
                }
                guard Self.isYes(ask(question)) else {
                    emit(.stream("kept the session; nothing was loaded\n"))
                    continue
                }
            }
            let previousJob = workbench.lastJob?.id
            let cell = workbench.execute(command.tokens, text: text)
            if let error = cell.error {
                return Failure(ename: "CommandError", evalue: error, traceback: ["line \(command.line): \(text)", "error: \(error)"])
            }
            if let job = workbench.lastJob, job.id != previousJob, job.state == .stopped {
                if let result = cell.result, case let shown = renderer.render(result), !shown.isEmpty { emit(.stream(shown + "\n")) }
                let step = job.total > 0 ? "step \(job.completed)/\(job.total)" : "step \(job.completed)"
                let message = "job \(job.id) (\(job.command)) stopped after \(step); the session state is consistent"
                return Failure(ename: "Interrupted", evalue: message, traceback: ["line \(command.line): \(text)", "interrupted: \(message)"])
            }
            guard let result = cell.result else { continue }
            if index == commands.count - 1 {
                emit(.result(result))
            } else if MimeBundle.isRich(result) {
                emit(.display(result))
            } else {
                let shown = renderer.render(result)
                if !shown.isEmpty { emit(.stream(shown + "\n")) }
            }
        }
        return nil
    }

    /// `y` or `yes` (any case); anything else, or no answer, is no.
    static func isYes(_ answer: String?) -> Bool {
        ["y", "yes"].contains(answer?.trimmingCharacters(in: .whitespaces).lowercased() ?? "")
    }

    /// The cell's commands with their 1-based line numbers; the first
    /// unreadable line fails the whole cell before anything runs.
    static func parse(_ code: String) throws(Failure) -> [(line: Int, tokens: [Token])] {
        var out: [(line: Int, tokens: [Token])] = []
        for (index, raw) in code.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let number = index + 1
            func refuse(_ message: String) -> Failure {
                Failure(ename: "SyntaxError", evalue: "line \(number): \(message)", traceback: ["line \(number): \(line)", "error: \(message)"])
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line == "exit" || line == "quit" {
                throw refuse("'\(line)' is a cell on its own (it asks the front end to close); the other lines did not run")
            }
            var text = line
            if let words = Repl.helpShortcut(line) {
                text = words.isEmpty ? "help" : "help " + words
            } else if line.hasPrefix("%") {
                throw refuse("magics (%time, %run …) work in the terminal shell only; a kernel cell holds cnx commands")
            }
            do {
                out += try Tokenizer.commands(text).map { (number, $0) }
            } catch {
                throw refuse(error.message)
            }
        }
        return out
    }
}
