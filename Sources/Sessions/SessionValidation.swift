import Foundation
import JaxRandom
import Optimizers
import Training

/// The rules every saved state must meet, the same ones the commands keep:
/// a session whose manifest was edited (checksums recomputed) to hold values
/// no command would produce is refused on load, and a state that breaks
/// them is never saved.
enum SessionValidation {
    /// Throws a one-line reason when `state` (data not yet loaded) breaks a rule.
    static func check(_ state: WorkbenchState, data: SessionManifest.DataRecord?) throws {
        // The keys `model init`, the data and a train step read.
        guard (0..<TrainCounters.limit).contains(state.keys.step) else {
            throw SessionError("its key tree's step \(state.keys.step) is outside 0…\(TrainCounters.limit - 1)")
        }
        do {
            _ = try state.keys.key(KeyTree.params)
            _ = try state.keys.key(KeyTree.data)
            var trial = state.keys
            _ = try trial.advanceTrainStep()
        } catch {
            throw SessionError("its key tree lacks a key training needs (\(error)); run `rng seed N` and save again")
        }
        if let p = state.counters.problem(samples: nil) { throw SessionError("its counters are invalid: \(p)") }
        if let data {
            do { try data.augment.validate() } catch { throw SessionError("its data settings are invalid: \(error)") }
            guard data.batchSize >= 1 && data.batchSize <= 65_536 else {
                throw SessionError("its data batch size \(data.batchSize) is outside 1…65536")
            }
        }
        if let bad = FiniteState.firstNonFinite(params: state.params, optimizerState: state.optimizerState,
                                                emaState: state.emaState) {
            throw SessionError("\(bad) holds a non-finite value")
        }
        if let s = state.optimizerState {
            if let adam = s.adamMoments {
                for (path, nu) in adam.nu where nu.scalars.contains(where: { $0 < 0 }) {
                    throw SessionError("the Adam second moment of \(path) holds a negative value")
                }
            }
            let expected = Int32(clamping: state.counters.optimizerSteps)
            for (what, count) in [("schedule", s.scheduleCount), ("Adam", s.adamMoments?.count),
                                  ("MultiSteps", s.accumulation?.gradientStep)] {
                if let count, count != expected {
                    throw SessionError("its \(what) step count \(count) differs from its optimizer_steps \(state.counters.optimizerSteps)")
                }
            }
        }
    }

    /// The data cursor against the loaded training split.
    static func checkCursor(_ counters: TrainCounters, samples: Int) throws {
        if let p = counters.problem(samples: samples) { throw SessionError("its counters are invalid: \(p)") }
    }
}
