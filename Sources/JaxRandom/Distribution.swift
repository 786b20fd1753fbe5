/// A named sampler, as the shell's `rng sample NAME DIST COUNT` spells it.
public enum Distribution: Sendable, Equatable, CustomStringConvertible {
    /// `jax.random.bits`, uint32.
    case bits
    /// `jax.random.uniform` on [0, 1).
    case uniform
    /// `jax.random.normal`.
    case normal
    /// `jax.random.truncated_normal(lower, upper)`; `truncated_normal` alone is (-2, 2).
    case truncatedNormal(lower: Float, upper: Float)
    /// `jax.random.bernoulli(p)`.
    case bernoulli(Float)
    /// `jax.random.permutation(n)`, with n the count.
    case permutation

    /// Parses `bits`, `uniform`, `normal`, `truncated_normal`,
    /// `truncated_normal:LO,HI`, `bernoulli:P` (0 <= P <= 1) or `permutation`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        let arg = parts.count > 1 ? parts[1] : nil
        switch (name, arg) {
        case ("bits", nil): self = .bits
        case ("uniform", nil): self = .uniform
        case ("normal", nil): self = .normal
        case ("permutation", nil): self = .permutation
        case ("truncated_normal", nil): self = .truncatedNormal(lower: -2, upper: 2)
        case ("truncated_normal", let a?):
            let b = a.split(separator: ",").map { Float(String($0)) }
            guard b.count == 2, let lo = b[0], let hi = b[1] else { throw KeyTreeError.unknownDistribution(text) }
            guard lo.isFinite, hi.isFinite, lo < hi else { throw KeyTreeError.invalidBounds(lower: lo, upper: hi) }
            self = .truncatedNormal(lower: lo, upper: hi)
        case ("bernoulli", let a?):
            guard let p = Float(a) else { throw KeyTreeError.unknownDistribution(text) }
            guard p >= 0, p <= 1 else { throw KeyTreeError.invalidProbability(p) }
            self = .bernoulli(p)
        default:
            throw KeyTreeError.unknownDistribution(text)
        }
    }

    /// The spelling `init(parsing:)` accepts.
    public var description: String {
        switch self {
        case .bits: return "bits"
        case .uniform: return "uniform"
        case .normal: return "normal"
        case let .truncatedNormal(lo, hi): return lo == -2 && hi == 2 ? "truncated_normal" : "truncated_normal:\(lo),\(hi)"
        case let .bernoulli(p): return "bernoulli:\(p)"
        case .permutation: return "permutation"
        }
    }

    /// `jax.random.<this>(key, (count,))` with `key` itself.
    public func sample(_ key: PRNGKey, count: Int) throws -> Sample {
        guard count >= 0 else { throw KeyTreeError.negativeCount(count) }
        switch self {
        case .bits: return .bits(Random.bits(key, count: count))
        case .uniform: return .floats(Random.uniform(key, count: count))
        case .normal: return .floats(Random.normal(key, count: count))
        case let .truncatedNormal(lo, hi):
            guard lo.isFinite, hi.isFinite, lo < hi else { throw KeyTreeError.invalidBounds(lower: lo, upper: hi) }
            return .floats(Random.truncatedNormal(key, count: count, lower: lo, upper: hi))
        case let .bernoulli(p):
            guard p >= 0, p <= 1 else { throw KeyTreeError.invalidProbability(p) }
            return .bools(Random.bernoulli(key, count: count, p: p))
        case .permutation: return .ints(Random.permutation(key, n: count))
        }
    }
}

/// The values of one draw.
public enum Sample: Sendable, Equatable {
    case bits([UInt32])
    case floats([Float])
    case bools([Bool])
    case ints([Int])

    /// Number of values.
    public var count: Int {
        switch self {
        case let .bits(v): return v.count
        case let .floats(v): return v.count
        case let .bools(v): return v.count
        case let .ints(v): return v.count
        }
    }
}
