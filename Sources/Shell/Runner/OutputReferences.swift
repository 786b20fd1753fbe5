/// IPython's output references in a command line: `_` (the last output),
/// `__`, `___`, and `_N` or `Out[N]` (cell N's output).
///
/// - Alone on a line, a reference shows that output again (nothing is re-run).
/// - As a word of a command, it stands for the file that output's command
///   wrote: its `--out` file, the PNG it drew, or the FILE of `params
///   export`, `metrics export`, `history save` and `transcript export`. So
///   `data batch --out b.safetensors`, then `forward _ --out l.safetensors`,
///   then `tensors diff l0.safetensors _`.
///
/// An output is a cell that succeeded with something to show; failed and
/// empty cells are skipped by `_`, `__` and `___`, as in IPython. A quoted
/// `'_'` is the text itself.
enum OutputReferences {
    /// What a command line becomes once its references are resolved.
    enum Expansion: Equatable {
        /// The line is one reference: show this cell's output again.
        case show(Int)
        /// The words to run (references replaced by file paths); `changed`
        /// when any was replaced.
        case words([Token], changed: Bool)
    }

    /// Commands that write the file named by their first argument.
    static let fileArgumentWriters: Set<[String]> = [
        ["params", "export"], ["metrics", "export"], ["history", "save"], ["transcript", "export"],
    ]

    /// The cell number `word` refers to, given the earlier cells; nil when
    /// `word` is not a reference. Throws when it is one that names no output.
    static func cellNumber(_ word: String, cells: [Cell]) throws -> Int? {
        let outputs = cells.filter(\.hasOutput).map(\.number)
        func back(_ n: Int) throws -> Int {
            guard outputs.count >= n else {
                throw ShellError("'\(word)' refers to the \(n == 1 ? "last" : n == 2 ? "second-to-last" : "third-to-last") output, and there \(outputs.count == 1 ? "is only 1" : "are \(outputs.count)") so far")
            }
            return outputs[outputs.count - n]
        }
        func numbered(_ digits: Substring) throws -> Int? {
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let n = Int(digits), digits.allSatisfy(\.isNumber) else { return nil }
            guard let cell = cells.first(where: { $0.number == n }), cell.hasOutput else {
                throw ShellError("'\(word)': cell \(n) has no output\(n >= (cells.last?.number ?? 0) + 1 ? " yet" : " (it failed or showed nothing)")\(outputs.isEmpty ? "" : "; outputs so far: \(outputs.suffix(8).map { "Out[\($0)]" }.joined(separator: ", "))")")
            }
            return n
        }
        switch word {
        case "_": return try back(1)
        case "__": return try back(2)
        case "___": return try back(3)
        default:
            if word.hasPrefix("Out["), word.hasSuffix("]") { return try numbered(word.dropFirst(4).dropLast()) }
            if word.hasPrefix("_") { return try numbered(word.dropFirst()) }
            return nil
        }
    }

    /// Resolves the references among `words` against the earlier `cells`.
    static func expand(_ words: [Token], cells: [Cell]) throws -> Expansion {
        if words.count == 1, !words[0].quoted, let n = try cellNumber(words[0].text, cells: cells) {
            return .show(n)
        }
        // `help _` explains the references instead of using one.
        if words.first?.text == "help" { return .words(words, changed: false) }
        var changed = false
        let out = try words.map { token -> Token in
            guard !token.quoted, let n = try cellNumber(token.text, cells: cells) else { return token }
            let cell = cells.first { $0.number == n }!
            guard let file = cell.file else {
                throw ShellError("'\(token.text)' is Out[\(n)] (`\(cell.command)`), which wrote no file: as a word of a command, `_` and `Out[N]` stand for the file an output's command wrote (--out, a PNG, params export …)")
            }
            changed = true
            return Token(file, quoted: true)
        }
        return .words(out, changed: changed)
    }

    /// The file `invocation` wrote, if it is one of the writers: the PNG
    /// of an image result, its `--out` file, or a writer's FILE argument.
    static func writtenFile(_ invocation: Invocation, _ result: CommandResult, workbench: Workbench) -> String? {
        if let image = firstImage(result) { return image }
        if let out = outFlag(invocation) { return workbench.url(for: out).path }
        if fileArgumentWriters.contains(invocation.spec.words), let file = invocation.argument(0) {
            return workbench.url(for: file).path
        }
        return nil
    }

    /// The `--out` of the commands that write one (`data batch`, `forward`,
    /// `grad`, `data preview`): read through their own keys.
    private static func outFlag(_ invocation: Invocation) -> String? {
        for key in [DataCommands.batchOut, ModelCommands.out] {
            if case let out?? = try? invocation.read(key) { return out }
        }
        return try? invocation.read(DataCommands.previewOut)
    }

    private static func firstImage(_ result: CommandResult) -> String? {
        switch result {
        case .image(let image): return image.path
        case .group(let items): return items.lazy.compactMap(firstImage).first
        default: return nil
        }
    }
}

extension Cell {
    /// Whether the cell is an output `_` can refer to: it succeeded and showed something.
    var hasOutput: Bool {
        guard error == nil, let result else { return false }
        return result != .empty
    }
}

extension OutputReferences {
    /// The words `help` explains as output references (`help _`, `help Out[N]`).
    static func isHelpTopic(_ words: [String]) -> Bool {
        guard words.count == 1 else { return false }
        let w = words[0]
        return ["_", "__", "___", "_N", "Out"].contains(w) || w.hasPrefix("Out[")
            || (w.count > 1 && w.hasPrefix("_") && w.dropFirst().allSatisfy(\.isNumber))
    }

    /// One line for `%lsmagic` and the banner's neighbours.
    static let summary = "_, __, ___, _N, Out[N]: an earlier output — alone on a line it is shown again; as a word of a command it is the file that output wrote (forward _ --out l.safetensors). help _ explains."

    /// `help _`: what the references are, with examples.
    static var help: Record {
        Record(title: "_ and Out[N]: earlier outputs, as in IPython", [
            ("forms", .string("_ the last output, __ and ___ the two before it; _N and Out[N] the output of cell N (In [N]). Failed cells and cells that showed nothing are not outputs.")),
            ("alone", .string("a line that is only a reference shows that output again without running anything: `Out[3]`, `_`")),
            ("in a command", .string("a reference stands for the file its command wrote: the --out file (data batch, forward, grad, data preview), the PNG it drew, or FILE of params export, metrics export, history save, transcript export; one that wrote no file is refused")),
            ("example", .string("data batch --out b.safetensors; forward _ --out l0.safetensors; forward Out[1] --train --out l1.safetensors; tensors diff _2 _")),
            ("recorded", .string("the cell records the command with the file names substituted, so `history save` replays it exactly; quote '_' to pass the text itself")),
        ])
    }
}
