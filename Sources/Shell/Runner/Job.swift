import Training
import Dispatch
import Foundation

/// A long computation (train steps, eval) running on the compute queue.
///
/// The body checks `isCancelled` at each step boundary and publishes a
/// snapshot of the state there, so inspection commands see progress and a
/// cancelled job leaves a consistent, resumable state (DESIGN.md principle 4).
public final class Job: @unchecked Sendable {
    public enum Outcome: Sendable {
        case finished(CommandResult)
        case failed(String)
    }

    public let id: Int
    /// The command that started it, as typed.
    public let command: String
    /// Steps planned (0 when unknown).
    public let total: Int
    public let startedAt = Date()

    private let lock = NSLock()
    private var _completed = 0
    private var _line = ""
    private var _cancelRequested = false
    private var _outcome: Outcome?
    private var _endedAt: Date?
    private let finished = DispatchSemaphore(value: 0)
    let progressSink: @Sendable (Job) -> Void

    init(id: Int, command: String, total: Int, progressSink: @escaping @Sendable (Job) -> Void) {
        self.id = id
        self.command = command
        self.total = total
        self.progressSink = progressSink
    }

    /// Steps done so far.
    public var completed: Int { lock.withLock { _completed } }
    /// The latest progress line (loss, lr, img/s …).
    public var line: String { lock.withLock { _line } }
    /// True once `cancel()` was called.
    public var isCancelled: Bool { lock.withLock { _cancelRequested } }
    /// nil while running.
    public var outcome: Outcome? { lock.withLock { _outcome } }

    /// When it ended; nil while running.
    public var endedAt: Date? { lock.withLock { _endedAt } }

    /// Seconds it has run: growing while it runs, fixed once it ended.
    public var elapsed: Double { (endedAt ?? Date()).timeIntervalSince(startedAt) }

    /// Where a job is in its life.
    public enum State: String, Sendable {
        /// Running (`stopping` once asked to stop, until its step boundary).
        case running, stopping
        /// Ended: all its work done, stopped early by request, or failed.
        case finished, stopped, failed
    }

    /// running, stopping, finished, stopped (by `stop` or Ctrl-C before its
    /// last step) or failed.
    public var state: State {
        lock.withLock {
            switch _outcome {
            case nil: return _cancelRequested ? .stopping : .running
            case .failed?: return .failed
            case .finished?: return _cancelRequested && (total == 0 || _completed < total) ? .stopped : .finished
            }
        }
    }

    /// Asks the job to stop at its next step boundary.
    public func cancel() { lock.withLock { _cancelRequested = true } }

    /// Called by the body after each step.
    public func report(completed: Int, line: String) {
        lock.withLock {
            _completed = completed
            _line = line
        }
        progressSink(self)
    }

    /// "train steps 500, 120/500"
    public var progressText: String {
        total > 0 ? "\(command), \(completed)/\(total)" : command
    }

    func finish(_ outcome: Outcome) {
        lock.withLock {
            _outcome = outcome
            _endedAt = Date()
        }
        finished.signal()
    }

    /// Blocks until the job ends and returns how it ended.
    @discardableResult
    public func wait() -> Outcome {
        finished.wait()
        finished.signal()  // let other waiters through too
        return outcome!
    }

    /// Waits up to `seconds`; nil if the job is still running.
    public func wait(seconds: Double) -> Outcome? {
        if finished.wait(timeout: .now() + seconds) == .timedOut { return nil }
        finished.signal()
        return outcome
    }
}

/// What a job's body receives: the control surface of its `Job`, and a way
/// to publish the state at a step boundary.
public struct JobControl: Sendable {
    public let job: Job
    let publishState: @Sendable (SessionState) -> Void

    public var isCancelled: Bool { job.isCancelled }
    public func report(completed: Int, line: String) { job.report(completed: completed, line: line) }
    /// Makes `state` the snapshot that inspection commands read.
    public func publish(_ state: SessionState) { publishState(state) }
}
