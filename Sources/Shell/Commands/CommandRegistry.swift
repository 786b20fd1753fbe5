/// All commands the shell knows, and the resolution of a command line's words
/// to one of them with type-checked arguments and flags.
public struct CommandRegistry: Sendable {
    public private(set) var commands: [CommandSpec] = []

    public init(_ commands: [CommandSpec] = []) {
        for c in commands { register(c) }
    }

    /// Adds a command. Registering the same words twice is a programming error.
    public mutating func register(_ spec: CommandSpec) {
        precondition(!commands.contains { $0.words == spec.words }, "command '\(spec.name)' registered twice")
        commands.append(spec)
    }

    /// The command with exactly these words.
    public func command(_ words: [String]) -> CommandSpec? { commands.first { $0.words == words } }

    /// The first words of all commands, sorted (`help` lists these groups).
    public var topLevelWords: [String] { Array(Set(commands.map { $0.words[0] })).sorted() }

    /// The words that may follow `prefix` (sub-commands).
    public func subcommands(of prefix: [String]) -> [String] {
        let next = commands.filter { $0.words.count > prefix.count && Array($0.words.prefix(prefix.count)) == prefix }
            .map { $0.words[prefix.count] }
        return Array(Set(next)).sorted()
    }

    /// Resolves one command's words to an invocation, checking every argument
    /// and flag against the command's spec.
    public func resolve(_ tokens: [Token], text: String) throws(ShellError) -> Invocation {
        guard let first = tokens.first else { throw ShellError("empty command") }
        // The longest run of leading unquoted words that names a command.
        var best: CommandSpec?
        var prefix: [String] = []
        for token in tokens where !token.quoted {
            prefix.append(token.text)
            if subcommands(of: Array(prefix.dropLast())).contains(token.text) || command(prefix) != nil {
                if let c = command(prefix) { best = c }
            } else {
                break
            }
        }
        guard let spec = best else {
            let known = topLevelWords
            if !known.contains(first.text) {
                throw ShellError("unknown command '\(first.text)'\(Suggestion.hint(first.text, known)); type 'help' for the list")
            }
            // A group word without a valid sub-command.
            let consumed = commonGroupPrefix(tokens)
            let subs = subcommands(of: consumed)
            let group = consumed.joined(separator: " ")
            if tokens.count > consumed.count {
                let word = tokens[consumed.count].text
                throw ShellError("unknown sub-command '\(word)' for '\(group)'\(Suggestion.hint(word, subs)); choose one of: \(subs.joined(separator: ", "))")
            }
            throw ShellError("'\(group)' needs a sub-command: \(subs.joined(separator: ", ")); see 'help \(group)'")
        }
        return try bind(spec, Array(tokens.dropFirst(spec.words.count)), text: text)
    }

    private func commonGroupPrefix(_ tokens: [Token]) -> [String] {
        var prefix: [String] = []
        for token in tokens {
            let candidate = prefix + [token.text]
            if commands.contains(where: { $0.words.count > prefix.count && Array($0.words.prefix(candidate.count)) == candidate }) {
                prefix = candidate
            } else {
                break
            }
        }
        return prefix
    }

