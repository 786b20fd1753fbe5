import Dispatch
import Foundation
import JSON
import Tensors
import Training

/// One executed command of a session: what was typed, what came back, and how long it took.
public struct Cell: Sendable {
    public var number: Int
    public var command: String
    public var result: CommandResult?
    public var error: String?
    public var seconds: Double
    /// The file the command wrote (`--out`, a PNG, `params export FILE` …),
    /// which `_` and `Out[N]` stand for in a later command.
    public var file: String?

    public var ok: Bool { error == nil }

    /// `{"cell": n, "command": "...", "ok": true, "result": {...}}` or with `"error"`.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("cell", .int(number)), ("command", .string(command)), ("ok", .bool(ok))]
        if let error { pairs.append(("error", .string(error))) }
        if let result { pairs.append(("result", result.json)) }
        pairs.append(("seconds", .double((seconds * 1e4).rounded() / 1e4)))
        return .object(pairs)
    }
}

/// The live session: its state, its commands, its jobs and its transcript.
///
/// The live state is owned by `computeQueue` (DESIGN.md principle 4): mutating
/// commands, commands that run model compute (`CommandSpec.computes`) and job
/// bodies run there, one at a time. Read-only commands run on the caller's
/// thread against the latest published snapshot, so they answer at once even
/// while a job runs. A mutating or computing command typed while a job runs
/// is refused.
public final class Workbench: @unchecked Sendable {
    /// The serial queue that owns the live state.
    public let computeQueue = DispatchQueue(label: "cnx.compute", qos: .userInitiated)
    public let registry: CommandRegistry
    /// Where jobs report progress (the shell draws a bar or prints lines).
    public var onProgress: @Sendable (Job) -> Void = { _ in }
    /// Where a job's start notice goes (a warning that it takes hours): the
    /// shell prints it above the progress bar, scripts on stderr.
    public var onNotice: @Sendable (String) -> Void = { _ in }
    /// The directory relative paths are resolved against.
    public let workingDirectory: URL

    private let lock = NSLock()
    /// Only touched on `computeQueue`.
    private var live = SessionState()
    private var published = SessionState()
    private var _cells: [Cell] = []
    private var _job: Job?
    private var jobCount = 0
    private var _sessionMarks = SessionMarks()

    /// How this session's compute runs (threads for kernels and sampling,
    /// GEMM code): bound around every command and job body, so kernels
    /// never read a process-wide setting. `bench` derives its own from it.
    public let compute: ComputeContext

    public init(registry: CommandRegistry = StandardCommands.registry(),
                workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                compute: ComputeContext = ComputeContext()) {
        self.registry = registry
        self.workingDirectory = workingDirectory
        self.compute = compute
    }

    /// The latest published state: after the last command, or at a job's last step boundary.
    public var snapshot: SessionState { lock.withLock { published } }

    /// Executed cells, in order.
    public var cells: [Cell] { lock.withLock { _cells } }

    /// The job running now, if any.
    public var runningJob: Job? {
        lock.withLock { _job.flatMap { $0.outcome == nil ? $0 : nil } }
    }

    /// The most recent job, running or ended.
    public var lastJob: Job? { lock.withLock { _job } }

    /// What this workbench knows of saved sessions: a loaded session's
    /// transcript and the cell of the last save or load. Not part of the
    /// state a job computes on; `session save|load` change it.
    public var sessionMarks: SessionMarks { lock.withLock { _sessionMarks } }

    /// Changes `sessionMarks` in one step (a save can answer on another
    /// thread than a load).
    public func updateSessionMarks(_ change: (inout SessionMarks) -> Void) {
        lock.withLock { change(&_sessionMarks) }
    }

    /// The number the next cell will get (1-based, like IPython's `In [n]`).
    public var nextCellNumber: Int { lock.withLock { _cells.count + 1 } }

    /// Parses and runs one command's words, records the cell and returns it.
    /// A trailing `&` runs a job the command starts in the background.
    /// `_`, `__`, `___`, `_N` and `Out[N]` refer to earlier outputs
    /// (`OutputReferences`); the cell records the command as it ran, with
    /// the files they stood for. Errors never escape: they are part of the cell.
    @discardableResult
    public func execute(_ tokens: [Token], text: String) -> Cell {
        let start = DispatchTime.now().uptimeNanoseconds
        var words = tokens
        var background = false
        if let last = words.last, last.text == "&", !last.quoted {
            background = true
            words.removeLast()
        }
        let (number, earlier) = lock.withLock { () -> (Int, [Cell]) in
            let n = _cells.count + 1
            let earlier = _cells
            // Reserve the number now so concurrent read-only commands get their own.
            _cells.append(Cell(number: n, command: text, result: nil, error: nil, seconds: 0))
            return (n, earlier)
        }
        var cell = Cell(number: number, command: text, result: nil, error: nil, seconds: 0)
        do {
            switch try OutputReferences.expand(words, cells: earlier) {
            case .show(let n):
                if background { throw ShellError("'\(words[0].text)' shows an earlier output; drop the '&'") }
                cell.result = earlier.first { $0.number == n }!.result
            case .words(let expanded, let changed):
                if changed {
                    words = expanded
                    cell.command = (expanded + (background ? [Token("&")] : [])).enumerated().map { i, token in
                        background && i == expanded.count ? "&" : Tokenizer.quote(token.text)
                    }.joined(separator: " ")
                }
                let invocation = try registry.resolve(words, text: cell.command)
                let result = try compute.run { try run(invocation, background: background) }
                cell.result = result
                cell.file = OutputReferences.writtenFile(invocation, result, workbench: self)
            }
        } catch let error as ShellError {
            cell.error = ErrorText.oneLine(error.message)
        } catch {
            cell.error = ErrorText.oneLine(String(describing: error))
        }
        cell.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.withLock { _cells[number - 1] = cell }
        return cell
    }

