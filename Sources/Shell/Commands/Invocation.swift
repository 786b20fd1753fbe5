/// A parsed, type-checked call of a command: its positional arguments and
/// flags, with typed accessors. Values were validated against the command's
/// spec when the invocation was made, so the accessors only fail on misuse
/// by the command's own code.
public struct Invocation: Sendable {
    public var spec: CommandSpec
    /// The command line as typed (for transcripts).
    public var text: String
    /// Positional arguments in order (the variadic tail included).
    public var arguments: [String]
    /// The flags as typed, by name (`""` for an on/off flag that is on).
    /// Private: commands read flags typed, with `invocation[key]`.
    private let flags: [String: String]

    public init(spec: CommandSpec, text: String, arguments: [String], flags: [String: String]) {
        self.spec = spec
        self.text = text
        self.arguments = arguments
        self.flags = flags
    }

    /// The positional argument at `index`, if given.
    public func argument(_ index: Int) -> String? {
        index < arguments.count ? arguments[index] : nil
    }

    /// The value of a declared flag: the typed value, or the key's default
    /// when it was not given. Reading a flag the command did not declare is a
    /// programmer error and stops the program (`check` says why; the
    /// registry test walks every command's keys).
    public subscript<Value>(key: FlagKey<Value>) -> Value {
        do {
            return try read(key)
        } catch {
            preconditionFailure(error.message)
        }
    }

    /// `invocation[key]`, with the misuse it can meet as an error: a key the
    /// command does not declare (a misspelt name, another command's key).
    public func read<Value>(_ key: FlagKey<Value>) throws(ShellError) -> Value {
        guard spec.flags.contains(key.spec) else {
            let declared = spec.flags.contains { $0.name == key.spec.name }
            throw ShellError("internal error: '\(spec.name)' reads --\(key.spec.name), "
                + (declared ? "a different key than the one it declares under that name" : "which it does not declare"))
        }
        guard let text = flags[key.spec.name] else { return key.defaultValue }
        guard let value = key.value(text) else {
            throw ShellError("internal error: --\(key.spec.name) of '\(spec.name)' holds '\(text)', not a \(Value.self)")
        }
        return value
    }

    /// A positional argument parsed as an integer.
    public func intArgument(_ index: Int) -> Int? { argument(index).flatMap(NumberParsing.int) }
}
