import Training
/// What a command's `run` works on: a copy of the session state (the live
/// state for mutating commands, the latest snapshot for read-only ones), the
/// workbench, and a way to start a job.
///
/// A mutating command changes `state`; the workbench makes that the live
/// state when the command returns without throwing. A command that throws
/// changes nothing.
public final class CommandContext: @unchecked Sendable {
    public var state: SessionState
    public let workbench: Workbench
    /// The trailing `&` was given: a started job runs in the background.
    public let background: Bool
    var pendingJob: PendingJob?

    struct PendingJob {
        var total: Int
        /// Said when the job starts (`Workbench.onNotice`), e.g. that it will take hours.
        var notice: String?
        var body: JobBody
    }

    public typealias JobBody = @Sendable (inout SessionState, JobControl) throws -> CommandResult

    init(state: SessionState, workbench: Workbench, background: Bool) {
        self.state = state
        self.workbench = workbench
        self.background = background
    }

    /// Runs `body` as a job on the compute queue after this command returns.
    /// The body owns the live state while it runs; it must check
    /// `control.isCancelled` at step boundaries, publish snapshots there, and
    /// leave the state consistent whether it returns or throws. Its result
    /// becomes the cell's result (or, in the background, is shown by `wait`).
    /// `notice` is said as the job starts (a warning about its length).
    public func startJob(total: Int, notice: String? = nil, _ body: @escaping JobBody) {
        pendingJob = PendingJob(total: total, notice: notice, body: body)
    }
}
