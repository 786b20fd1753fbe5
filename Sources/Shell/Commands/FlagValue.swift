import Foundation

/// A Swift type a flag's value can have: how typed text becomes it, which
/// `ValueKind` the registry checks the text against, and how a default of it
/// reads in help.
public protocol FlagValue: Sendable {
    /// The kind the registry checks typed text against.
    static var flagKind: ValueKind { get }
    /// The value of typed text (nil if it is not of this type).
    init?(flagText: String)
    /// A default as help shows it (nil: nothing to show).
    var flagDefaultText: String? { get }
}

extension Int: FlagValue {
    public static var flagKind: ValueKind { .int }
    public init?(flagText: String) {
        guard let n = NumberParsing.int(flagText) else { return nil }
        self = n
    }
    public var flagDefaultText: String? { String(self) }
}

extension Double: FlagValue {
    public static var flagKind: ValueKind { .double }
    public init?(flagText: String) {
        guard let d = NumberParsing.double(flagText) else { return nil }
        self = d
    }
    /// `0`, `0.004`, `1e-6`: whole numbers without `.0`, exponents without padding.
    public var flagDefaultText: String? {
        if self == rounded(), abs(self) < 1e15 { return String(Int(self)) }
        return description.replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e+")
    }
}

extension String: FlagValue {
    public static var flagKind: ValueKind { .string }
    public init?(flagText: String) { self = flagText }
    public var flagDefaultText: String? { self }
}

extension Bool: FlagValue {
    public static var flagKind: ValueKind { .bool }
    /// A bare on/off flag is stored as "" (the registry reads `--x=false` as absent).
    public init?(flagText: String) { self = true }
    public var flagDefaultText: String? { nil }
}

/// An element of a comma-separated list flag (`--depths 1,1,2,1`).
public protocol FlagListElement: FlagValue {
    static var listKind: ValueKind { get }
}

extension Int: FlagListElement { public static var listKind: ValueKind { .intList } }
extension Double: FlagListElement { public static var listKind: ValueKind { .doubleList } }

extension Array: FlagValue where Element: FlagListElement {
    public static var flagKind: ValueKind { Element.listKind }
    public init?(flagText: String) {
        var out: [Element] = []
        for part in flagText.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Element(flagText: String(part)) else { return nil }
            out.append(v)
        }
        self = out
    }
    public var flagDefaultText: String? { map { $0.flagDefaultText ?? "" }.joined(separator: ",") }
}

extension Optional: FlagValue where Wrapped: FlagValue {
    public static var flagKind: ValueKind { Wrapped.flagKind }
    public init?(flagText: String) {
        guard let v = Wrapped(flagText: flagText) else { return nil }
        self = .some(v)
    }
    public var flagDefaultText: String? { self?.flagDefaultText }
}

/// A flag value that is one of fixed words: an enum of strings. Conforming
/// is all it takes (`extension Split: ChoiceFlagValue {}`).
public protocol ChoiceFlagValue: FlagValue, CaseIterable, RawRepresentable where RawValue == String {}

extension ChoiceFlagValue {
    public static var flagKind: ValueKind { .choice(allCases.map(\.rawValue)) }
    public init?(flagText: String) { self.init(rawValue: flagText) }
    public var flagDefaultText: String? { rawValue }
}
