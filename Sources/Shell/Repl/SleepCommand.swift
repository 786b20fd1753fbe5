import Foundation

/// `sleep SECONDS`: waits as a job, in 0.1 s steps, with progress — to pace a
/// demo script, or to try job control (`&`, `jobs`, `stop`, Ctrl-C) without
/// starting a computation.
enum SleepCommand {
    static let spec = CommandSpec(["sleep"], summary: "Wait SECONDS as a job (progress bar; Ctrl-C or 'stop' ends it)",
                                  help: "Waits in 0.1 s steps as a job on the compute queue: a trailing & runs it in the background. Useful to pace a demo, or to try jobs, status, stop and Ctrl-C.",
                                  arguments: [ArgumentSpec("seconds", .double, "how long to wait")]) { invocation, context in
        let seconds = invocation.argument(0).flatMap(NumberParsing.double) ?? 0
        guard seconds >= 0, seconds <= 86_400 else { throw ShellError("sleep takes 0 to 86400 seconds, got \(seconds)") }
        let steps = max(1, Int((seconds * 10).rounded(.up)))
        let start = Date()
        context.startJob(total: steps) { _, control in
            var done = 0
            while done < steps && !control.isCancelled {
                Thread.sleep(until: start.addingTimeInterval(Double(done + 1) * seconds / Double(steps)))
                done += 1
                control.report(completed: done, line: String(format: "%.1f s", Date().timeIntervalSince(start)))
            }
            if control.isCancelled && done < steps {
                return .message("stopped at step \(done) of \(steps) after \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            }
            return .message("slept \(TextRenderer.number(seconds)) s")
        }
        return .empty
    }
}

/// The commands the interactive shell adds to the registry.
enum ReplCommands {
    static let all: [CommandSpec] = [HistoryCommand.spec, SleepCommand.spec]
}
