import Foundation
import JSON
import JaxRandom
import SafeTensors
import Sessions
import Training

/// `session …`, `transcript export`, `history save`: saving, loading,
/// comparing and exporting whole sessions (issue 10).
enum SessionCommands {
    static let top = FlagKey<Int?>("top", help: "show only the N parameters that moved most (relative)", shown: "all")
    static let ipynb = FlagKey<String?>("ipynb", help: "the notebook file to write (FILE.ipynb)", kind: .path)
    /// Read by the front ends that ask before a load (`Repl.isUnforcedLoad`), not by the command.
    static let force = FlagKey<Bool>("force", help: "load without asking about unsaved work (the shell and the Jupyter kernel ask otherwise)")

    static let all: [CommandSpec] = [
        CommandSpec(["session", "save"], summary: "Save the whole session (state, tensors, transcript) under sessions/NAME, atomically",
                    help: "NAME goes under sessions/ in the working directory; a NAME with a '/' is a path. While a job runs, the latest snapshot (its last step boundary) is saved. A stepped step in progress (`step forward` …) is not saved. The previous save of NAME stays loadable until the new one is complete.",
                    arguments: [ArgumentSpec("name", .string, "a session name (or a path containing '/')")],
                    mutates: false) { invocation, context in
            let name = invocation.argument(0)!
            guard name != "live" else { throw ShellError("'live' means the live session in `session diff`: choose another name") }
            let url = try location(name, context)
            let state = context.state
            let transcript = liveTranscript(context.workbench)
            let report = try SessionStore().save(state, transcript: transcript, name: name, to: url, cnxVersion: CNXVersion.string)
            // A save during a job is a snapshot: the job's further steps are still unsaved.
            if context.workbench.runningJob == nil {
                let cell = context.workbench.nextCellNumber - 1
                context.workbench.updateSessionMarks { $0.savedCell = cell }
            }
            var fields: [(String, JSONValue)] = [
                ("session", .string(name)), ("path", .string(url.path)), ("version", .string(report.version)),
                ("mini_steps", .int(state.counters.miniSteps)), ("optimizer_steps", .int(state.counters.optimizerSteps)),
                ("files", .int(report.files)), ("bytes", .int(report.bytes)), ("transcript_cells", .int(report.transcriptCells)),
            ]
            if context.workbench.runningJob != nil {
                fields.append(("note", .string("a job is running: saved its last step boundary (step \(state.counters.miniSteps))")))
            }
            if let cleaned = report.cleaned { fields.append(("removed", .string("left-overs of interrupted saves: \(cleaned)"))) }
            if let dropped = report.droppedPendingStep {
                fields.append(("not_saved", .string("\(dropped) is in progress and not part of the save: finish it with `step` and save again to keep it")))
            }
            return .record(Record(title: "session saved", fields))
        },
        CommandSpec(["session", "load"], summary: "Load a saved session, checked in full before it replaces the live one",
                    help: "Checks the format version, every file's SHA-256, every tensor's presence and shape against the model config, and the optimizer state; on any problem it names the file and tensor and the live session stays as it was. Training continues exactly where the save left off. In the shell and the Jupyter kernel, unsaved work makes it ask first, as exit does (--force loads without asking).",
                    arguments: [ArgumentSpec("name", .string, "a session name (or a path containing '/')")],
                    flags: [force]) { invocation, context in
            let name = invocation.argument(0)!
            let url = try location(name, context)
            let saved = try SessionStore().load(url, name: name)
            var state = try saved.makeState()
            // The live session's runs stay comparable: its current run ends here.
            var previous = context.state
            previous.endRun()
            state.runLog.finished = previous.runLog.finished
            state.runLog.current = previous.runLog.current
            context.state = state
            let cellNumber = context.workbench.nextCellNumber - 1
            context.workbench.updateSessionMarks {
                $0.carried = (saved.transcript, cellNumber)
                $0.savedCell = cellNumber
            }
            var fields: [(String, JSONValue)] = [
                ("session", .string(name)), ("saved", .string(ISO8601DateFormatter().string(from: saved.manifest.created))),
                ("model", .string(saved.modelDescription)), ("mini_steps", .int(state.counters.miniSteps)),
                ("optimizer_steps", .int(state.counters.optimizerSteps)),
                ("data_cursor", .string("epoch \(state.counters.cursor.epoch) sample \(state.counters.cursor.sample)")),
                ("transcript", .string("\(saved.transcript.count) cells (session export \(name) --ipynb FILE shows them)")),
            ]
            if let cleaned = saved.cleaned { fields.append(("removed", .string("left-overs of interrupted saves: \(cleaned)"))) }
            if let dropped = saved.manifest.droppedPendingStep {
                fields.append(("not_saved", .string("\(dropped) was in progress when it was saved and is not part of it")))
            }
            return .record(Record(title: "session loaded", fields))
        },
        CommandSpec(["session", "list"], summary: "Saved sessions under sessions/: name, date, model, step, size",
                    mutates: false) { _, context in
            let dir = SessionLocation.directory(workingDirectory: context.workbench.workingDirectory)
            let listings = SessionStore().list(in: dir)
            if listings.isEmpty { return .message("no saved sessions in \(dir.path) (save one with `session save NAME`)") }
            let rows: [[JSONValue]] = listings.map { l in
                guard let m = l.manifest else {
                    return [.string(l.name), .string("-"), .string("damaged: \(l.problem ?? "?")"), .null, .null]
                }
                return [.string(l.name), .string(ISO8601DateFormatter().string(from: m.created)), .string(m.modelDescription),
                        .int(m.counters.miniSteps), .int(l.bytes)]
            }
            return .table(Table(title: "saved sessions in \(dir.path)",
                                columns: [.init("name"), .init("date"), .init("model"), .init("step"), .init("size", unit: "B")],
                                rows: rows))
        },
        CommandSpec(["session", "diff"], summary: "Compare two sessions: settings, steps, and each parameter's relative L2 distance",
                    help: "A and B are saved session names (or paths); `.` or `live` means the live session. Relative distance is ‖B − A‖ / ‖A‖ per parameter (blank where ‖A‖ = 0, e.g. biases that start at zero) — e.g. save before and after `train steps 100` to see what 100 steps changed.",
                    arguments: [ArgumentSpec("a", .string, "a session name, or . / live"),
                                ArgumentSpec("b", .string, "a session name, or . / live")],
                    flags: [top],
                    mutates: false) { invocation, context in
            let a = try side(invocation.argument(0)!, context), b = try side(invocation.argument(1)!, context)
            let diff = SessionDiff.compare(a, b)
            var results: [CommandResult] = []
            results.append(.table(Table(title: "\(a.label) → \(b.label)", columns: [.init("counter"), .init(a.label), .init(b.label)],
                                        rows: diff.steps.map { [.string($0.name), .string($0.a), .string($0.b)] })))
            if diff.settings.isEmpty {
                results.append(.message("settings: the same (model, optimizer, data, keys)"))
            } else {
                // Key rows carry the words (integers in --json, hex in text, as `rng show`).
                func value(_ change: SessionDiff.Change, _ side: SessionDiff.Side, _ text: String) -> JSONValue {
                    guard change.name.hasPrefix("keys."), let key = try? side.state.keys.key(String(change.name.dropFirst(5))) else {
                        return .string(text)
                    }
                    return KeyWords.json(key)
                }
                results.append(.table(Table(title: "settings that differ",
                                            columns: [.init("setting"), .init(a.label, format: .keyWords), .init(b.label, format: .keyWords)],
                                            rows: diff.settings.map { [.string($0.name), value($0, a, $0.a), value($0, b, $0.b)] })))
            }
            var params = diff.parameters
            if let top = invocation[SessionCommands.top] {
                guard top >= 1 else { throw ShellError("--top must be at least 1") }
                params = Array(params.sorted { ($0.relative ?? -1, $0.distance) > ($1.relative ?? -1, $1.distance) }.prefix(top))
            }
            if !params.isEmpty {
                results.append(.table(Table(title: "parameters (relative L2 distance ‖B − A‖ / ‖A‖)",
                                            columns: [.init("path"), .init("count"), .init("‖A‖"), .init("‖B‖"), .init("‖B − A‖"), .init("relative")],
                                            rows: params.map { [.string($0.path), .int($0.count), .double($0.normA), .double($0.normB),
                                                                .double($0.distance), $0.relative.map { .double($0) } ?? .null] },
                                            footer: [.string("all"), .int(diff.parameters.reduce(0) { $0 + $1.count }), .null, .null, .null,
                                                     .double(diff.totalRelative)])))
            } else if a.state.params == nil || b.state.params == nil {
                results.append(.message("parameters: \(a.state.params == nil ? a.label : b.label) has none to compare"))
            }
            if !diff.unmatched.isEmpty {
                results.append(.message("\(diff.unmatched.count) parameter(s) are in only one side or differ in shape, e.g. \(diff.unmatched[0])"))
            }
            return .group(results)
        },
        CommandSpec(["session", "export"], summary: "Write a saved session's transcript as a Jupyter notebook (nbformat 4)",
                    arguments: [ArgumentSpec("name", .string, "a saved session name (or a path containing '/')")],
                    flags: [ipynb],
                    mutates: false) { invocation, context in
            guard let file = invocation[ipynb] else { throw ShellError("`session export` needs --ipynb FILE.ipynb") }
            let name = invocation.argument(0)!
            let saved = try SessionStore().load(try location(name, context), name: name)
            let notes = ["Session `\(name)` saved \(ISO8601DateFormatter().string(from: saved.manifest.created)) by cnx \(saved.manifest.cnxVersion): \(saved.modelDescription), \(saved.state.counters.miniSteps) steps."]
            return try writeNotebook(title: "cnx session \(name)", cells: saved.transcript, notes: notes, file: file, context)
        },
        CommandSpec(["transcript", "export"], summary: "Write this session's transcript as a Jupyter notebook (nbformat 4)",
                    help: "One code cell per command with its text output; PNG results (previews, plots) become image outputs.",
                    arguments: [ArgumentSpec("file", .path, "FILE.ipynb")], mutates: false) { invocation, context in
            try writeNotebook(title: "cnx session", cells: liveTranscript(context.workbench),
                              notes: ["Exported from the live session by cnx \(CNXVersion.string)."], file: invocation.argument(0)!, context)
        },
        CommandSpec(["history", "save"], summary: "Write this session's commands as a replayable script (cnx run FILE)",
                    help: "Failed commands, session/history/transcript commands and `stop` are kept as comments; `CMD &` becomes `CMD` and `wait`/`jobs` are dropped, so the script replays deterministically. After `session load`, the loaded session's commands come first.",
                    arguments: [ArgumentSpec("file", .path, "FILE.cnx")], mutates: false) { invocation, context in
            let cells = liveTranscript(context.workbench)
            let script = replayScript(cells, date: Date())
            let url = context.workbench.url(for: invocation.argument(0)!)
            try AtomicFile.write(Data(script.text.utf8), to: url)
            return .message("wrote \(script.commands) command(s) (\(script.comments) kept as comments) to \(url.path); replay with `cnx run \(url.path)`")
        },
    ]

