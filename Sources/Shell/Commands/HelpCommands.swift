import JSON

/// `help` and `help CMD`: generated from the registry, so they never drift.
enum HelpCommands {
    static let markdown = FlagKey<Bool>("markdown", help: "print the whole command reference as Markdown (docs/commands.md)")

    static let all: [CommandSpec] = [
        CommandSpec(["help"], summary: "List commands, or explain one: help model build",
                    help: "With no argument, lists every command with its one-line summary. With a command's words, shows its usage, what it does, its arguments and its flags; `help %time` explains a magic, `help _` the output references (`_`, `Out[N]`). In the shell, `CMD?` and `?CMD` are `help CMD`.",
                    arguments: [ArgumentSpec("command", .string, "the command to explain", optional: true)],
                    flags: [markdown],
                    variadicTail: true, mutates: false) { invocation, context in
            if invocation[markdown] { return .message(CommandReference.markdown(context.workbench.registry)) }
            return try help(invocation.arguments, registry: context.workbench.registry)
        },
    ]

    static func help(_ words: [String], registry: CommandRegistry) throws(ShellError) -> CommandResult {
        if let magic = words.first, magic.hasPrefix("%"), words.count == 1 {
            guard let record = Magic.describe(magic) else {
                throw ShellError("no magic '\(magic)'; magics: \(Magic.names.joined(separator: ", ")) (%lsmagic lists them)")
            }
            return .record(record)
        }
        if OutputReferences.isHelpTopic(words) { return .record(OutputReferences.help) }
        if words.isEmpty {
            let rows: [[JSONValue]] = registry.commands.sorted { $0.name < $1.name }
                .map { [.string($0.name), .string($0.summary)] }
            return .table(Table(title: "Commands (help CMD for details)",
                                columns: [.init("command"), .init("summary")], rows: rows))
        }
        // A group: list its sub-commands.
        let matching = registry.commands.filter { Array($0.words.prefix(words.count)) == words }
        if let spec = registry.command(words) {
            // A command that is also a group (`step`): its sub-commands follow.
            let more = matching.filter { $0.words.count > words.count }
            guard !more.isEmpty else { return .record(describe(spec)) }
            return .group([.record(describe(spec)),
                           .table(Table(title: "\(spec.name) …", columns: [.init("usage"), .init("summary")],
                                        rows: more.map { [.string($0.usage), .string($0.summary)] }))])
        }
        if !matching.isEmpty {
            let rows: [[JSONValue]] = matching.map { [.string($0.usage), .string($0.summary)] }
            return .table(Table(title: words.joined(separator: " "), columns: [.init("usage"), .init("summary")], rows: rows))
        }
        let name = words.joined(separator: " ")
        throw ShellError("no command '\(name)'\(Suggestion.hint(name, registry.commands.map(\.name))); type 'help' for the list")
    }

    static func describe(_ spec: CommandSpec) -> Record {
        var fields: [(String, JSONValue)] = [("usage", .string(spec.usage)), ("summary", .string(spec.summary))]
        if !spec.help.isEmpty { fields.append(("help", .string(spec.help))) }
        for a in spec.arguments {
            fields.append((a.name.uppercased(), .string(a.help + (a.optional ? " (optional)" : ""))))
        }
        for f in spec.flags {
            var text = f.help
            if let d = f.defaultText { text += " (default \(d))" }
            fields.append(("--" + f.name + (f.kind == .bool ? "" : " " + f.kind.placeholder), .string(text)))
        }
        return Record(title: spec.name, fields)
    }
}

extension CommandRegistry {
    /// What `help WORDS` shows (a command, a group, or a magic), without
    /// running a cell: the Jupyter kernel's inspector asks this.
    public func help(for words: [String]) throws(ShellError) -> CommandResult {
        try HelpCommands.help(words, registry: self)
    }
}
