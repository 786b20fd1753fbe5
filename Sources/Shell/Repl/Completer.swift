import Foundation
import Training

/// What a completion provider is asked about: the command being typed, the
/// flag or argument whose value is being completed, the partial word, and the
/// latest snapshot of the session (never the live state: completion must not
/// wait for or compute on a job).
public struct CompletionRequest: Sendable {
    public var command: CommandSpec
    /// The words typed after the command's own words, before the partial one.
    public var previousWords: [String]
    public var registry: CommandRegistry
    /// Set when completing a flag's value (`--naming fl<Tab>`).
    public var flag: FlagSpec?
    /// Set when completing a positional argument.
    public var argument: ArgumentSpec?
    /// The partial word under the cursor (may be empty).
    public var prefix: String
    public var snapshot: SessionState
    public var workingDirectory: URL
}

/// The extension point for dynamic completions (parameter paths, block names,
/// key names, session names …). A provider returns candidate words for a
/// request, or nil when the request is not its business; the first provider
/// that answers wins, before the built-in rules: a flag's own
/// `CompletionSource` (declared with its key), an argument's choices or files. Add providers to `Completer.standardProviders` (in
/// `CompletionProviders.swift`), keyed on the command's words and the flag or
/// argument name, reading only `request.snapshot`.
public typealias CompletionProvider = @Sendable (CompletionRequest) -> [String]?

/// Tab completion from the command registry: commands, sub-commands, flags of
/// the resolved command, flag values with fixed choices, file paths.
public struct Completer: Sendable {
    public var registry: CommandRegistry
    public var providers: [CompletionProvider]
    public var workingDirectory: URL

    public init(registry: CommandRegistry, workingDirectory: URL,
                providers: [CompletionProvider] = Completer.standardProviders) {
        self.registry = registry
        self.workingDirectory = workingDirectory
        self.providers = providers
    }

    /// The outcome of completing at the cursor.
    public struct Completion: Equatable, Sendable {
        /// Full candidate words (sorted, unique).
        public var candidates: [String]
        /// The partial word they complete (its text as typed, before the cursor).
        public var prefix: String
    }

    /// Candidates for the word that ends at the end of `line` (the text before the cursor).
    public func complete(_ line: String, snapshot: SessionState = SessionState()) -> Completion {
        let (words, partial) = Self.split(line)
        return Completion(candidates: Array(Set(candidates(words: words, partial: partial, snapshot: snapshot))).sorted(),
                          prefix: partial)
    }

    func candidates(words: [String], partial: String, snapshot: SessionState) -> [String] {
        // Magics complete the command after them (`%time mo<Tab>`).
        var words = words
        if let first = words.first, first.hasPrefix("%") { words.removeFirst() }
        if words.isEmpty && partial.hasPrefix("%") { return Magic.names.filter { $0.hasPrefix(partial) } }
        // The longest leading run of words that is a command or a command group.
        var group: [String] = []
        for word in words {
            if registry.subcommands(of: group).contains(word) { group.append(word) } else { break }
        }
        let spec = longestCommand(words)
        var out: [String] = []
        if group.count == words.count {
            out += registry.subcommands(of: group).filter { $0.hasPrefix(partial) }
        }
        guard let spec else { return out }
        let rest = Array(words.dropFirst(spec.words.count))
        if partial.hasPrefix("-") {
            return out + spec.flags.map { "--" + $0.name }.filter { $0.hasPrefix(partial) }
        }
        // A value for the flag just before the cursor?
        if let last = rest.last, last.hasPrefix("--"), !last.contains("="),
           let flag = spec.flags.first(where: { "--" + $0.name == last }), flag.kind != .bool {
            return values(CompletionRequest(command: spec, previousWords: rest, registry: registry, flag: flag, argument: nil, prefix: partial,
                                            snapshot: snapshot, workingDirectory: workingDirectory), source: flag.completion)
        }
        // Otherwise a positional argument: count those already given.
        var index = 0, i = 0
        while i < rest.count {
            let word = rest[i]
            if word.hasPrefix("--"), let flag = spec.flags.first(where: { "--" + $0.name == word }) {
                i += flag.kind == .bool ? 1 : 2
                continue
            }
            index += 1
            i += 1
        }
        guard !spec.arguments.isEmpty else { return out }
        if index >= spec.arguments.count && !spec.variadicTail { return out }
        let argument = spec.arguments[min(index, spec.arguments.count - 1)]
        return out + values(CompletionRequest(command: spec, previousWords: rest, registry: registry, flag: nil, argument: argument, prefix: partial,
                                              snapshot: snapshot, workingDirectory: workingDirectory), source: CompletionSource(argument.kind))
    }

