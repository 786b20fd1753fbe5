import Dispatch
import Foundation

/// The interactive shell (IPython for ConvNeXt): numbered `In [n]:` /
/// `Out[n]:` cells, libedit line editing with Tab completion and persistent
/// history, magics (`%time`, `%timeit`, `%history`, `%reset`), and job
/// control that keeps Ctrl-C from ever killing the session.
///
/// Threads: everything here, libedit included, runs on the caller's thread.
/// A foreground command runs `Workbench.execute` on a helper thread while this
/// thread draws its progress bar and watches for Ctrl-C; background jobs
/// report through `WakePipe` lines shown above the prompt.
public final class Repl {
    public private(set) var workbench: Workbench
    private var renderer: TextRenderer
    private let color: Bool
    private let wake = WakePipe()
    private let history: HistoryStore
    private let editor: LineEditor
    private let relay: ProgressRelay
    /// Ids of jobs started with `&` whose end was not yet announced.
    private var backgroundJobs: Set<Int> = []
    private var historyWarned = false

    /// - Parameters:
    ///   - color: ANSI colour allowed (a terminal and no `NO_COLOR`).
    ///   - historyURL: the history file (`HistoryStore.defaultURL()`).
    public init(workbench: Workbench, color: Bool, historyURL: URL = HistoryStore.defaultURL()) {
        self.workbench = workbench
        self.color = color
        renderer = TextRenderer(width: LineEditor.terminalColumns(), color: color, fits: true)
        history = HistoryStore(url: historyURL)
        editor = LineEditor(history: history, wake: wake)
        relay = ProgressRelay(wake: wake)
        attach(workbench)
        editor.complete = { [unowned self] text in
            Completer(registry: self.workbench.registry, workingDirectory: self.workbench.workingDirectory)
                .complete(text, snapshot: self.workbench.snapshot)
        }
        editor.idleLines = { [unowned self] in self.finishedBackgroundJobs() }
        editor.onInterrupt = { [unowned self] in
            guard let job = self.workbench.cancelRunningJob() else { return }
            self.wake.show(self.paint("stopping job \(job.id) (\(job.progressText)) at the next step boundary; 'jobs' shows it", "33"))
        }
    }

    private func attach(_ workbench: Workbench) {
        let relay = relay
        workbench.onProgress = { job in relay.progress(job) }
        let wake = wake, color = color
        workbench.onNotice = { line in wake.show(color ? "\u{1B}[33m\(line)\u{1B}[0m" : line) }
    }

    /// Runs until Ctrl-D, `exit` or `quit`; returns the exit status.
    public func run() -> Int32 {
        // SIGTERM/SIGHUP end the shell at once: history is already saved after
        // every line; the terminal gets its settings back.
        let restore = editor.terminalRestorer()
        wake.catchSignals { signo in
            restore()
            _exit(128 + signo)
        }
        editor.holdTypeAhead()
        defer { editor.restoreTerminal() }
        out(Banner.lines(workbench.snapshot, processes: workbench.compute.dataParallel?.count ?? 1).flatMap { Width.wrap($0, renderer.width) }.joined(separator: "\n"))
        while true {
            switch editor.readLine(prompt: prompt(workbench.nextCellNumber)) {
            case .interrupted:
                continue
            case .endOfInput:
                out("")
                if confirmExit() { return leave() }
            case .line(let line):
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                history.add(line)
                saveHistory()
                if trimmed == "exit" || trimmed == "quit" {
                    if confirmExit() { return leave() }
                    continue
                }
                if let words = Self.helpShortcut(trimmed) {
                    runLine(words.isEmpty ? "help" : "help " + words)
                } else if trimmed.hasPrefix("%") {
                    if workbench.compute.dataParallel != nil {
                        err(paint("error: magics are not available under mpirun (they time or replay on one process): type the commands themselves", "31"))
                    } else {
                        magic(trimmed)
                    }
                } else {
                    runLine(line)
                }
            }
        }
    }

    private func leave() -> Int32 {
        if let job = workbench.cancelRunningJob() {
            err("stopping job \(job.id) (\(job.progressText)) before leaving")
            _ = job.wait(seconds: 5)
        }
        // Under mpirun: an empty line tells the other ranks to leave too (`ReplicaFollower`).
        if let replicas = workbench.compute.dataParallel { _ = replicas.broadcast([], from: 0) }
        saveHistory()
        return 0
    }

    /// Whether to leave: at once when nothing would be lost or standard input
    /// is not a terminal (nobody to ask); otherwise only on `y`. Ctrl-D at the
    /// question (end of input) leaves too, so a closed terminal never loops.
    private func confirmExit() -> Bool {
        guard isatty(0) != 0, let question = workbench.unsavedWorkQuestion else { return true }
        guard ask(paint(question, "33")) ?? true else {
            out("kept the session")
            return false
        }
        return true
    }

