import Training

/// One-line explanations attached to training results when a number would
/// puzzle a student: an update at learning rate 0 (the warmup starts at its
/// init value), and training past the end of the schedule.
enum TrainingNotes {
    /// Why an applied update had learning rate 0, or nil when none did.
    static func zeroLearningRate(_ steps: some Sequence<StepMetrics>, _ optimizer: OptimizerConfig?) -> String? {
        guard let o = optimizer, o.initLearningRate == 0, o.warmupSteps > 0,
              let m = steps.first(where: { $0.applied && $0.learningRate == 0 }) else { return nil }
        return "note: step \(m.step)'s update used lr 0 — the warmup starts at --init-lr 0 and reaches \(o.peakLearningRate) after \(o.warmupSteps) updates, so the first update moves only Adam's moments (show lr --at 0,1,\(o.warmupSteps))"
    }

    /// That training went past the schedule's end, or nil.
    static func scheduleEnded(_ state: WorkbenchState) -> String? {
        guard let o = state.optimizer, o.decaySteps > 0, state.counters.optimizerSteps > o.decaySteps else { return nil }
        return "the learning-rate schedule ended at update \(o.decaySteps); training continued at its floor, lr \(o.endLearningRate) (set a longer schedule with `optim adamw --decay-steps N`)"
    }
}
