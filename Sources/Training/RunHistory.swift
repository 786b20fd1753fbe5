import JaxRandom
import Models
import Tensors

/// A training run that ended (the model was rebuilt or re-initialised,
/// parameters were imported, or `train reset` started over), kept so runs can
/// be compared: `runs` lists them, `show loss --compare` overlays their curves.
public struct FinishedRun: Sendable, Equatable {
    /// 1-based, in the order the runs started.
    public var number: Int
    /// The model it trained, e.g. `custom 1,1,2,1 x 16,32,48,64, 10 classes, 32px, drop-path 0.1`.
    public var model: String
    /// The optimizer it ended with, e.g. `adamw lr 0.006, warmup 30, decay 600, ema 0.999`.
    public var optimizer: String
    /// Train steps taken.
    public var steps: Int
    /// Every step's loss, by step number.
    public var losses: [(step: Int, loss: Float)]
    /// The last evaluation, if any.
    public var lastEval: EvalMetrics?

    public var finalLoss: Float? { losses.last?.loss }

    public static func == (a: FinishedRun, b: FinishedRun) -> Bool {
        a.number == b.number && a.model == b.model && a.optimizer == b.optimizer && a.steps == b.steps
            && a.losses.map(\.step) == b.losses.map(\.step) && a.losses.map(\.loss) == b.losses.map(\.loss)
            && a.lastEval == b.lastEval
    }
}

/// The session's runs: the number of the current one, the finished ones, and
/// how the current one started (so `train reset` can start it again).
///
/// Kept by the live shell; a saved session holds its current run only.
public struct RunLog: Sendable {
    /// The current run's number.
    public var current = 1
    /// Runs that ended with at least one step, oldest first.
    public var finished: [FinishedRun] = []
    /// The key tree and parameters when the current run started (`model
    /// init`, `params import`, `train reset`); nil when unknown (a loaded
    /// session, or no parameters yet).
    public var startKeys: KeyTree?
    public var startParams: TensorTree?

    public init() {}
}

extension WorkbenchState {
    /// One line for the model a run trains.
    public static func describeModel(_ c: ConvNeXtConfig) -> String {
        let name = c.variantName.map { "convnext_\($0)" }
            ?? "custom \(c.depths.map(String.init).joined(separator: ",")) x \(c.dims.map(String.init).joined(separator: ","))"
        return "\(name), \(c.classes) classes, \(c.imageSize)px, drop-path \(c.dropPathRate)"
    }

    /// One line for the optimizer a run trains with.
    public static func describeOptimizer(_ o: OptimizerConfig?) -> String {
        guard let o else { return "none" }
        var parts = ["adamw lr \(o.peakLearningRate)"]
        if o.warmupSteps > 0 { parts.append("warmup \(o.warmupSteps)") }
        if o.decaySteps > 0 { parts.append("decay \(o.decaySteps)") }
        if o.accumulate > 1 { parts.append("accumulate \(o.accumulate)") }
        if let ema = o.emaDecay { parts.append("ema \(ema)") }
        if let clip = o.clipNorm { parts.append("clip \(clip)") }
        return parts.joined(separator: ", ")
    }

    /// The current run as a finished one (what `runs` shows for it).
    public func currentRunSummary() -> FinishedRun {
        FinishedRun(number: runLog.current, model: modelConfig.map(Self.describeModel) ?? "none",
                    optimizer: Self.describeOptimizer(optimizer), steps: counters.miniSteps,
                    losses: history.map { ($0.step, $0.loss) }, lastEval: evaluations.last)
    }

    /// Ends the current run: keeps it in `runLog.finished` when it took a
    /// step, and resets everything that belongs to a run — counters, data
    /// cursor, metric history, evaluations, the last step's details, a
    /// pending step, the optimizer and EMA state. Returns one line saying
    /// what was discarded, or nil when the run had nothing to lose.
    ///
    /// The model, parameters, optimizer settings, data and keys stay; the
    /// caller replaces what starts the new run.
    @discardableResult
    public mutating func endRun() -> String? {
        var lost: [String] = []
        let steps = counters.miniSteps
        if steps > 0 { lost.append(steps == 1 ? "1 step" : "\(steps) steps") }
        if !evaluations.isEmpty { lost.append(evaluations.count == 1 ? "1 evaluation" : "\(evaluations.count) evaluations") }
        if let p = pending { lost.append("step \(p.step) in progress") }
        if optimizerState != nil || emaState != nil {
            lost.append(emaState != nil ? "the optimizer and EMA state" : "the optimizer state")
        }
        let note: String?
        if lost.isEmpty {
            note = nil
        } else if steps > 0 || !evaluations.isEmpty {
            let kept = currentRunSummary()
            runLog.finished.append(kept)
            runLog.current += 1
            note = "run \(kept.number) ended (\(Self.list(lost)) — kept for `runs` and `show loss --compare \(kept.number)`); run \(runLog.current) starts at step 0"
        } else {
            note = "discarded \(Self.list(lost)); the run starts at step 0"
        }
        counters = TrainCounters()
        history = []
        evaluations = []
        lastStep = nil
        resetOptimizerState()
        runLog.startKeys = nil
        runLog.startParams = nil
        return note
    }

    /// Marks the current parameters and keys as the run's start (after
    /// `model init`, `params import` or `train reset`).
    public mutating func markRunStart() {
        runLog.startKeys = keys
        runLog.startParams = params
    }

    /// A finished run, or the current one, by number.
    public func run(_ number: Int) -> FinishedRun? {
        if number == runLog.current { return currentRunSummary() }
        return runLog.finished.first { $0.number == number }
    }

    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }
}