    // MARK: - Cells

    private func runLine(_ line: String) {
        // Under mpirun every rank runs the line (`ReplicaFollower`), and the
        // ranks agree on each command's outcome before it is shown.
        let replicas = workbench.compute.dataParallel
        if let replicas { _ = replicas.broadcast(Array(line.utf8), from: 0) }
        let commands: [[Token]]
        do { commands = try Tokenizer.commands(line) } catch { return err(paint("error: \(error.message)", "31")) }
        for tokens in commands {
            // (Under mpirun the other ranks load regardless: no question there.)
            if replicas == nil, Self.isUnforcedLoad(tokens), !confirmLoad() { continue }
            var cell = runCell(tokens)
            if let replicas { cell.error = ScriptRunner.agree(cell.error, tokens, workbench, replicas) }
            show(cell)
        }
    }

    /// Whether `tokens` are `session load …` without `--force` (which loads without asking).
    public static func isUnforcedLoad(_ tokens: [Token]) -> Bool {
        tokens.count >= 2 && tokens[0].text == "session" && tokens[1].text == "load"
            && !tokens.contains { $0.text == "--force" && !$0.quoted }
    }

    /// A cell's text: its tokens re-quoted so it replays; a trailing `&` stays bare.
    static func cellText(_ tokens: [Token]) -> String {
        let background = tokens.last.map { $0.text == "&" && !$0.quoted } ?? false
        return tokens.enumerated().map { i, token in
            background && i == tokens.count - 1 ? "&" : Tokenizer.quote(token.text)
        }.joined(separator: " ")
    }

    /// Whether `session load` may replace the live session: asked, as exit
    /// asks, when it holds unsaved work (a running job refuses the load anyway).
    private func confirmLoad() -> Bool {
        guard isatty(0) != 0, workbench.runningJob == nil, let question = workbench.loadOverUnsavedWorkQuestion else { return true }
        guard ask(paint(question, "33")) == true else {
            out("kept the session; nothing was loaded")
            return false
        }
        return true
    }

