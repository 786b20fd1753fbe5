import Foundation

/// `jobs`, `status`, `wait`, `stop`: watching and controlling the running job.
enum JobCommands {
    static let all: [CommandSpec] = [
        CommandSpec(["jobs"], summary: "Show the running (or last) job: running, stopping, finished, stopped or failed, and its progress",
                    help: "The elapsed time grows while the job runs and stays fixed once it ends.", mutates: false) { _, context in
            guard let job = context.workbench.lastJob else { return .message("no jobs yet") }
            return .record(describe(job))
        },
        CommandSpec(["wait"], summary: "Wait until the background job ends and show its result", mutates: false) { _, context in
            guard let job = context.workbench.lastJob else { return .message("no jobs to wait for") }
            switch job.wait() {
            case .finished(let result): return result
            case .failed(let message): throw ShellError(message)
            }
        },
        CommandSpec(["stop"], summary: "Stop the running job at its next step boundary (like Ctrl-C)", mutates: false) { _, context in
            guard let job = context.workbench.cancelRunningJob() else { return .message("no job is running") }
            return .message("stopping job \(job.id) (\(job.progressText)) at the next step boundary")
        },
    ]

    static func describe(_ job: Job) -> Record {
        var state = job.state.rawValue
        if case .failed(let m)? = job.outcome { state += ": \(m)" }
        return Record(title: "job \(job.id)", [
            ("command", .string(job.command)), ("state", .string(state)),
            ("completed", .int(job.completed)), ("total", .int(job.total)),
            ("progress", .string(job.line)),
            ("elapsed_s", .double((job.elapsed * 10).rounded() / 10)),
        ])
    }
}
