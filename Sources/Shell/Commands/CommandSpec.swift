/// The type of a flag's or argument's value.
public enum ValueKind: Sendable, Equatable {
    /// A flag that takes no value (`--train`).
    case bool
    case int
    case double
    case string
    /// A comma-separated list of integers (`--depths 1,1,2,1`).
    case intList
    /// A comma-separated list of numbers (`--at 0,10,1e3`).
    case doubleList
    /// One of fixed words (`--naming flax|timm`).
    case choice([String])
    /// A file path (completion offers files).
    case path

    var placeholder: String {
        switch self {
        case .bool: return ""
        case .int: return "N"
        case .double: return "X"
        case .string: return "TEXT"
        case .intList: return "N,N,…"
        case .doubleList: return "X,X,…"
        case .choice(let words): return words.joined(separator: "|")
        case .path: return "FILE"
        }
    }
}

/// What help, the registry and completion know of a `--name value` option:
/// made only by a typed key (`FlagKey`), which the command body reads it with.
public struct FlagSpec: Sendable, Equatable {
    public let name: String
    public let kind: ValueKind
    public let help: String
    /// The default as help shows it: the key's default value, or what
    /// absence means for an optional flag.
    public let defaultText: String?
    /// Where Tab finds values.
    public let completion: CompletionSource

    init(_ name: String, _ kind: ValueKind, _ help: String, default defaultText: String?, completion: CompletionSource) {
        self.name = name
        self.kind = kind
        self.help = help
        self.defaultText = defaultText
        self.completion = completion
    }
}

/// A positional argument of a command.
public struct ArgumentSpec: Sendable {
    public var name: String
    public var kind: ValueKind
    public var help: String
    public var optional: Bool

    public init(_ name: String, _ kind: ValueKind, _ help: String, optional: Bool = false) {
        self.name = name
        self.kind = kind
        self.help = help
        self.optional = optional
    }
}

/// A command: its words (`["model", "build"]`), help, typed arguments and
/// flags, and the function that runs it against the workbench.
public struct CommandSpec: Sendable {
    public typealias Run = @Sendable (Invocation, CommandContext) throws -> CommandResult

    public var words: [String]
    public var summary: String
    public var help: String
    public var arguments: [ArgumentSpec]
    /// The declared flags (typed keys' specs), in help order.
    public private(set) var flags: [FlagSpec]
    /// The last argument takes every remaining word (e.g. `help model build`).
    public var variadicTail: Bool
    /// Changes the live state: refused while a job runs.
    public var mutates: Bool
    /// Runs model compute (a forward or backward pass, decoding and
    /// augmenting images) without changing the state: it runs on the compute
    /// queue like a mutating command, so it never competes with a job for
    /// the cores, and is refused while a job runs.
    public var computes: Bool
    public var run: Run

    /// Answers at once from the published snapshot, also while a job runs.
    public var answersAtOnce: Bool { !mutates && !computes }

    public init(_ words: [String], summary: String, help: String = "",
                arguments: [ArgumentSpec] = [], flags: [any FlagDeclaration] = [],
                variadicTail: Bool = false, mutates: Bool = true, computes: Bool = false, run: @escaping Run) {
        self.words = words
        self.summary = summary
        self.help = help
        self.arguments = arguments
        self.flags = flags.map { $0.spec }
        let names = self.flags.map(\.name)
        precondition(Set(names).count == names.count, "command '\(words.joined(separator: " "))' declares a flag twice")
        self.variadicTail = variadicTail
        self.mutates = mutates
        self.computes = computes
        self.run = run
    }

    /// The command's name as typed: `model build`.
    public var name: String { words.joined(separator: " ") }

    /// A one-line synopsis: `model build VARIANT [--classes N] …`.
    public var usage: String {
        var parts = [name]
        for a in arguments {
            let word = a.name.uppercased() + (variadicTail && a.name == arguments.last?.name ? "…" : "")
            parts.append(a.optional ? "[\(word)]" : word)
        }
        for f in flags {
            parts.append(f.kind == .bool ? "[--\(f.name)]" : "[--\(f.name) \(f.kind.placeholder)]")
        }
        return parts.joined(separator: " ")
    }

    func flag(named name: String) -> FlagSpec? { flags.first { $0.name == name } }
}
