import Foundation

/// IPython-style magics, typed at the start of a line:
///
/// - `%time CMD` runs CMD as a normal cell and reports wall and CPU time.
/// - `%timeit CMD` repeats a read-only CMD (against the latest snapshot,
///   without recording cells) for about half a second and reports mean, min
///   and the number of runs. Mutating commands are refused: repeating them
///   would change the session.
/// - `%history` lists this session's cells (like `history`).
/// - `%reset` starts a fresh session after a y/N confirmation.
/// - `%run FILE` runs a script's commands as cells of this session.
/// - `%lsmagic` lists the magics.
enum Magic {
    static let names = ["%history", "%lsmagic", "%reset", "%run", "%time", "%timeit"]

    /// Each magic's usage and one-line description (`%lsmagic`, `help %time`).
    static let help: [(name: String, usage: String, summary: String)] = [
        ("%history", "%history", "this session's cells with their times and status (like `history`)"),
        ("%lsmagic", "%lsmagic", "list the magics"),
        ("%reset", "%reset", "ask [y/N], then start a fresh session (model, optimizer, keys and cells dropped)"),
        ("%run", "%run FILE", "run a script's commands (one per line, `#` comments) as cells of this session; stops at the first error"),
        ("%time", "%time CMD", "run CMD as a cell and report wall and CPU time (and img/s when it measured them)"),
        ("%timeit", "%timeit CMD", "repeat a read-only CMD for about half a second: mean ± std and min per run"),
    ]

    /// `help %NAME`: the magic's usage and description, or nil for an unknown magic.
    static func describe(_ name: String) -> Record? {
        guard let m = help.first(where: { $0.name == name }) else { return nil }
        return Record(title: m.name, [("usage", .string(m.usage)), ("summary", .string(m.summary)),
                                      ("where", .string("the interactive shell only (magics start a line with %)"))])
    }

    /// `%lsmagic`: every magic and what it does.
    static var table: Table {
        Table(title: "magics (the interactive shell; help %NAME explains one)", columns: [.init("usage"), .init("does")],
              rows: help.map { [.string($0.usage), .string($0.summary)] })
    }

    /// CPU time of this process so far (user, system) in seconds.
    static func cpuTime() -> (user: Double, system: Double) {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return (seconds(usage.ru_utime), seconds(usage.ru_stime))
    }

    /// `1.23 s`, `45.6 ms`, `789 µs`, `12.3 ns`.
    static func duration(_ seconds: Double) -> String {
        if seconds >= 1 { return String(format: "%.3g s", seconds) }
        if seconds >= 1e-3 { return String(format: "%.3g ms", seconds * 1e3) }
        if seconds >= 1e-6 { return String(format: "%.3g µs", seconds * 1e6) }
        return String(format: "%.3g ns", seconds * 1e9)
    }

    /// The `%time` report line; `imagesPerSecond` when the command reported one.
    static func timeReport(wall: Double, user: Double, system: Double, imagesPerSecond: Double? = nil) -> String {
        "Wall time: \(duration(wall)); CPU time: \(duration(user + system)) (user \(duration(user)), sys \(duration(system)))"
            + (imagesPerSecond.map { "; \(TextRenderer.number($0)) img/s" } ?? "")
    }

    /// The `img_s` a result reports (train steps, bench …), if any.
    static func imagesPerSecond(_ result: CommandResult?) -> Double? {
        switch result {
        case .record(let r)?:
            switch r["img_s"] {
            case .double(let d)?: return d
            case .float(let f)?: return Double(f)
            case .int(let i)?: return Double(i)
            default: return nil
            }
        case .group(let items)?: return items.lazy.compactMap { imagesPerSecond($0) }.first
        default: return nil
        }
    }

    /// Runs a read-only command repeatedly; returns the report line or throws
    /// a one-line error.
    static func timeit(_ text: String, workbench: Workbench, budget: Double = 0.5, maxRuns: Int = 10_000) throws(ShellError) -> String {
        let commands = try Tokenizer.commands(text)
        guard commands.count == 1, let tokens = commands.first else {
            throw ShellError("%timeit takes one command, e.g. %timeit help")
        }
        let invocation = try workbench.registry.resolve(tokens, text: text)
        guard !invocation.spec.mutates else {
            throw ShellError("%timeit only repeats read-only commands ('\(invocation.spec.name)' changes the session); use %time")
        }
        guard !invocation.spec.computes else {
            throw ShellError("%timeit only repeats commands that answer at once ('\(invocation.spec.name)' runs on the compute queue); use %time")
        }
        var times: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        repeat {
            let t0 = DispatchTime.now().uptimeNanoseconds
            do {
                _ = try invocation.spec.run(invocation, CommandContext(state: workbench.snapshot, workbench: workbench, background: false))
            } catch let error as ShellError {
                throw error
            } catch {
                throw ShellError(String(describing: error))
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        } while times.count < maxRuns && (times.count < 3 || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < budget)
        let mean = times.reduce(0, +) / Double(times.count)
        let variance = times.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(times.count)
        return "\(duration(mean)) ± \(duration(variance.squareRoot())) per run (mean ± std of \(times.count) runs), min \(duration(times.min()!))"
    }
}
