import Dispatch
import Foundation
import JSON
import Shell

/// `cnx kernel`: the workbench behind a Jupyter front end, speaking the
/// messaging protocol 5.3 over ZeroMQ.
///
/// Threads: the shell channel (requests in order; a cell runs here through
/// `Workbench.execute`, so a job runs to completion inside its cell), the
/// control channel (interrupt, shutdown, kernel info: answered while a cell
/// runs), and the heartbeat. iopub is shared through a lock; the stdin
/// channel asks the questions the terminal asks (`session load` or `exit`
/// over unsaved work) when the request allows it, from the shell thread.
public final class JupyterKernel: @unchecked Sendable {
    public let workbench: Workbench
    public let connection: ConnectionInfo
    private let signer: MessageSigner
    private let session = UUID().uuidString.lowercased()
    private let log: @Sendable (String) -> Void
    private let context: ZMQContext
    private let shell: ZMQSocket
    private let control: ZMQSocket
    private let stdin: ZMQSocket
    private let iopub: IOPubChannel
    private let heartbeat: Heartbeat
    private let progress: ProgressDisplay
    private let renderer = TextRenderer(width: 100, color: false, fits: false)

    private let lock = NSLock()
    private var _stopping = false
    private var _interrupted = false
    private var threadsLeft = 3
    private let stopped = DispatchSemaphore(value: 0)
    /// Shell thread only.
    private var executionCount = 0
    private var history: [(count: Int, code: String)] = []
    /// Requests that were queued when a cell failed with `stop_on_error`.
    private var queuedBehindFailure: [[[UInt8]]]?
    private var wake: WakePipe?