    // MARK: Helpers

    /// Whether leaving would lose work: a job is running, or a command that
    /// changes the session succeeded after the last save or load.
    static func hasUnsavedWork(_ workbench: Workbench) -> Bool {
        workbench.runningJob != nil || unsavedCommands(workbench) > 0
    }

    /// How many commands that changed the session succeeded after the last
    /// save or load (all of them when nothing was saved or loaded).
    static func unsavedCommands(_ workbench: Workbench) -> Int {
        let since = workbench.sessionMarks.savedCell ?? 0
        return workbench.cells.filter { cell in
            guard cell.number > since, cell.ok, cell.result != nil,
                  var tokens = (try? Tokenizer.commands(cell.command))?.first else { return false }
            // `CMD &` ran CMD in the background: judge CMD.
            if let last = tokens.last, last.text == "&", !last.quoted { tokens.removeLast() }
            guard let invocation = try? workbench.registry.resolve(tokens, text: cell.command) else { return false }
            return invocation.spec.mutates
        }.count
    }

    static func location(_ name: String, _ context: CommandContext) throws -> URL {
        try SessionLocation.resolve(name, workingDirectory: context.workbench.workingDirectory)
    }

    /// `.`/`live` → the live state (the latest snapshot); anything else a saved session (without its data).
    static func side(_ name: String, _ context: CommandContext) throws -> SessionDiff.Side {
        if name == "." || name == "live" { return SessionDiff.Side(label: "live", live: context.state) }
        let saved = try SessionStore().load(try location(name, context), name: name)
        return SessionDiff.Side(label: name, state: saved.state, data: saved.manifest.data)
    }

