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
    private let columns: @Sendable () -> Int

    /// - Parameters:
    ///   - inPlace: redraw one line (a tqdm bar, `\r`) instead of printing lines.
    ///   - columns: the terminal's width for the in-place bar (stderr's by default).
    public init(interval: Double = 2, inPlace: Bool, columns: @escaping @Sendable () -> Int = ProgressLines.standardErrorColumns,
                write: @escaping @Sendable (String) -> Void) {
        self.interval = interval
        self.inPlace = inPlace
        self.columns = columns
        self.write = write
    }

    /// Standard error's terminal width, 80 when it is not a terminal.
    public static func standardErrorColumns() -> Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 { return Int(size.ws_col) }
        return 80
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
        let elapsed = job.elapsed
        if inPlace {
            let text = Self.bar(command: job.command, completed: job.completed, total: job.total, elapsed: elapsed,
                                detail: job.line, width: columns())
            write("\r\u{1B}[K" + text + (done ? "\n" : ""))
        } else {
            write(Self.line(command: job.command, completed: job.completed, total: job.total, elapsed: elapsed, detail: job.line) + "\n")
        }
    }

    /// The in-place line: `train steps 300:  40%|████▍     | 120/300 [00:12<00:18, 10.0 it/s, loss=0.52]`,
    /// the shell's `ProgressBar` after the command, cut to `width - 1` columns
    /// so the terminal never wraps it (a wrapped line could not be redrawn in place).
    static func bar(command: String, completed: Int, total: Int, elapsed: Double, detail: String, width: Int) -> String {
        let label = command + ": "
        let room = max(1, width - 1)
        let bar = ProgressBar(completed: completed, total: total, elapsed: elapsed, postfix: detail)
        let text = label + bar.render(width: max(10, room - label.count))
        return text.count > room ? String(text.prefix(room)) : text
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
