import Dispatch
import Foundation

/// Job progress for script mode: a line on stderr at most every `interval`
/// seconds and at the end (a person watching `cnx run` sees it move; a log
/// stays short). On a terminal the line is redrawn in place.
public final class ProgressLines: @unchecked Sendable {
    private let lock = NSLock()
    private var last: UInt64 = 0
    private let interval: Double
    private let inPlace: Bool
    private let write: @Sendable (String) -> Void

    public init(interval: Double = 2, inPlace: Bool, write: @escaping @Sendable (String) -> Void) {
        self.interval = interval
        self.inPlace = inPlace
        self.write = write
    }

    /// Call from `Workbench.onProgress`.
    public func report(_ job: Job) {
        let now = DispatchTime.now().uptimeNanoseconds
        let done = job.total > 0 && job.completed >= job.total
        let due = lock.withLock { () -> Bool in
            let minGap = UInt64((inPlace ? 0.1 : interval) * 1e9)
            guard done || now - last >= minGap else { return false }
            last = now
            return true
        }
        guard due else { return }
        let elapsed = Date().timeIntervalSince(job.startedAt)
        let text = Self.line(command: job.command, completed: job.completed, total: job.total, elapsed: elapsed, detail: job.line)
        write(inPlace ? "\r\u{1B}[K" + text + (done ? "\n" : "") : text + "\n")
    }

    /// `train steps 300  120/300 [00:12<00:18] loss=0.52 lr=0.004 35.1 img/s`
    static func line(command: String, completed: Int, total: Int, elapsed: Double, detail: String) -> String {
        func clock(_ s: Double) -> String {
            let t = Int(s.rounded())
            return String(format: "%02d:%02d", t / 60, t % 60)
        }
        var text = command
        if total > 0 {
            let remaining = completed > 0 ? elapsed / Double(completed) * Double(total - completed) : 0
            text += "  \(completed)/\(total) [\(clock(elapsed))<\(clock(remaining))]"
        }
        return text + (detail.isEmpty ? "" : " " + detail)
    }
}
