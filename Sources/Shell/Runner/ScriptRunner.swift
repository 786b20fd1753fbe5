import Foundation
import JSON
import Tensors
import Training

/// Where a front end writes: standard output for results, standard error for
/// errors and progress. Tests capture both.
public protocol OutputSink: AnyObject, Sendable {
    func out(_ text: String)
    func err(_ text: String)
}

/// Writes to the process's stdout and stderr.
public final class StandardOutput: OutputSink, @unchecked Sendable {
    public init() {}
    public func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
    public func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Replays a script (`cnx run FILE`, `cnx -c`, non-terminal stdin): one
/// command per line (or `;`-separated), `#` comments, in order.
public struct ScriptRunner {
    public struct Options: Sendable {
        /// One JSON object per command on stdout.
        public var json = false
        /// Go on after a failing command (the exit status is still non-zero).
        public var keepGoing = false
        /// Print `In [n]: command` before each command's output.
        public var echo = false
        public var renderer = TextRenderer()
        public init(json: Bool = false, keepGoing: Bool = false, echo: Bool = false, renderer: TextRenderer = TextRenderer()) {
            self.json = json
            self.keepGoing = keepGoing
            self.echo = echo
            self.renderer = renderer
        }
    }

    public var workbench: Workbench
    public var options: Options
    public var output: OutputSink

    public init(workbench: Workbench, options: Options, output: OutputSink) {
        self.workbench = workbench
        self.options = options
        self.output = output
    }

    /// Runs every command in `text`; `source` names it in error lines
    /// (`tour.cnx:3: unknown command …` by line; for `-c`, by the command's
    /// position among the `;`-separated commands: `-c:3: …`). Returns the process exit status:
    /// 0 when every command succeeded, 1 otherwise.
    @discardableResult
    public func run(_ text: String, source: String) -> Int32 {
        var failed = false
        // `-c "a; b; c"` numbers its commands (`-c:3:`); files number lines.
        let byCommand = source == "-c"
        var commandNumber = 0
        // Any line ending: "\r\n" is one Character in Swift, so split on newlines, not "\n".
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, line) in lines.enumerated() {
            let where_ = "\(source):\(index + 1)"
            let commands: [[Token]]
            do {
                commands = try Tokenizer.commands(String(line))
            } catch {
                report(failure: "\(where_): \(error.message)", command: String(line), cellNumber: workbench.nextCellNumber)
                failed = true
                if options.keepGoing { continue } else { return 1 }
            }
            for tokens in commands {
                commandNumber += 1
                let where_ = byCommand ? "\(source):\(commandNumber)" : where_
                let commandText = tokens.map { Tokenizer.quote($0.text) }.joined(separator: " ")
                if options.echo && !options.json {
                    output.out("In [\(workbench.nextCellNumber)]: \(commandText)")
                }
                var cell = workbench.execute(tokens, text: commandText)
                if let replicas = workbench.compute.dataParallel {
                    cell.error = Self.agree(cell.error, tokens, workbench, replicas)
                }
                if options.json {
                    output.out(cell.json.jsonText)
                }
                if let error = cell.error {
                    output.err("\(where_): \(error)")
                    failed = true
                    if !options.keepGoing { return 1 }
                } else if !options.json, let result = cell.result {
                    let text = options.renderer.render(result)
                    if !text.isEmpty { output.out(text) }
                }
            }
        }
        return failed ? 1 : 0
    }

    /// Under mpirun, after each command on every rank: the agreed outcome
    /// (`agreedError`); after a load, rank 0's parameters on every rank;
    /// then the sessions' fingerprints compared (`divergence`). Nil when
    /// the command succeeded everywhere and the sessions agree.
    static func agree(_ error: String?, _ tokens: [Token], _ workbench: Workbench, _ replicas: ReplicaGroup) -> String? {
        if let agreed = agreedError(error, replicas) { return agreed }
        let words = tokens.prefix(2).map(\.text)
        if words == ["params", "import"] || words == ["session", "load"],
           let problem = workbench.update({ DataParallel.broadcastParameters(&$0, replicas) }) {
            return problem
        }
        return divergence(workbench.snapshot, replicas)
    }

    /// Under mpirun: the error of the lowest rank the command failed on, on
    /// every rank (nil when it succeeded everywhere), so a command that fails
    /// anywhere fails everywhere. One small allreduce; a broadcast on failure.
    static func agreedError(_ error: String?, _ replicas: ReplicaGroup) -> String? {
        let first = Int(replicas.minimum(Int64(error == nil ? replicas.count : replicas.rank)))
        guard first < replicas.count else { return nil }
        let bytes = replicas.broadcast(Array((error ?? "").utf8), from: first)
        let message = String(decoding: bytes, as: UTF8.self)
        return first == 0 ? message : "rank \(first): \(message)"
    }

    /// Under mpirun: an error when the ranks' sessions are no longer the same
    /// (parameters, counters, data; compared by fingerprint after every
    /// command, two small allreduces), else nil.
    static func divergence(_ state: SessionState, _ replicas: ReplicaGroup) -> String? {
        let f = DataParallel.fingerprint(state)
        let low = replicas.minimum(f), high = -replicas.minimum(-f)
        guard low != high else { return nil }
        return "the processes' sessions differ after this command (parameters, data or counters: a rank read a different file or folder, or runs a different cnx): check that every machine has the same binary and files, and start again"
    }

        private func report(failure raw: String, command: String, cellNumber: Int) {
        let failure = ErrorText.oneLine(raw)
        if options.json {
            let json = JSONValue.object([("cell", .int(cellNumber)), ("command", .string(command)),
                                         ("ok", false), ("error", .string(failure))])
            output.out(json.jsonText)
        }
        output.err(failure)
    }
}
