import Foundation
import Training

/// The shell's opening lines: the version, the session's model, optimizer and
/// data one line each (useful after `cnx run FILE --interactive`), and where
/// to start. Reads only the snapshot, so it costs nothing at launch.
enum Banner {
    /// - Parameter processes: the processes running the session (under mpirun), 1 otherwise.
    static func lines(_ state: SessionState, processes: Int = 1) -> [String] {
        var lines = [
            "cnx \(CNXVersion.string) — ConvNeXt workbench. Type 'help' for commands; Tab completes, Ctrl-R searches history, Ctrl-C stops a job, Ctrl-D leaves.",
            "  model      " + model(state),
            "  optimizer  " + optimizer(state),
            "  data       " + data(state),
        ]
        if processes > 1 {
            lines.append("  processes  \(processes) (mpirun): every line runs on each; --batch is per process; only this one prints and writes files")
        } else {
            lines.append("Magics: %time CMD, %timeit CMD, %run FILE, %history, %reset (%lsmagic lists them; CMD? is help CMD; _ and Out[N] reuse an output: help _). Lessons: `examples` lists them, `%run tour` runs one.")
        }
        return lines
    }

    static func model(_ state: SessionState) -> String {
        guard let c = state.modelConfig else { return "none yet: model build tiny (or model build convnext --depths … --dims …)" }
        let name = c.variantName ?? "convnext depths \(c.depths.map(String.init).joined(separator: ",")) dims \(c.dims.map(String.init).joined(separator: ","))"
        let params = state.params.map { "\(TextRenderer.thousands($0.scalarCount)) parameters" } ?? "not initialised yet (model init)"
        return "\(name), \(c.classes) classes, \(c.imageSize) px; \(params)"
    }

    static func optimizer(_ state: SessionState) -> String {
        guard let o = state.optimizer else { return "none yet: optim adamw" }
        var parts = ["adamw lr \(TextRenderer.number(o.peakLearningRate))", "weight decay \(TextRenderer.number(o.weightDecay))"]
        if o.warmupSteps > 0 { parts.append("warmup \(o.warmupSteps)") }
        if o.decaySteps > 0 { parts.append("decay \(o.decaySteps)") }
        if o.accumulate > 1 { parts.append("accumulate \(o.accumulate)") }
        if let ema = o.emaDecay { parts.append("EMA \(TextRenderer.number(ema))") }
        return parts.joined(separator: ", ") + "; \(state.counters.optimizerSteps) updates over \(state.counters.miniSteps) steps"
    }

    static func data(_ state: SessionState) -> String {
        guard let d = state.data else { return "none yet: data synthetic (the embedded set) or data imagefolder DIR" }
        switch d.source {
        case let .synthetic(classes, size, _, _):
            return "synthetic, \(classes) classes, \(size) px, batch \(d.batchSize)"
        case let .imageFolder(train, val):
            return "imagefolder \(train)\(val.map { " (val \($0))" } ?? ""), batch \(d.batchSize)"
        }
    }
}
