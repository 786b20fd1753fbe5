import Foundation

/// A tqdm-style progress bar for a job:
/// `42%|████▏    | 420/1000 [00:12<00:16, 35.2 it/s, loss=0.12]`.
/// Pure formatting: the shell decides where (stderr) and how often to draw it.
public struct ProgressBar: Sendable {
    /// Steps done and planned (`total` 0 = unknown: no bar, no percentage).
    public var completed: Int
    public var total: Int
    /// Seconds since the job started.
    public var elapsed: Double
    /// What one step is called in the rate (`it/s`, `img/s`).
    public var unit: String
    /// Text after the rate (the job's latest progress line, e.g. `loss=0.12`).
    public var postfix: String

    public init(completed: Int, total: Int, elapsed: Double, unit: String = "it", postfix: String = "") {
        self.completed = completed
        self.total = total
        self.elapsed = elapsed
        self.unit = unit
        self.postfix = postfix
    }

    /// Eighths of a block, tqdm's smooth bar.
    static let partials: [Character] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]

    /// Steps per second, 0 while nothing is done.
    public var rate: Double { elapsed > 0 && completed > 0 ? Double(completed) / elapsed : 0 }

    /// The bar in at most `width` columns: the bar part shrinks to fit (10
    /// cells, or down to 3 when the postfix is already cut away), then the
    /// postfix is cut with `…` — never wider than `width`, so a redraw in
    /// place never wraps.
    public func render(width: Int) -> String {
        let rateText = rate > 0 ? "\(Self.rate(rate)) \(unit)/s" : "? \(unit)/s"
        func tail(_ room: Int) -> String {
            guard !postfix.isEmpty, room >= 4 else { return "" }
            return ", " + Width.fit(postfix, room - 2)
        }
        guard total > 0 else {
            let bare = "\(completed) \(unit) [\(Self.clock(elapsed)), \(rateText)]"
            return Width.fit("\(completed) \(unit) [\(Self.clock(elapsed)), \(rateText)\(tail(width - bare.count))]", width)
        }
        let done = min(completed, total)
        let fraction = Double(done) / Double(total)
        let percent = String(format: "%3d%%", Int((fraction * 100).rounded(.down)))
        let remaining = rate > 0 ? Self.clock(Double(total - done) / rate) : "?"
        func right(_ tail: String) -> String { " \(done)/\(total) [\(Self.clock(elapsed))<\(remaining), \(rateText)\(tail)]" }
        let fixed = percent.count + 2 + right("").count
        // The fullest right-hand side that leaves the bar 3 cells: with the
        // postfix (cut to leave 10), without it, without the rate, counts only.
        let choices = [right(tail(width - fixed - 10)), right(""),
                       " \(done)/\(total) [\(Self.clock(elapsed))<\(remaining)]", " \(done)/\(total)"]
        guard let right = choices.first(where: { width - percent.count - 2 - $0.count >= 3 }) else {
            return Width.fit("\(percent) \(done)/\(total)", width)
        }
        let barWidth = width - percent.count - 2 - right.count
        // Whole blocks, then one partial block in eighths, then blanks.
        let eighths = Int((fraction * Double(barWidth * 8)).rounded(.down))
        let full = eighths / 8
        var bar = String(repeating: "█", count: full)
        if full < barWidth {
            bar.append(Self.partials[eighths % 8])
            bar += String(repeating: " ", count: barWidth - full - 1)
        }
        return "\(percent)|\(bar)|\(right)"
    }

    /// `mm:ss`, or `h:mm:ss` past an hour.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded(.down))
        let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%02d:%02d", m, sec)
    }

    /// Three significant digits or so: 0.123, 1.23, 35.2, 412.
    static func rate(_ r: Double) -> String {
        if r >= 100 { return String(format: "%.0f", r) }
        if r >= 10 { return String(format: "%.1f", r) }
        return String(format: "%.2f", r)
    }
}

/// Limits redraws to one per `interval` seconds (tqdm's `mininterval`).
public struct RedrawThrottle: Sendable {
    public var interval: Double
    private var last: Double = -.infinity

    public init(interval: Double = 0.1) { self.interval = interval }

    /// True when a redraw at time `now` (seconds) is allowed; records it.
    public mutating func allow(at now: Double) -> Bool {
        guard now - last >= interval else { return false }
        last = now
        return true
    }
}
