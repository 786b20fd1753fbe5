import JSON
import JaxRandom
import Models
import Training

/// `train reset`, `runs` and `show loss --compare`: a training run belongs to
/// its model. Building, initialising or importing starts a new run (see
/// `WorkbenchState.endRun`); finished runs are kept for comparison.
enum RunCommands {
    static let all: [CommandSpec] = [
        CommandSpec(["train", "reset"], summary: "Start the training run over: the parameters and keys as the run began, step 0",
                    help: "The same model, optimizer settings and data; steps, data cursor, metrics, evaluations, a step in progress and the optimizer and EMA state start over, so the same commands give the same numbers as the first time. The run that ended is kept for `runs`. After `session load` (the run's start is not saved), the parameters are initialised from the params key, as `model init` does.") { _, context in
            let model = try context.state.requireModel()
            let start = context.state.runLog
            let ended = context.state.endRun()
            let how: String
            if let params = start.startParams, let keys = start.startKeys {
                context.state.params = params
                context.state.keys = keys
                how = "the parameters and keys the ended run began with"
            } else {
                let key = try context.state.keys.draw(KeyTree.params).key   // a draw, as `model init`
                context.state.params = model.initialize(paramsKey: key)
                how = "parameters initialised from the params key (as `model init`)"
            }
            context.state.markRunStart()
            return .record(Record(title: "run \(context.state.runLog.current) starts at step 0", noted(ended, [("from", .string(how))])))
        },
        CommandSpec(["runs"], summary: "This session's training runs: model, optimizer, steps, final loss and last top-1",
                    help: "A run ends when the model is rebuilt or re-initialised, parameters are imported, or `train reset` starts over; runs with steps are kept (in the live shell, not in saved sessions). Compare their loss curves with `show loss --compare 1,2 --plot`.",
                    mutates: false) { _, context in
            let s = context.state
            var rows: [[JSONValue]] = s.runLog.finished.map { row($0, current: false) }
            rows.append(row(s.currentRunSummary(), current: true))
            return .table(Table(title: "training runs", columns: [.init("run"), .init("model"), .init("optimizer"), .init("steps"),
                                                                 .init("final loss"), .init("top-1"), .init("eval step")],
                                rows: rows))
        },
    ]

    static func row(_ run: FinishedRun, current: Bool) -> [JSONValue] {
        [.string(current ? "\(run.number) (current)" : "\(run.number)"), .string(run.model), .string(run.optimizer),
         .int(run.steps), run.finalLoss.map { .float($0) } ?? .null,
         run.lastEval.map { .double($0.top1) } ?? .null, run.lastEval.map { .int($0.step) } ?? .null]
    }

    /// A record's fields with a leading `run` line when a run ended.
    static func noted(_ ended: String?, _ fields: [(String, JSONValue)]) -> [(String, JSONValue)] {
        guard let ended else { return fields }
        return [("run", .string(ended))] + fields
    }

    /// `show loss --compare RUNS`: the listed runs' loss curves, and the
    /// current run's when it has steps and is not listed.
    static func compareLoss(_ numbers: [Int], _ state: WorkbenchState, plot: Bool) throws -> CommandResult {
        var runs: [FinishedRun] = []
        for n in numbers {
            guard let run = state.run(n) else {
                let known = state.runLog.finished.map { String($0.number) } + [String(state.runLog.current)]
                throw ShellError("no run \(n): runs are \(known.joined(separator: ", ")) (`runs` lists them)")
            }
            if !runs.contains(where: { $0.number == n }) { runs.append(run) }
        }
        if !runs.contains(where: { $0.number == state.runLog.current }), !state.history.isEmpty {
            runs.append(state.currentRunSummary())
        }
        runs = runs.filter { !$0.losses.isEmpty }
        guard !runs.isEmpty else { throw ShellError("the runs compared have no steps: train with `train steps N` first") }
        let curves = runs.map { run in
            Series.Curve(label: "run \(run.number)\(run.number == state.runLog.current ? " (current)" : ""): \(run.model)",
                         x: run.losses.map { Double($0.step) }, y: run.losses.map { Double($0.loss) })
        }
        return .series(Series(title: "loss by step, runs \(runs.map { String($0.number) }.joined(separator: ", "))",
                              xLabel: "step", yLabel: "loss", curves: curves, plot: plot))
    }
}