    static func writeNotebook(title: String, cells: [TranscriptCell], notes: [String], file: String,
                              _ context: CommandContext) throws -> CommandResult {
        let url = context.workbench.url(for: file)
        let data = try Notebook.make(title: title, cells: cells, notes: notes)
        try AtomicFile.write(data, to: url)
        let images = cells.reduce(0) { $0 + $1.images.count }
        return .message("wrote \(cells.count) cell(s)\(images > 0 ? " and \(images) image(s)" : "") to \(url.path) (nbformat 4; open it with Jupyter)")
    }

    /// The live session's transcript: a loaded session's cells, then this
    /// workbench's cells from the `session load` on (all of them when
    /// nothing was loaded). Cells still running are left out.
    static func liveTranscript(_ workbench: Workbench) -> [TranscriptCell] {
        let carried = workbench.sessionMarks.carried
        let own = workbench.cells.filter { $0.result != nil || $0.error != nil }
            .filter { $0.number >= (carried?.fromCell ?? 0) }
        return (carried?.cells ?? []) + own.map(transcriptCell)
    }

    static func transcriptCell(_ cell: Cell) -> TranscriptCell {
        TranscriptCell(number: cell.number, command: cell.command, ok: cell.ok, error: cell.error,
                       result: cell.result.map(\.json),
                       text: cell.result.map { TextRenderer(width: 100, color: false).render($0) } ?? "",
                       images: cell.result.map(images) ?? [], seconds: cell.seconds)
    }

