import Foundation
import Shell

/// A job's live progress in the front end, like tqdm's notebook bar: one
/// `display_data` with a `display_id` when the job reports its first step,
/// then `update_display_data` in place (at most every 0.25 s, and the
/// last state when the cell ends). Fed by `Workbench.onProgress` on the
/// compute queue; shown only for the cell being executed, and not for silent ones.
final class ProgressDisplay: @unchecked Sendable {
    private let iopub: IOPubChannel
    private let session: String
    private let lock = NSLock()
    private var request: JupyterMessage?
    /// Per job shown in this cell: when it was last published, and whether a later state is unpublished.
    private var shown: [Int: (at: Double, stale: Bool, job: Job)] = [:]
    static let interval = 0.25

    init(iopub: IOPubChannel, session: String) {
        self.iopub = iopub
        self.session = session
    }

    /// Shows the progress of jobs reported from now on as outputs of `request` (nil: none).
    func begin(_ request: JupyterMessage?) {
        lock.withLock {
            self.request = request
            shown = [:]
        }
    }

    /// Publishes the final state of every job shown whose last report was held back, and stops showing.
    func end() {
        let pending = lock.withLock { () -> [(Job, JupyterMessage)] in
            defer { request = nil; shown = [:] }
            guard let request else { return [] }
            return shown.values.filter(\.stale).map { ($0.job, request) }
        }
        for (job, request) in pending { publish(job, first: false, parent: request) }
    }

    func report(_ job: Job) {
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        let action = lock.withLock { () -> (first: Bool, parent: JupyterMessage)? in
            guard let request else { return nil }
            if let last = shown[job.id], now - last.at < Self.interval, job.completed < job.total {
                shown[job.id]?.stale = true
                return nil
            }
            let first = shown[job.id] == nil
            shown[job.id] = (now, false, job)
            return (first, request)
        }
        guard let action else { return }
        publish(job, first: action.first, parent: action.parent)
    }

    private func publish(_ job: Job, first: Bool, parent: JupyterMessage) {
        let bar = ProgressBar(completed: job.completed, total: job.total, elapsed: job.elapsed, postfix: job.line).render(width: 100)
        iopub.publish(first ? "display_data" : "update_display_data",
                      .object([("data", .object([("text/plain", .string("\(job.command): \(bar)"))])), ("metadata", .object([])),
                               ("transient", .object([("display_id", .string(Self.displayID(session: session, job: job.id)))]))]),
                      parent: parent)
    }

    static func displayID(session: String, job: Int) -> String { "cnx-\(session)-job-\(job)" }
}
