/// A typed flag key: a command's `--name value` option declared once, with its
/// name, value type, default, help line and completion source. Help shows the
/// key's default, the registry type-checks the typed text against the key's
/// kind, completion offers the key's source, and the command body reads the
/// value with `invocation[key]` as a `Value` (the default when absent).
///
///     static let batch = FlagKey<Int>("batch", default: 100, help: "evaluation batch size")
///     static let top = FlagKey<Int?>("top", help: "show only the N that moved most", shown: "all")
///     CommandSpec(["eval"], summary: "…", flags: [batch]) { invocation, _ in
///         let n = invocation[batch]   // an Int: 100 when --batch was not given
///
/// A flag whose absence means something ("the data's batch size", "none")
/// has an Optional `Value` (nil when absent) and says in `shown` what absence
/// means; an on/off flag is a `FlagKey<Bool>` (false when absent).
public struct FlagKey<Value: FlagValue>: FlagDeclaration {
    /// What help, the registry and completion see.
    public let spec: FlagSpec
    /// The value `invocation[key]` gives when the flag was not typed.
    public let defaultValue: Value

    /// A flag with a value default, shown in help as the key's value.
    public init(_ name: String, default value: Value, help: String,
                kind: ValueKind = Value.flagKind, completion: CompletionSource? = nil) {
        spec = FlagSpec(name, kind, help, default: value.flagDefaultText,
                        completion: completion ?? CompletionSource(kind))
        defaultValue = value
    }

    /// The typed text as a value. Nil only if the text does not have the
    /// key's kind, which the registry refused before the command ran.
    func value(_ text: String) -> Value? { Value(flagText: text) }
}

extension FlagKey where Value: ExpressibleByNilLiteral {
    /// A flag whose absence (nil) means something: `shown` says what, in help.
    public init(_ name: String, help: String, shown: String? = nil,
                kind: ValueKind = Value.flagKind, completion: CompletionSource? = nil) {
        spec = FlagSpec(name, kind, help, default: shown, completion: completion ?? CompletionSource(kind))
        defaultValue = nil
    }
}

extension FlagKey where Value == Bool {
    /// An on/off flag (`--train`): false when absent.
    public init(_ name: String, help: String) {
        spec = FlagSpec(name, .bool, help, default: nil, completion: .none)
        defaultValue = false
    }
}

/// Anything a command lists among its flags: a `FlagKey` of any value type.
public protocol FlagDeclaration: Sendable {
    var spec: FlagSpec { get }
}

/// Where Tab finds the values of a flag.
public enum CompletionSource: Sendable, Equatable {
    /// Nothing to offer (numbers, free text).
    case none
    /// Fixed words (`flax`, `timm`).
    case words([String])
    /// Files and folders under the working directory.
    case files
    /// The numbers of the finished runs (`runs`).
    case runNumbers

    /// The source a value kind implies: its choices, or files for a path.
    public init(_ kind: ValueKind) {
        switch kind {
        case .choice(let words): self = .words(words)
        case .path: self = .files
        default: self = .none
        }
    }
}