    /// Binds the five channels; `start` or `run` serves them.
    /// - Parameter log: where dropped messages and socket failures are reported (stderr).
    public init(connection: ConnectionInfo, workbench: Workbench,
                log: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws {
        self.connection = connection
        self.workbench = workbench
        self.log = log
        signer = try MessageSigner(key: connection.key, scheme: connection.signatureScheme)
        context = try ZMQContext()
        shell = try ZMQSocket(context, .router)
        control = try ZMQSocket(context, .router)
        stdin = try ZMQSocket(context, .router)
        let pub = try ZMQSocket(context, .pub)
        let hb = try ZMQSocket(context, .rep)
        for (socket, port) in [(shell, connection.shellPort), (control, connection.controlPort), (stdin, connection.stdinPort),
                               (pub, connection.iopubPort), (hb, connection.hbPort)] {
            try socket.bind(connection.endpoint(port))
        }
        iopub = IOPubChannel(socket: pub, signer: signer, session: session, log: log)
        heartbeat = Heartbeat(socket: hb, log: log)
        let progress = ProgressDisplay(iopub: iopub, session: session)
        self.progress = progress
        workbench.onProgress = { job in progress.report(job) }
    }

    /// True once shutdown was asked for.
    public var stopping: Bool { lock.withLock { _stopping } }

    /// Starts the channel threads and returns. With `catchSignals`, SIGINT
    /// interrupts the running job (as an `interrupt_request` does) and
    /// SIGTERM/SIGHUP end the process.
    public func start(catchSignals: Bool = false) {
        if catchSignals {
            let pipe = WakePipe()
            pipe.catchSignals { signo in _exit(128 + signo) }
            wake = pipe
        }
        iopub.status("starting", parent: nil)
        spawn("cnx.kernel.shell") { self.serveShell() }
        spawn("cnx.kernel.control") { self.serveControl() }
        spawn("cnx.kernel.heartbeat") { self.heartbeat.run { self.stopping } }
    }

    /// Serves until a `shutdown_request`.
    public func run(catchSignals: Bool = false) {
        start(catchSignals: catchSignals)
        stopped.wait()
        stopped.signal()
    }

    /// Waits for the kernel to stop; false after `timeout` seconds.
    public func waitUntilStopped(timeout: Double) -> Bool {
        guard stopped.wait(timeout: .now() + timeout) == .success else { return false }
        stopped.signal()  // for the next waiter
        return true
    }

    /// Asks every channel to stop and the running job, if any, to stop at its next step.
    public func stop() {
        lock.withLock { _stopping = true }
        workbench.cancelRunningJob()
    }

    /// What `interrupt_request` and SIGINT do: the running job stops at its
    /// next step boundary, exactly like Ctrl-C, and the cell ends there.
    public func interrupt() {
        lock.withLock { _interrupted = true }
        workbench.cancelRunningJob()
    }

    private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            body()
            let last = lock.withLock { () -> Bool in
                threadsLeft -= 1
                return threadsLeft == 0
            }
            if last {
                iopub.close()
                stopped.signal()
            }
        }
        thread.name = name
        // Commands run on the shell thread: give it the main thread's stack.
        thread.stackSize = 8 << 20
        thread.start()
    }

    // MARK: - Channels

    private func serveShell() {
        defer { shell.close(); stdin.close() }
        while !stopping {
            do {
                guard let frames = try shell.receive(timeout: 0.1) else { continue }
                guard let message = decode(frames, channel: "shell") else { continue }
                handle(message, on: shell)
                if let queued = queuedBehindFailure { abortQueued(queued) }
            } catch {
                log("cnx kernel: shell: \(error)")
                return stop()
            }
        }
    }

    /// After a failed cell with `stop_on_error`: the execute requests queued
    /// behind it when it failed are answered `aborted`, as IPython does; other
    /// queued requests are answered as usual.
    private func abortQueued(_ queued: [[[UInt8]]]) {
        queuedBehindFailure = nil
        for frames in queued {
            guard let message = decode(frames, channel: "shell") else { continue }
            guard message.type == "execute_request" else {
                handle(message, on: shell)
                continue
            }
            iopub.status("busy", parent: message)
            reply(message, "execute_reply", .object([("status", "aborted"), ("execution_count", .int(executionCount))]), on: shell)
            iopub.status("idle", parent: message)
        }
    }

    private func serveControl() {
        defer { control.close() }
        while !stopping {
            do {
                let ready = try ZMQSocket.poll([control], fileDescriptors: wake.map { [$0.readFD] } ?? [], timeout: 0.1)
                if ready.count > 1, ready[1], let wake, wake.drain().contains(.interrupt) { interrupt() }
                guard ready[0] else { continue }
                let frames = try control.receive()
                guard let message = decode(frames, channel: "control") else { continue }
                handle(message, on: control)
            } catch {
                log("cnx kernel: control: \(error)")
                return stop()
            }
        }
    }

    /// The message in `frames`, or nil (logged) when it is malformed or its signature is wrong: it is never executed.
    private func decode(_ frames: [[UInt8]], channel: String) -> JupyterMessage? {
        do {
            return try WireFormat.decode(frames, signer: signer)
        } catch {
            log("cnx kernel: dropped a message on the \(channel) channel: \(error)")
            return nil
        }
    }

    private func reply(_ request: JupyterMessage, _ type: String, _ content: JSONValue, on socket: ZMQSocket) {
        let message = JupyterMessage(type: type, session: session, content: content, parent: request)
        do { try socket.send(WireFormat.encode(message, signer: signer)) } catch { log("cnx kernel: \(error)") }
    }

    // MARK: - Requests

    private func handle(_ request: JupyterMessage, on socket: ZMQSocket) {
        iopub.status("busy", parent: request)
        defer { iopub.status("idle", parent: request) }
        let content = request.content
        switch request.type {
        case "kernel_info_request":
            reply(request, "kernel_info_reply", KernelInfo.content(), on: socket)
        case "execute_request" where socket === shell:
            execute(request)
        case "complete_request":
            let code = content["code"]?.text ?? ""
            reply(request, "complete_reply", Introspection.complete(code, cursor: content["cursor_pos"]?.integer ?? code.unicodeScalars.count,
                                                                    workbench: workbench), on: socket)
        case "inspect_request":
            let code = content["code"]?.text ?? ""
            reply(request, "inspect_reply", Introspection.inspect(code, cursor: content["cursor_pos"]?.integer ?? code.unicodeScalars.count,
                                                                  workbench: workbench, renderer: renderer), on: socket)
        case "is_complete_request":
            reply(request, "is_complete_reply", Introspection.isComplete(content["code"]?.text ?? ""), on: socket)
        case "history_request" where socket === shell:
            reply(request, "history_reply", historyContent(content), on: socket)
        case "comm_info_request":
            reply(request, "comm_info_reply", .object([("status", "ok"), ("comms", .object([]))]), on: socket)
        case "interrupt_request":
            interrupt()
            reply(request, "interrupt_reply", .object([("status", "ok")]), on: socket)
        case "shutdown_request":
            // Saves nothing: the user saves with `session save`.
            reply(request, "shutdown_reply", .object([("status", "ok"), ("restart", .bool(content["restart"]?.boolean ?? false))]), on: socket)
            stop()
        default:
            log("cnx kernel: ignored a \(request.type) message: cnx does not answer it")
        }
    }

    private func execute(_ request: JupyterMessage) {
        let content = request.content
        let code = content["code"]?.text ?? ""
        let silent = content["silent"]?.boolean ?? false
        let storeHistory = !silent && (content["store_history"]?.boolean ?? true)
        let stopOnError = content["stop_on_error"]?.boolean ?? true
        let allowStdin = content["allow_stdin"]?.boolean ?? false
        if storeHistory {
            executionCount += 1
            history.append((executionCount, code))
        }
        let count = executionCount
        lock.withLock { _interrupted = false }
        if !silent {
            iopub.publish("execute_input", .object([("code", .string(code)), ("execution_count", .int(count))]), parent: request)
        }
        progress.begin(silent ? nil : request)
        var runner = CellRunner(workbench: workbench, renderer: renderer)
        if allowStdin { runner.ask = { self.askInput($0, for: request) } }
        var payload: [JSONValue] = []
        let failure: CellRunner.Failure?
        if ["exit", "quit"].contains(code.trimmingCharacters(in: .whitespacesAndNewlines)) {
            let outcome = exitCell(runner, request: request, silent: silent)
            failure = outcome.failure
            payload = outcome.payload
        } else {
            failure = runCell(runner, code, request: request, count: count, silent: silent)
        }
        progress.end()
        guard let failure else {
            reply(request, "execute_reply", .object([("status", "ok"), ("execution_count", .int(count)),
                                                     ("user_expressions", .object([])), ("payload", .array(payload))]), on: shell)
            return
        }
        let error: [(String, JSONValue)] = [("ename", .string(failure.ename)), ("evalue", .string(failure.evalue)),
                                            ("traceback", .array(failure.traceback.map { .string($0) }))]
        if !silent { iopub.publish("error", .object(error), parent: request) }
        // Execute requests already queued behind a failed cell (taken before
        // the reply goes out, so none sent after it) are answered `aborted`, as IPython does.
        if stopOnError {
            var queued: [[[UInt8]]] = []
            while let frames = try? shell.receive(timeout: 0) { queued.append(frames) }
            queuedBehindFailure = queued
        }
        reply(request, "execute_reply", .object([("status", "error"), ("execution_count", .int(count))] + error), on: shell)
    }

    /// Runs a cell's commands, publishing what they show.
    private func runCell(_ runner: CellRunner, _ code: String, request: JupyterMessage, count: Int, silent: Bool) -> CellRunner.Failure? {
        runner.run(code, interrupted: { lock.withLock { _interrupted } || stopping }) { output in
            guard !silent else { return }
            switch output {
            case .stream(let text):
                iopub.publish("stream", .object([("name", "stdout"), ("text", .string(text))]), parent: request)
            case .display(let result):
                guard let bundle = MimeBundle.make(result, renderer: renderer) else { return }
                iopub.publish("display_data", .object([("data", bundle.data), ("metadata", bundle.metadata)]), parent: request)
            case .result(let result):
                guard let bundle = MimeBundle.make(result, renderer: renderer) else { return }
                iopub.publish("execute_result", .object([("execution_count", .int(count)), ("data", bundle.data),
                                                         ("metadata", bundle.metadata)]), parent: request)
            }
        }
    }

    /// A cell that is `exit` or `quit`: asks the front end to close (the
    /// `ask_exit` payload: jupyter console exits and shuts the kernel down),
    /// after asking on stdin when work would be lost; refused with one line
    /// when it would be and the front end cannot be asked.
    private func exitCell(_ runner: CellRunner, request: JupyterMessage, silent: Bool) -> (failure: CellRunner.Failure?, payload: [JSONValue]) {
        func say(_ text: String) {
            if !silent { iopub.publish("stream", .object([("name", "stdout"), ("text", .string(text + "\n"))]), parent: request) }
        }
        if let question = workbench.unsavedWorkQuestion {
            guard let ask = runner.ask else {
                let message = "unsaved work (\(workbench.unsavedWork ?? "")) and this front end cannot be asked (no stdin): "
                    + "save it with `session save NAME` first, or shut the kernel down from the front end (Kernel > Shut Down saves nothing)"
                return (CellRunner.Failure(ename: "CommandError", evalue: message, traceback: ["error: \(message)"]), [])
            }
            guard CellRunner.isYes(ask(question)) else {
                say("kept the session")
                return (nil, [])
            }
        }
        say("asked the front end to close: jupyter console exits and shuts the kernel down; a notebook keeps it (Kernel > Shut Down ends it)")
        return (nil, [.object([("source", "ask_exit"), ("keepkernel", .bool(false))])])
    }

    /// Asks `prompt` on the stdin channel (an `input_request` to the front end
    /// that sent `request`) and waits for its `input_reply`: the answer, or
    /// nil when the cell is interrupted or the kernel stops first.
    private func askInput(_ prompt: String, for request: JupyterMessage) -> String? {
        let message = JupyterMessage(type: "input_request", session: session,
                                     content: .object([("prompt", .string(prompt)), ("password", .bool(false))]), parent: request)
        do {
            try stdin.send(WireFormat.encode(message, signer: signer))
            while !stopping && !lock.withLock({ _interrupted }) {
                guard let frames = try stdin.receive(timeout: 0.1),
                      let reply = decode(frames, channel: "stdin"), reply.type == "input_reply" else { continue }
                return reply.content["value"]?.text ?? ""
            }
        } catch {
            log("cnx kernel: stdin: \(error)")
        }
        return nil
    }

    private func historyContent(_ content: JSONValue) -> JSONValue {
        var entries = history
        switch content["hist_access_type"]?.text {
        case "tail":
            entries = Array(entries.suffix(max(0, content["n"]?.integer ?? entries.count)))
        case "search":
            let pattern = content["pattern"]?.text ?? "*"
            entries = entries.filter { fnmatch(pattern, $0.code, 0) == 0 }
        default:
            break
        }
        return .object([("status", "ok"), ("history", .array(entries.map { .array([.int(0), .int($0.count), .string($0.code)]) }))])
    }
}