    private func run(_ invocation: Invocation, background: Bool) throws -> CommandResult {
        if let replicas = compute.dataParallel {
            // Under mpirun every rank runs each command (docs/distributed.md).
            if background {
                throw ShellError("background jobs are not available under mpirun: drop the '&'")
            }
            if invocation.spec.words.first == "bench" && invocation.spec.words != ["bench", "train"] {
                throw ShellError("'\(invocation.spec.name)' times one process: run it without mpirun (under mpirun, bench train measures the data-parallel step)")
            }
            // A command that changes nothing has no effect but its output and
            // the files it writes: only rank 0 runs it.
            if replicas.rank != 0 && !invocation.spec.mutates { return .message("") }
        }
        if invocation.spec.answersAtOnce {
            if background { throw ShellError("'\(invocation.spec.name)' answers at once; drop the '&'") }
            let context = CommandContext(state: snapshot, workbench: self, background: false)
            return try invocation.spec.run(invocation, context)
        }
        if let job = runningJob {
            throw ShellError("a job is running (\(job.progressText)): wait, or stop it with Ctrl-C")
        }
        if !invocation.spec.mutates {
            // Compute that changes nothing: on the compute queue (so it never
            // shares the cores with a job), against the live state, which it leaves as it was.
            if background { throw ShellError("'\(invocation.spec.name)' does not start a job; drop the '&'") }
            return try computeQueue.sync {
                try compute.run { try invocation.spec.run(invocation, CommandContext(state: live, workbench: self, background: false)) }
            }
        }
        // Run the command on the compute queue against the live state.
        let outcome: Result<(CommandResult, CommandContext), Error> = computeQueue.sync { compute.run {
            let context = CommandContext(state: live, workbench: self, background: background)
            do {
                let result = try invocation.spec.run(invocation, context)
                live = context.state
                lock.withLock { published = live }
                return .success((result, context))
            } catch {
                return .failure(error)
            }
        } }
        let (result, context) = try outcome.get()
        guard let pending = context.pendingJob else {
            if background { throw ShellError("'\(invocation.spec.name)' does not start a job; drop the '&'") }
            return result
        }
        if let notice = pending.notice { onNotice("warning: " + notice) }
        let job = launch(invocation.text, pending)
        if background {
            return .message("job \(job.id) started in the background: \(invocation.text) — 'jobs' shows it, 'wait' waits, 'stop' stops it")
        }
        switch job.wait() {
        case .finished(let jobResult): return jobResult
        case .failed(let message): throw ShellError(message)
        }
    }

    private func launch(_ command: String, _ pending: CommandContext.PendingJob) -> Job {
        let job = lock.withLock { () -> Job in
            jobCount += 1
            let job = Job(id: jobCount, command: command, total: pending.total) { [weak self] job in
                self?.onProgress(job)
            }
            _job = job
            return job
        }
        let control = JobControl(job: job) { [weak self] state in
            guard let self else { return }
            self.lock.withLock { self.published = state }
        }
        computeQueue.async { [self] in
            compute.run { runJob(pending, control: control, job: job) }
        }
        return job
    }

    /// A job's body on the compute queue, with the session's compute context bound.
    private func runJob(_ pending: CommandContext.PendingJob, control: JobControl, job: Job) {
        var state = live
        let outcome: Job.Outcome
        do {
            outcome = .finished(try pending.body(&state, control))
        } catch let error as ShellError {
            outcome = .failed(error.message)
        } catch {
            outcome = .failed(String(describing: error))
        }
        // The body leaves the state consistent whether it returned or threw.
        live = state
        lock.withLock { published = state }
        job.finish(outcome)
    }

    /// Changes the live state outside a command (under mpirun: rank 0's
    /// parameters broadcast after a load), on the compute queue; publishes it.
    public func update(_ body: (inout SessionState) -> String?) -> String? {
        computeQueue.sync {
            let problem = body(&live)
            lock.withLock { published = live }
            return problem
        }
    }

    /// Asks the running job, if any, to stop at its next step boundary.
    /// Returns the job that was asked.
    @discardableResult
    public func cancelRunningJob() -> Job? {
        let job = runningJob
        job?.cancel()
        return job
    }

    /// Resolves a user path against the working directory.
    public func url(for path: String) -> URL {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded) }
        return workingDirectory.appendingPathComponent(expanded)
    }
}

/// The live state of a session (defined in `Training`, so `Sessions` can save it).
public typealias SessionState = WorkbenchState