    private func longestCommand(_ words: [String]) -> CommandSpec? {
        var n = words.count
        while n > 0 {
            if let spec = registry.command(Array(words.prefix(n))) { return spec }
            n -= 1
        }
        return nil
    }

    private func values(_ request: CompletionRequest, source: CompletionSource) -> [String] {
        for provider in providers {
            if let words = provider(request) { return words.filter { $0.hasPrefix(request.prefix) } }
        }
        switch source {
        case .none: return []
        case .words(let words): return words.filter { $0.hasPrefix(request.prefix) }
        case .files: return Self.paths(request.prefix, in: request.workingDirectory)
        case .runNumbers:
            // A comma list completes its last number: `--compare 1,<Tab>` → `1,2`.
            let head = request.prefix.lastIndex(of: ",").map { String(request.prefix[...$0]) } ?? ""
            return request.snapshot.runLog.finished.map { head + String($0.number) }.filter { $0.hasPrefix(request.prefix) }
        }
    }

    /// Files and folders whose path starts with `prefix` (folders end in `/`);
    /// `~` is expanded for the lookup but kept in the candidates.
    public static func paths(_ prefix: String, in directory: URL) -> [String] {
        let slash = prefix.lastIndex(of: "/")
        let dirPart = slash.map { String(prefix[...$0]) } ?? ""
        let namePart = slash.map { String(prefix[prefix.index(after: $0)...]) } ?? prefix
        let expanded = (dirPart as NSString).expandingTildeInPath
        let dirURL: URL
        if dirPart.isEmpty {
            dirURL = directory
        } else if expanded.hasPrefix("/") {
            dirURL = URL(fileURLWithPath: expanded, isDirectory: true)
        } else {
            dirURL = directory.appendingPathComponent(expanded, isDirectory: true)
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dirURL.path) else { return [] }
        return names.filter { $0.hasPrefix(namePart) && (namePart.hasPrefix(".") || !$0.hasPrefix(".")) }.map { name in
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: dirURL.appendingPathComponent(name).path, isDirectory: &isDir)
            return dirPart + name + (isDir.boolValue ? "/" : "")
        }
    }

    /// Splits the text before the cursor into the complete words of the
    /// current command (after the last unquoted `;`) and the partial word.
    /// Lenient: an unterminated quote just continues the partial word.
    static func split(_ line: String) -> (words: [String], partial: String) {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for c in line {
            if escaped { current.append(c); escaped = false; inWord = true; continue }
            if let q = quote {
                if c == q { quote = nil } else if c == "\\" && q == "\"" { escaped = true } else { current.append(c) }
                continue
            }
            switch c {
            case "'", "\"": quote = c; inWord = true
            case "\\": escaped = true
            case " ", "\t":
                if inWord { words.append(current) }
                current = ""; inWord = false
            case ";":
                words = []; current = ""; inWord = false
            default:
                current.append(c); inWord = true
            }
        }
        return (words, current)
    }

    /// The longest common prefix of `words` (by characters).
    public static func commonPrefix(_ words: [String]) -> String {
        guard var prefix = words.first.map(Array.init) else { return "" }
        for word in words.dropFirst() {
            let chars = Array(word)
            var n = 0
            while n < prefix.count && n < chars.count && prefix[n] == chars[n] { n += 1 }
            prefix = Array(prefix.prefix(n))
        }
        return String(prefix)
    }
}