    /// Runs one command as a cell. The command runs on a helper thread; this
    /// thread draws the progress bar of a job it starts and handles Ctrl-C.
    private func runCell(_ tokens: [Token]) -> Cell {
        let background = tokens.last.map { $0.text == "&" && !$0.quoted } ?? false
        let text = Self.cellText(tokens)
        let workbench = workbench
        let previousJob = workbench.lastJob?.id
        let box = CellBox()
        relay.setForeground(!background)
        let wake = wake
        let thread = Thread {
            box.set(workbench.execute(tokens, text: text))
            wake.post(.done)
        }
        thread.stackSize = 8 << 20
        thread.start()

        var interrupts = 0
        var throttle = RedrawThrottle(interval: 0.1)
        var barShown = false
        var columns = LineEditor.terminalColumns()
        let began = DispatchTime.now().uptimeNanoseconds
        /// The job this cell watches: the one it started in the foreground, or
        /// (for `wait`, or any command still running after 0.3 s) the running job.
        var watched: Job?
        var cancelled: Job?
        func drawBar(_ job: Job) {
            let bar = ProgressBar(completed: job.completed, total: job.total,
                                  elapsed: job.elapsed, postfix: job.line)
            err("\r" + bar.render(width: columns - 1) + "\u{1B}[K", newline: false)
            barShown = true
        }
        while box.cell == nil {
            var fd = pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&fd, 1, 100)
            let events = wake.drain()
            if events.contains(.resize) { columns = LineEditor.terminalColumns() }
            for line in wake.takeLines() { err("\r\u{1B}[K" + line) }
            if watched == nil, !background {
                if let job = workbench.lastJob, job.id != previousJob {
                    watched = job
                } else if DispatchTime.now().uptimeNanoseconds - began > 300_000_000 || events.contains(.interrupt) {
                    watched = workbench.runningJob
                }
            }
            for _ in events.filter({ $0 == .interrupt }) {
                interrupts += 1
                if barShown { err(""); barShown = false }
                if let job = watched, job.outcome == nil {
                    if cancelled == nil {
                        job.cancel()
                        cancelled = job
                        err(paint("stopping job \(job.id) (\(job.progressText)) at the next step boundary…", "33"))
                    } else {
                        err(paint("still stopping: step \(job.completed + 1) of \(job.command) cannot be abandoned safely (its update is not yet applied), so it runs to its end and the state stays consistent", "33"))
                    }
                } else {
                    err(paint("'\(text)' is not a job and cannot be interrupted; it ends by itself", "33"))
                }
            }
            if box.cell == nil, let job = watched, job.outcome == nil, job.completed > 0,
               throttle.allow(at: Double(DispatchTime.now().uptimeNanoseconds) / 1e9) {
                drawBar(job)
            }
        }
        relay.setForeground(false)
        let cell = box.cell!
        if let job = watched {
            if barShown { drawBar(job); err("") }
            if let job = cancelled {
                let step = job.total > 0 ? "step \(job.completed)/\(job.total)" : "step \(job.completed)"
                err(paint("interrupted: job \(job.id) (\(job.command)) stopped after \(step); the session state is consistent", "33"))
                backgroundJobs.remove(job.id)
            }
        }
        if background, cell.error == nil, let job = workbench.lastJob, job.id != previousJob {
            backgroundJobs.insert(job.id)
        }
        // `wait` showed how the job ended: that was its notice.
        if tokens.first?.text == "wait", let job = workbench.lastJob, job.outcome != nil {
            backgroundJobs.remove(job.id)
        }
        return cell
    }

    private func show(_ cell: Cell) {
        renderer.width = LineEditor.terminalColumns()
        if let error = cell.error {
            err(paint("error: \(error)", "31"))
        } else if let result = cell.result {
            let text = renderer.render(result)
            guard !text.isEmpty else { return }
            let label = color ? "\u{1B}[31mOut[\u{1B}[1m\(cell.number)\u{1B}[22m]:\u{1B}[0m" : "Out[\(cell.number)]:"
            let fitsBeside = !text.contains("\n") && "Out[\(cell.number)]: \(text)".count <= renderer.width
            let shown = fitsBeside ? "\(label) \(text)" : "\(label)\n\(text)"
            if let pager = Pager.current(color: color, wake: wake) {
                pager.show(shown) { out($0, newline: false) }
            } else {
                out(shown)
            }
        }
    }

    /// The end of background jobs, announced above the prompt once each.
    private func finishedBackgroundJobs() -> [String] {
        guard let job = workbench.lastJob, backgroundJobs.contains(job.id), let outcome = job.outcome else { return [] }
        backgroundJobs.remove(job.id)
        switch outcome {
        case .finished where job.state == .stopped:
            return [paint("[job \(job.id)] stopped after step \(job.completed): \(job.command) — 'wait' shows its result", "33")]
        case .finished: return [paint("[job \(job.id)] done: \(job.command) — 'wait' shows its result", "32")]
        case .failed(let message): return [paint("[job \(job.id)] failed: \(message)", "31")]
        }
    }

    /// IPython's `CMD?` and `?CMD`: the command words to explain, or nil
    /// when the line is not a help shortcut (a `?` inside quotes is text).
    public static func helpShortcut(_ line: String) -> String? {
        guard !line.contains("\""), !line.contains("'") else { return nil }
        var words = line
        if words.hasPrefix("?") { words.removeFirst() } else if words.hasSuffix("?") { words.removeLast() } else { return nil }
        while words.hasSuffix("?") { words.removeLast() }  // `CMD??` as `CMD?`
        return words.trimmingCharacters(in: .whitespaces)
    }

    // MARK: - Magics

    private func magic(_ line: String) {
        let name = String(line.prefix { !$0.isWhitespace })
        let rest = String(line.dropFirst(name.count)).trimmingCharacters(in: .whitespaces)
        switch name {
        case "%time":
            guard !rest.isEmpty else { return err(paint("error: %time needs a command, e.g. %time model init", "31")) }
            let commands: [[Token]]
            do { commands = try Tokenizer.commands(rest) } catch { return err(paint("error: \(error.message)", "31")) }
            let cpu0 = Magic.cpuTime(), t0 = DispatchTime.now().uptimeNanoseconds
            var rate: Double?
            for tokens in commands {
                let cell = runCell(tokens)
                show(cell)
                rate = Magic.imagesPerSecond(cell.result) ?? rate
            }
            let cpu1 = Magic.cpuTime(), wall = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            out(Magic.timeReport(wall: wall, user: cpu1.user - cpu0.user, system: cpu1.system - cpu0.system, imagesPerSecond: rate))
        case "%timeit":
            guard !rest.isEmpty else { return err(paint("error: %timeit needs a read-only command, e.g. %timeit help", "31")) }
            do { out(try Magic.timeit(rest, workbench: workbench)) } catch { err(paint("error: \(ErrorText.oneLine(error.message))", "31")) }
        case "%history":
            out(renderer.render(HistoryCommand.table(workbench.cells)))
        case "%lsmagic":
            out(renderer.render(.group([.table(Magic.table), .message(OutputReferences.summary)])))
        case "%run":
            guard !rest.isEmpty else { return err(paint("error: %run needs a file, e.g. %run examples/tour.cnx", "31")) }
            var url = workbench.url(for: rest)
            // A bare lesson name (`%run tour`) runs the shipped example from any directory.
            if !FileManager.default.fileExists(atPath: url.path), let lesson = ExampleLibrary.lesson(rest) { url = lesson }
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                return err(paint("error: cannot read \(url.path): check the path (relative paths start at \(workbench.workingDirectory.path))", "31"))
            }
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let command = line.trimmingCharacters(in: .whitespacesAndNewlines)
                if command.isEmpty || command.hasPrefix("#") { continue }
                out(paint("In [\(workbench.nextCellNumber)]: ", "32") + command)
                let before = workbench.cells.count
                runLine(command)
                if workbench.cells.dropFirst(before).contains(where: { !$0.ok }) {
                    return err(paint("%run \(rest):\(index + 1): stopped at the first error", "31"))
                }
            }
        case "%reset":
            if let job = workbench.runningJob {
                return err(paint("error: a job is running (\(job.progressText)): wait, or stop it with Ctrl-C, then %reset", "31"))
            }
            guard ask("Reset the session? Its model, optimizer, keys and cells are dropped. [y/N] ") == true else {
                return out("kept the session")
            }
            workbench = Workbench(registry: workbench.registry, workingDirectory: workbench.workingDirectory,
                                  compute: workbench.compute)
            attach(workbench)
            backgroundJobs.removeAll()
            out("fresh session")
        default:
            err(paint("error: unknown magic '\(ErrorText.oneLine(name))'; magics: \(Magic.names.joined(separator: ", "))", "31"))
        }
    }

    /// Asks a yes/no question on the terminal; nil at end of input, false on Ctrl-C.
    private func ask(_ question: String) -> Bool? {
        // Cooked and echoing while the answer is typed; before the question
        // shows, so an answer typed as soon as it appears is read as a line.
        editor.restoreTerminal()
        defer { editor.holdTypeAhead() }
        out(question, newline: false)
        var answer: [UInt8] = []
        while true {
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 2, -1)
            if fds[1].revents != 0, wake.drain().contains(.interrupt) { out(""); return false }
            if fds[0].revents != 0 {
                var byte: UInt8 = 0
                if read(0, &byte, 1) <= 0 { out(""); return nil }
                if byte == 0x0A { break }
                answer.append(byte)
            }
        }
        let text = String(decoding: answer, as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
        return text == "y" || text == "yes"
    }

    // MARK: - Output

    private func prompt(_ n: Int) -> String {
        guard color else { return "In [\(n)]: " }
        // \1 … \1 marks escapes libedit must not count as columns.
        return "\u{1}\u{1B}[32m\u{1}In [\u{1}\u{1B}[1m\u{1}\(n)\u{1}\u{1B}[22m\u{1}]:\u{1}\u{1B}[0m\u{1} "
    }

    private func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    private func saveHistory() {
        do { try history.save() } catch {
            if !historyWarned { err("warning: \(error)") }
            historyWarned = true
        }
    }

    private func out(_ text: String, newline: Bool = true) {
        FileHandle.standardOutput.write(Data((text + (newline ? "\n" : "")).utf8))
    }

    private func err(_ text: String, newline: Bool = true) {
        FileHandle.standardError.write(Data((text + (newline ? "\n" : "")).utf8))
    }
}

/// The cell a helper thread produced.
private final class CellBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _cell: Cell?
    var cell: Cell? { lock.withLock { _cell } }
    func set(_ cell: Cell) { lock.withLock { _cell = cell } }
}

/// Turns job progress (reported on the compute queue) into lines above the
/// prompt for background jobs, at most one every 5 s per job (and the last step). Foreground jobs
/// are drawn by the shell's own loop as a bar instead.
final class ProgressRelay: @unchecked Sendable {
    private let wake: WakePipe
    private let lock = NSLock()
    private var foreground = false
    private var lastLine: [Int: Double] = [:]

    init(wake: WakePipe) { self.wake = wake }

    func setForeground(_ on: Bool) { lock.withLock { foreground = on } }

    func progress(_ job: Job) {
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        let due = lock.withLock { () -> Bool in
            if foreground { return false }
            if let last = lastLine[job.id], now - last < 5, job.completed < job.total { return false }
            lastLine[job.id] = now
            return true
        }
        guard due else { return }
        let bar = ProgressBar(completed: job.completed, total: job.total,
                              elapsed: job.elapsed, postfix: job.line)
        wake.show("[job \(job.id)] " + bar.render(width: min(70, LineEditor.terminalColumns() - 12)))
    }
}
