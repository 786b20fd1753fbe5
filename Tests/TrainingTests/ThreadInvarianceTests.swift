import JaxRandom
import Tensors
import XCTest
@testable import Training

/// DESIGN.md principle 7: the same commands give the same bits on any thread
/// count. Every parallel reduction uses a partition fixed by the shapes, so a
/// run on 1, 2, 3 or 4 threads must end with identical parameters, Adam
/// moments, EMA and losses.
final class ThreadInvarianceTests: XCTestCase {
    /// Trains `steps` mini-steps of the small model on `threads` threads.
    private func train(threads: Int, steps: Int, batch: Int) throws -> WorkbenchState {
        try ComputeContext(threads: threads).run {
            var s = try smallState(dropPath: 0.1, accumulate: 2, ema: 0.99, batch: batch)
            for _ in 0..<steps { try TrainEngine.trainStep(&s) }
            return s
        }
    }

    func testTrainingGivesTheSameBitsOnOneToFourThreads() throws {
        // Batch 12: rows (12·8·8 = 768 at stage 1) split unevenly over 3 threads.
        let reference = try train(threads: 1, steps: 6, batch: 12)
        XCTAssertEqual(reference.counters.optimizerSteps, 3)
        for threads in [2, 3, 4] {
            let other = try train(threads: threads, steps: 6, batch: 12)
            XCTAssertEqual(other.history.map(\.loss.bitPattern), reference.history.map(\.loss.bitPattern),
                           "losses differ on \(threads) threads")
            XCTAssertEqual(differingPaths(other.params!, reference.params!), [], "parameters differ on \(threads) threads")
            XCTAssertTrue(other.optimizerState == reference.optimizerState, "Adam/MultiSteps state differs on \(threads) threads")
            XCTAssertTrue(other.emaState == reference.emaState, "EMA differs on \(threads) threads")
        }
    }

    /// The paths whose tensors differ in any bit.
    private func differingPaths(_ a: TensorTree, _ b: TensorTree) -> [String] {
        b.compactMap { path, t in a[path]?.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern) ? nil : path }
    }

    /// One step's gradients on `threads` threads (diagnoses which kernel depends on the split).
    func testGradientsAreTheSameOnOneToFourThreads() throws {
        func grads(_ threads: Int) throws -> TensorTree {
            try ComputeContext(threads: threads).run {
                var s = try smallState(dropPath: 0.1, batch: 12)
                try TrainEngine.forward(&s)
                try TrainEngine.loss(&s)
                try TrainEngine.backward(&s)
                return s.pending!.grads!
            }
        }
        let reference = try grads(1)
        for threads in [2, 3, 4] {
            XCTAssertEqual(differingPaths(try grads(threads), reference), [], "gradients differ on \(threads) threads")
        }
    }
}