    private func bind(_ spec: CommandSpec, _ rest: [Token], text: String) throws(ShellError) -> Invocation {
        var positional: [String] = []
        var flags: [String: String] = [:]
        var i = 0
        let flagNames = spec.flags.map(\.name)
        while i < rest.count {
            let token = rest[i]
            i += 1
            var name: String?
            var inlineValue: String?
            if !token.quoted && token.text.hasPrefix("--") && token.text.count > 2 {
                let body = String(token.text.dropFirst(2))
                if let eq = body.firstIndex(of: "=") {
                    name = String(body[..<eq])
                    inlineValue = String(body[body.index(after: eq)...])
                } else {
                    name = body
                }
            } else if !token.quoted, let eq = token.text.firstIndex(of: "="),
                      spec.flag(named: String(token.text[..<eq])) != nil {
                // key=value form for a known flag.
                name = String(token.text[..<eq])
                inlineValue = String(token.text[token.text.index(after: eq)...])
            }
            guard let flagName = name else {
                positional.append(token.text)
                continue
            }
            guard let flag = spec.flag(named: flagName) else {
                throw ShellError("unknown flag '--\(flagName)' for '\(spec.name)'\(Suggestion.hint(flagName, flagNames, prefix: "--")); see 'help \(spec.name)'")
            }
            if flag.kind == .bool {
                if let v = inlineValue {
                    guard ["true", "false", "1", "0", "yes", "no"].contains(v.lowercased()) else {
                        throw ShellError("flag --\(flag.name) is on/off: write --\(flag.name) or --\(flag.name)=false")
                    }
                    if ["true", "1", "yes"].contains(v.lowercased()) { flags[flag.name] = "" }
                } else {
                    flags[flag.name] = ""
                }
                continue
            }
            let value: String
            if let v = inlineValue {
                value = v
            } else if i < rest.count {
                value = rest[i].text
                i += 1
            } else {
                throw ShellError("flag --\(flag.name) of '\(spec.name)' needs a value (\(flag.kind.placeholder))")
            }
            try check(value, kind: flag.kind, what: "flag --\(flag.name)", limit: (spec.name, flag.name))
            flags[flag.name] = value
        }
        // Positional arguments: count and types.
        let required = spec.arguments.filter { !$0.optional }.count
        if positional.count < required {
            let missing = spec.arguments[positional.count]
            throw ShellError("'\(spec.name)' needs \(missing.name.uppercased()) (\(missing.help)); usage: \(spec.usage)")
        }
        if positional.count > spec.arguments.count && !spec.variadicTail {
            let extra = positional[spec.arguments.count]
            let subs = subcommands(of: spec.words)
            if !subs.isEmpty && spec.arguments.isEmpty {
                throw ShellError("unknown sub-command '\(extra)' for '\(spec.name)'\(Suggestion.hint(extra, subs)); choose one of: \(subs.joined(separator: ", "))")
            }
            throw ShellError("unexpected argument '\(extra)' for '\(spec.name)'; usage: \(spec.usage)")
        }
        for (index, value) in positional.enumerated() {
            let arg = spec.arguments[min(index, spec.arguments.count - 1)]
            try check(value, kind: arg.kind, what: arg.name.uppercased(), limit: (spec.name, arg.name))
        }
        return Invocation(spec: spec, text: text, arguments: positional, flags: flags)
    }

    /// Checks `value` against `kind` and the range `NumberLimits` gives `limit` (command, name).
    private func check(_ value: String, kind: ValueKind, what: String, limit: (String, String)) throws(ShellError) {
        switch kind {
        case .int:
            guard let n = NumberParsing.int(value) else { throw ShellError("\(what) expects an integer, got '\(value)'") }
            try NumberLimits.check(n, command: limit.0, name: limit.1, what: what)
        case .double:
            guard let d = NumberParsing.double(value), !d.isNaN else { throw ShellError("\(what) expects a number, got '\(value)'") }
        case .intList:
            let parts = value.split(separator: ",", omittingEmptySubsequences: false)
            guard !parts.isEmpty, parts.allSatisfy({ NumberParsing.int(String($0)) != nil }) else {
                throw ShellError("\(what) expects comma-separated integers like 1,2,3, got '\(value)'")
            }
            for part in parts { try NumberLimits.check(NumberParsing.int(String(part))!, command: limit.0, name: limit.1, what: what) }
        case .doubleList:
            let parts = value.split(separator: ",", omittingEmptySubsequences: false)
            guard !parts.isEmpty, parts.allSatisfy({ NumberParsing.double(String($0)) != nil }) else {
                throw ShellError("\(what) expects comma-separated numbers like 0,100,1e3, got '\(value)'")
            }
        case .choice(let words):
            guard words.contains(value) else {
                throw ShellError("\(what) must be one of \(words.joined(separator: ", ")), got '\(value)'\(Suggestion.hint(value, words))")
            }
        case .bool, .string, .path:
            break
        }
    }
}