    static func images(_ result: CommandResult) -> [TranscriptImage] {
        switch result {
        case .image(let i): return [TranscriptImage(title: i.title, file: i.path)]
        case .group(let items): return items.flatMap(images)
        default: return []
        }
    }

    /// A transcript as a `.cnx` script.
    static func replayScript(_ cells: [TranscriptCell], date: Date) -> (text: String, commands: Int, comments: Int) {
        var lines = ["# cnx session history, written by `history save` on \(ISO8601DateFormatter().string(from: date))",
                     "# replay with: cnx run FILE"]
        var commands = 0, comments = 0
        func comment(_ s: String) { lines.append("# " + s.replacingOccurrences(of: "\n", with: " ")); comments += 1 }
        for (index, cell) in cells.enumerated() {
            var words = ((try? Tokenizer.commands(cell.command)) ?? []).first?.map(\.text) ?? []
            guard let first = words.first else { continue }
            guard cell.ok else { comment("failed: \(cell.command) — \(cell.error ?? "")"); continue }
            switch first {
            case "session" where words.count > 1 && words[1] == "load" && index > 0:
                comment("\(cell.command) (its commands are above)")
                continue
            case "session" where words.count > 1 && words[1] == "load":
                break
            case "session", "history", "transcript":
                comment(cell.command)
                continue
            case "stop":
                comment("\(cell.command) (not replayable: a job stopped at a time-dependent step)")
                continue
            case "wait", "jobs", "exit", "quit":
                continue
            default:
                break
            }
            var text = cell.command
            if words.last == "&" {
                words.removeLast()
                text = String(text.trimmingCharacters(in: .whitespaces).dropLast()).trimmingCharacters(in: .whitespaces)
            }
            lines.append(text)
            commands += 1
        }
        return (lines.joined(separator: "\n") + "\n", commands, comments)
    }
}
