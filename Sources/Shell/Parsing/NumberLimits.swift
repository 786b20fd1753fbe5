import Models

/// The accepted range of every integer flag and argument, checked when a
/// command is parsed, before it runs: a value outside it is one line naming
/// the flag and the limit, never an overflow, a huge allocation or a hang.
///
/// The limits are generous for this workbench (a 2-core laptop to a large
/// server); commands still refuse what will not fit in memory (see
/// `MemoryBudget`), and the model config checks its own fields.
enum NumberLimits {
    /// `"command flag-or-argument"` → range; `"* name"` applies to every
    /// command without its own entry.
    static let ranges: [String: ClosedRange<Int>] = [
        "* classes": 1...ModelLimits.classes.upperBound,
        "* image-size": ModelLimits.imageSize,
        "* kernel-size": ModelLimits.kernelSize,
        "* depths": ModelLimits.depth,
        "* dims": ModelLimits.width,
        "* batch": 1...65_536,
        "* threads": 1...1024,
        "* seed": Int(Int64.min)...Int(Int64.max),
        "* steps": 1...1_000_000_000,
        "* warmup": 0...100_000,
        "* warmup-steps": 0...Int(Int32.max),
        "* decay-steps": 0...Int(Int32.max),
        "* accumulate": 1...65_536,
        "* repeat": 1...1_000_000,
        "* at": 0...Int(Int32.max),
        "* from": 0...Int(Int32.max),
        "* to": 0...Int(Int32.max),
        "* top": 1...1_000_000_000,
        "* last": 1...1_000_000_000,
        "bench train steps": 1...100_000,
        "bench infer steps": 1...100_000,
        "bench init steps": 1...10_000,
        "bench save steps": 1...10_000,
        "bench train batch": 1...4096,
        "bench infer batch": 1...4096,
        "train steps n": 1...1_000_000_000,
        "train epochs n": 1...1_000_000,
        "train batch steps": 1...1_000_000,
        "eval batch": 1...65_536,
        "data synthetic count": 1...10_000_000,
        "data synthetic val-count": 0...10_000_000,
        "data synthetic size": 8...1024,
        "data preview count": 1...256,
        "data batch size": 1...65_536,
        "rng split count": 1...1_000_000,
        "rng sample count": 1...10_000_000,
    ]

    /// The range for `name` (a flag without `--`, or an argument) of `command`, if limited.
    static func range(command: String, name: String) -> ClosedRange<Int>? {
        ranges["\(command) \(name)"] ?? ranges["* \(name)"]
    }

    /// Throws when `value` is outside the range of `name` in `command`.
    static func check(_ value: Int, command: String, name: String, what: String) throws(ShellError) {
        guard let r = range(command: command, name: name), !r.contains(value) else { return }
        throw ShellError("\(what) of '\(command)' must be \(text(r)), got \(value)")
    }

    static func text(_ r: ClosedRange<Int>) -> String {
        r.upperBound == Int(Int64.max) ? "at least \(r.lowerBound)" : "\(r.lowerBound)…\(r.upperBound)"
    }
}
