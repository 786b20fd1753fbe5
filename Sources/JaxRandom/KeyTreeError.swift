import Foundation

/// What went wrong with a key-tree request, in one line with what to do.
public enum KeyTreeError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// No key has this name; `known` lists the names that exist.
    case unknownKey(String, known: [String])
    /// A key name must be non-empty and free of whitespace.
    case invalidName(String)
    /// `split` needs at least one child.
    case invalidSplitCount(Int)
    /// Sample counts cannot be negative.
    case negativeCount(Int)
    /// A Bernoulli probability outside [0, 1].
    case invalidProbability(Float)
    /// truncated_normal bounds that are not finite with lower < upper.
    case invalidBounds(lower: Float, upper: Float)
    /// A distribution name that `Distribution(parsing:)` does not know.
    case unknownDistribution(String)
    /// A Flax counter below 1 (make_rng counts from 1).
    case invalidCounter(Int)

    public var description: String {
        switch self {
        case let .unknownKey(name, known):
            let list = known.count <= 12 ? known.joined(separator: ", ") : known.prefix(12).joined(separator: ", ") + ", …"
            return "unknown key '\(name)': known keys are \(list) (see `rng show`)"
        case let .invalidName(name):
            return "invalid key name '\(name)': use a non-empty name without spaces"
        case let .invalidSplitCount(n):
            return "cannot split into \(n) keys: the count must be at least 1"
        case let .negativeCount(n):
            return "cannot draw \(n) values: the count must be 0 or more"
        case let .invalidProbability(p):
            return "bernoulli probability \(p) is outside [0, 1]: give p between 0 and 1, e.g. bernoulli:0.3"
        case let .invalidBounds(lower, upper):
            return "truncated_normal bounds [\(lower), \(upper)] are invalid: give finite bounds with lower < upper"
        case let .unknownDistribution(text):
            return "unknown distribution '\(text)': use bits, uniform, normal, truncated_normal[:LO,HI], bernoulli:P or permutation"
        case let .invalidCounter(c):
            return "Flax rng counter \(c) is invalid: make_rng counts from 1 (kernel 1, bias 2)"
        }
    }

    public var errorDescription: String? { description }
}
