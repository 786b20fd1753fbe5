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
    /// Flag values by name (`""` for a bare boolean flag).
    public var flags: [String: String]

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

    /// Whether a flag was given.
    public func has(_ name: String) -> Bool { flags[name] != nil }

    public func string(_ name: String) -> String? { flags[name] }

    public func int(_ name: String) -> Int? { flags[name].flatMap(NumberParsing.int) }

    public func double(_ name: String) -> Double? { flags[name].flatMap(NumberParsing.double) }

    public func float(_ name: String) -> Float? { double(name).map { Float($0) } }

    public func intList(_ name: String) -> [Int]? {
        flags[name].map { $0.split(separator: ",").compactMap { NumberParsing.int(String($0)) } }
    }

    public func doubleList(_ name: String) -> [Double]? {
        flags[name].map { $0.split(separator: ",").compactMap { NumberParsing.double(String($0)) } }
    }

    /// A positional argument parsed as an integer.
    public func intArgument(_ index: Int) -> Int? { argument(index).flatMap(NumberParsing.int) }
}
